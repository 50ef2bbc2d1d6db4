/**
 * The directory walk of a grep, on the main thread (workers only read and match): depth
 * first, the entries of each directory sorted by name and a subdirectory walked where its
 * name falls among them — `rg --sort path`'s order, so that the ripgrep engine (which runs
 * `rg --sort path`, see `ripgrep.ts`) reports the same files in the same order — with
 * ripgrep's default filters —
 * globs first, then ignore files, then hidden entries; `.git` directories are never entered;
 * symlinks are not followed unless asked, and then every target's real path must lie inside
 * the allowed roots and a directory already on the way down is not entered twice (a loop).
 *
 * Directories are read with `readdirSync`, in slices of a few milliseconds between which the
 * event loop runs (worker results, aborts, other operations): an asynchronous `readdir` costs
 * a round trip through libuv's thread pool per directory, and on the 10-copy TypeScript corpus
 * (about 100 directories) that made the walk, not the search, the slow part (60–85 ms against
 * a few here), with the workers waiting for files.
 */
import { readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AllowedRoots } from '../../roots.js';
import type { Globs } from './globs.js';
import { IgnoreRules, type IgnoreOptions } from './ignore-rules.js';

/** A file or directory an input path names, after the root checks. */
export interface Target {
  /** Absolute path as asked for. */
  path: string;
  /** Its real path. */
  real: string;
  isDir: boolean;
}

/** A file or directory that could not be walked or searched; the search goes on without it. */
export interface GrepFileError {
  path: string;
  /** A Node.js error code (`EACCES`) or an adapter code (`FANOUT_PATH_OUTSIDE_ROOT`). */
  code: string;
  message: string;
}

/** A file the walk found. */
export interface WalkedFile {
  path: string;
  open: string;
  named: boolean;
}

export interface WalkOptions extends IgnoreOptions {
  hidden: boolean;
  followSymlinks: boolean;
  globs: Globs;
  roots: AllowedRoots;
  /** Asked between directories: true ends the walk. */
  stopped: () => boolean;
}

/** What one step of the walk found (the files of one directory, or a named file). */
export interface WalkStep {
  files: WalkedFile[];
  errors: GrepFileError[];
}

/** A directory still to read, or files of one already read, waiting for the subdirectories before them. */
type Pending = Frame | { files: WalkedFile[]; errors: GrepFileError[] };

interface Frame {
  path: string;
  /** Relative to the search root, slash-separated; '' for the root. */
  relative: string;
  rules: IgnoreRules;
  /** Real paths of the directories on the way down (only when following symlinks). */
  ancestors: ReadonlySet<string> | undefined;
}

function errorOf(path: string, error: unknown): GrepFileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return { path, code, message: (error as Error | undefined)?.message ?? String(error) };
}

/** Main-thread walking between two yields to the event loop. */
const SLICE_MS = 2;

/** Walks every target in order, yielding the files of each directory as it is read. */
export async function* walk(targets: readonly Target[], options: WalkOptions): AsyncGenerator<WalkStep> {
  let slice = performance.now();
  for (const target of targets) {
    if (options.stopped()) return;
    if (!target.isDir) {
      yield { files: [{ path: target.path, open: target.real, named: true }], errors: [] };
      continue;
    }
    const above = IgnoreRules.above(target.path, options, options.roots);
    const stack: Pending[] = [{ path: target.path, relative: '', rules: above, ancestors: options.followSymlinks ? new Set([target.real]) : undefined }];
    while (stack.length > 0) {
      if (performance.now() - slice > SLICE_MS) {
        await yieldToLoop();
        slice = performance.now();
      }
      if (options.stopped()) return;
      const frame = stack.pop()!;
      if ('files' in frame) {
        yield frame;
        continue;
      }
      let entries: Dirent[];
      try {
        entries = readdirSync(frame.path, { withFileTypes: true });
      } catch (error) {
        yield { files: [], errors: [errorOf(frame.path, error)] };
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const names = new Set(entries.map((entry) => entry.name));
      const rules = frame.rules.enter(frame.path, names);
      let step: WalkStep = { files: [], errors: [] };
      // In name order: runs of files, each subdirectory between them.
      const below: Pending[] = [];
      for (const entry of entries) {
        const name = entry.name;
        const path = join(frame.path, name);
        const relative = frame.relative === '' ? name : `${frame.relative}/${name}`;
        let isDir = entry.isDirectory();
        let isFile = entry.isFile();
        let real: string | undefined;
        if (entry.isSymbolicLink()) {
          if (!options.followSymlinks) continue;
          try {
            real = realpathSync(path);
            const target = statSync(real);
            isDir = target.isDirectory();
            isFile = target.isFile();
          } catch (error) {
            step.errors.push(errorOf(path, error));
            continue;
          }
          if (!options.roots.contains(real)) {
            step.errors.push({ path, code: 'FANOUT_PATH_OUTSIDE_ROOT', message: `expected the symlink ${path} to point inside the allowed roots, got ${real}` });
            continue;
          }
          if (isDir && frame.ancestors?.has(real)) {
            step.errors.push({ path, code: 'ELOOP', message: `the symlink ${path} leads back to ${real}, a directory above it (a loop)` });
            continue;
          }
        }
        if (!isDir && !isFile) continue;
        if (isDir && name === '.git') continue;
        if (!admit(relative, name, path, isDir, rules, options)) continue;
        if (isDir) {
          let ancestors = frame.ancestors;
          if (ancestors !== undefined) {
            if (real === undefined) {
              try {
                real = realpathSync(path);
              } catch {
                real = path;
              }
            }
            ancestors = new Set(ancestors).add(real);
          }
          if (step.files.length > 0 || step.errors.length > 0) below.push(step);
          step = { files: [], errors: [] };
          below.push({ path, relative, rules, ancestors });
        } else {
          step.files.push({ path, open: path, named: false });
        }
      }
      if (step.files.length > 0 || step.errors.length > 0) below.push(step);
      for (let i = below.length - 1; i >= 0; i--) stack.push(below[i]!);
    }
  }
}

/** ripgrep's order (`Ignore::matched`): globs, then ignore files, then hidden unless whitelisted. */
function admit(relative: string, name: string, path: string, isDir: boolean, rules: IgnoreRules, options: WalkOptions): boolean {
  const glob = options.globs.match(relative, isDir);
  if (glob === 'exclude') return false;
  if (glob === 'include') return true;
  const verdict = rules.match(path, isDir);
  if (verdict === 'ignore') return false;
  if (verdict !== 'whitelist' && !options.hidden && name.startsWith('.')) return false;
  return true;
}
