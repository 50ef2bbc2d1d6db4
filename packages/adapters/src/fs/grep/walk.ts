/**
 * Which files a grep searches: its lens on the scan's shared walk (`fs/scan/walker.ts`, whose
 * order is `rg --sort path`'s, so that the ripgrep engine, which runs `rg --sort path`,
 * reports the same files in the same order), with ripgrep's default filters — globs first,
 * then ignore files, then hidden entries; `.git` directories are never entered; symlinks are
 * not followed unless asked, and then every target's real path must lie inside the allowed
 * roots and a directory already on the way down is not entered twice (a loop).
 */
import type { AllowedRoots } from '../../roots.js';
import { Lens, linkTarget, realPathOf, type LensVisit, type WalkDirectory } from '../scan/walker.js';
import type { Globs } from './globs.js';
import { IgnoreRules, type IgnoreOptions, type IgnoreScope } from './ignore-rules.js';

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

/** How a grep walks: its rules. Two greps with equal options (and target) share one lens. */
export interface GrepWalkOptions extends IgnoreOptions {
  hidden: boolean;
  followSymlinks: boolean;
  globs: Globs;
  roots: AllowedRoots;
}

/** A grep lens's state in one directory. */
export interface GrepDirState {
  /** Relative to the search root, slash-separated; '' for the root. */
  relative: string;
  rules: IgnoreRules;
  /** Real paths of the directories on the way down (only when following symlinks). */
  ancestors: ReadonlySet<string> | undefined;
}

/** A walk error (`readdir` failed) as grep reports it. */
export function errorOf(path: string, error: unknown): GrepFileError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return { path, code, message: (error as Error | undefined)?.message ?? String(error) };
}

/** ripgrep's walk filters from one search root. */
export class GrepLens extends Lens<GrepDirState> {
  readonly #options: GrepWalkOptions;

  constructor(options: GrepWalkOptions) {
    super();
    this.#options = options;
  }

  /** The state at a search root: the ignore files of the directories above it count. */
  startState(target: Target): GrepDirState {
    const options = this.#options;
    return { relative: '', rules: IgnoreRules.above(target.path, options, options.roots), ancestors: options.followSymlinks ? new Set([target.real]) : undefined };
  }

  visit(directory: WalkDirectory, state: GrepDirState, visit: LensVisit<GrepDirState>): void {
    const options = this.#options;
    const rules = state.rules.enter(directory.path, directory.names);
    const scope = rules.scope(directory.path);
    const entries = directory.entries;
    // Without globs a file's relative path is never asked for: not built for each file.
    const globs = options.globs.empty ? undefined : options.globs;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const name = entry.name;
      const dirent = entry.dirent;
      let isDir = dirent.isDirectory();
      let isFile = dirent.isFile();
      let real: string | undefined;
      const link = dirent.isSymbolicLink();
      if (link) {
        if (!options.followSymlinks) continue;
        const target = linkTarget(entry);
        if ('error' in target) {
          visit.error(i, errorOf(entry.path, target.error));
          continue;
        }
        ({ real, isDir, isFile } = target);
        if (!options.roots.contains(real)) {
          visit.error(i, { path: entry.path, code: 'FANOUT_PATH_OUTSIDE_ROOT', message: `expected the symlink ${entry.path} to point inside the allowed roots, got ${real}` });
          continue;
        }
        if (isDir && state.ancestors?.has(real)) {
          visit.error(i, { path: entry.path, code: 'ELOOP', message: `the symlink ${entry.path} leads back to ${real}, a directory above it (a loop)` });
          continue;
        }
      }
      if (!isDir && !isFile) continue;
      if (isDir && name === '.git') continue;
      const relative = globs === undefined && !isDir ? '' : state.relative === '' ? name : `${state.relative}/${name}`;
      if (!admit(relative, name, isDir, scope, globs, options.hidden)) continue;
      if (isDir) {
        const ancestors = state.ancestors === undefined ? undefined : new Set(state.ancestors).add(real ?? realPathOf(entry));
        visit.dir(i, { relative, rules, ancestors });
      } else {
        visit.file(i, link);
      }
    }
  }
}

/** ripgrep's order (`Ignore::matched`): globs, then ignore files, then hidden unless whitelisted. */
function admit(relative: string, name: string, isDir: boolean, scope: IgnoreScope, globs: Globs | undefined, hidden: boolean): boolean {
  const glob = globs === undefined ? 'none' : globs.match(relative, isDir);
  if (glob === 'exclude') return false;
  if (glob === 'include') return true;
  const verdict = scope.match(name, isDir);
  if (verdict === 'ignore') return false;
  if (verdict !== 'whitelist' && !hidden && name.startsWith('.')) return false;
  return true;
}
