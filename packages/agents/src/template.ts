/**
 * A fleet's worktrees filled from one checkout: git checks the base out once, into a private
 * directory with an index of its own (`git read-tree -u --reset`, which applies the
 * repository's attributes, filters and line endings as any checkout would), the files and the
 * index are read into memory and the directory removed; each new worktree is then written
 * from memory by this process — its files, and its index: the template's, with each entry's
 * stat data (gitformat-index(5): ctime, mtime, dev, ino, uid, gid, size) replaced by that of
 * the file just written, and the checksum made again.
 *
 * Why: a `git reset --hard` per worktree is a process, forked by a spawn-server worker, that
 * reads every object again; on a loaded machine each such process waits for a core at every
 * step (the worker, git's start, its exit, the worker again) behind the agents already
 * starting up, and a fleet's checkouts held its last agents back by seconds (16 checkouts of
 * 20 files at -j 16: 150-450 ms each, two at a time). Written from memory, a 20-file worktree
 * is a few milliseconds of this process's time and no process at all.
 *
 * Anything this does not reproduce exactly goes to git's own checkout instead: a tree with
 * submodules (gitlinks), an index git wrote in another version or with extensions that are not
 * optional, a repository with sparse-checkout patterns, a template larger than the memory
 * allowed, a worktree whose branch is not at the base (a resumed run's) or that has an index
 * already.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeSync, type BigIntStats } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { worktreeGitDir } from './agent-state.js';
import { git, type GitContext } from './git.js';

/** One tracked file of the template, as git wrote it. */
interface TemplateFile {
  /** Its path in the tree (`/`-separated). */
  path: string;
  /** Its contents, or a symbolic link's target. */
  data: Buffer;
  symlink: boolean;
  /** Permission bits as git left them (its mode with the umask applied). */
  perm: number;
  /** Where its stat data starts in the index. */
  at: number;
}

/** A base checked out once, held in memory (see the module comment). */
export interface CheckoutTemplate {
  /** The commit checked out. */
  base: string;
  files: TemplateFile[];
  /** The index git wrote for it (version 2, the cache tree its only extension). */
  index: Buffer;
  /** The length of the index's checksum (20 for SHA-1, 32 for SHA-256). */
  hashLength: number;
  /** Bytes of file contents held. */
  bytes: number;
}

/** What {@link makeTemplate} made: the template, or why there is none (the worktrees then use git's checkout). */
export type TemplateResult = { template: CheckoutTemplate } | { template: undefined; why: string };

/**
 * The configuration the template's index is written with: version 2, no split index, no
 * untracked cache, no file-system monitor, no offset tables — the extensions that describe one
 * worktree's state rather than the tree (whatever the user's configuration asks for; the
 * worktree's next git command writes its index the way the configuration wants).
 */
const INDEX_CONFIG = [
  '-c',
  'index.version=2',
  '-c',
  'core.splitIndex=false',
  '-c',
  'core.untrackedCache=false',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'index.recordEndOfIndexEntries=false',
  '-c',
  'index.recordOffsetTable=false',
  '-c',
  'index.skipHash=false',
];

/** The fixed part of an index entry before its name: stat data (40 bytes), the object id, 2 bytes of flags. */
const STAT_BYTES = 40;

/** Regular files and symbolic links, the modes a template reproduces. */
const FILE = 0o100644;
const EXECUTABLE = 0o100755;
const SYMLINK = 0o120000;

/**
 * Checks `base` out into `dir` (made, then removed) and reads it into memory. Returns no
 * template, and why, when the tree or the index has something {@link fillWorktree} would not
 * reproduce, or the files come to more than `maxBytes`.
 */
export async function makeTemplate(spec: { gitDir: string; base: string; dir: string; maxBytes: number }, context: GitContext): Promise<TemplateResult> {
  if (existsSync(join(spec.gitDir, 'info', 'sparse-checkout'))) return { template: undefined, why: 'the repository has sparse-checkout patterns' };
  rmSync(spec.dir, { recursive: true, force: true });
  const files = join(spec.dir, 'files');
  const indexFile = join(spec.dir, 'index');
  mkdirSync(files, { recursive: true });
  try {
    await git([...INDEX_CONFIG, 'read-tree', '-u', '--reset', spec.base], {
      ...context,
      env: { ...context.env, GIT_DIR: spec.gitDir, GIT_WORK_TREE: files, GIT_INDEX_FILE: indexFile },
    });
    return readTemplate(spec.base, files, readFileSync(indexFile), spec.maxBytes);
  } finally {
    rmSync(spec.dir, { recursive: true, force: true });
  }
}

/** Reads the index git wrote and the files it lists (see {@link makeTemplate}). */
function readTemplate(base: string, dir: string, index: Buffer, maxBytes: number): TemplateResult {
  const hashLength = base.length / 2;
  if (index.length < 12 + hashLength || index.toString('latin1', 0, 4) !== 'DIRC') return { template: undefined, why: 'git wrote an index this does not read' };
  const version = index.readUInt32BE(4);
  if (version !== 2) return { template: undefined, why: `git wrote an index of version ${version}` };
  const count = index.readUInt32BE(8);
  const end = index.length - hashLength;
  const out: TemplateFile[] = [];
  let bytes = 0;
  let at = 12;
  for (let i = 0; i < count; i++) {
    const flagsAt = at + STAT_BYTES + hashLength;
    if (flagsAt + 2 > end) return { template: undefined, why: 'the index ends inside an entry' };
    const mode = index.readUInt32BE(at + 24);
    const flags = index.readUInt16BE(flagsAt);
    // Stage 0 and no extended flags: what a plain checkout writes.
    if ((flags & 0x7000) !== 0) return { template: undefined, why: 'the index has extended flags or stages' };
    const nameAt = flagsAt + 2;
    const nul = index.indexOf(0, nameAt);
    if (nul === -1 || nul >= end) return { template: undefined, why: 'the index ends inside an entry' };
    const path = index.toString('utf8', nameAt, nul);
    if (mode !== FILE && mode !== EXECUTABLE && mode !== SYMLINK) {
      return { template: undefined, why: mode === 0o160000 ? `the tree has a submodule (${path})` : `${path} has mode ${mode.toString(8)}` };
    }
    // Entries are padded with 1-8 NULs to a multiple of 8 bytes (version 2).
    const next = at + ((nul - at + 8) & ~7);
    const stat = lstatSync(join(dir, path));
    const symlink = mode === SYMLINK;
    if (symlink !== stat.isSymbolicLink() || (!symlink && !stat.isFile())) return { template: undefined, why: `git did not write ${path} as its index says` };
    const data = symlink ? Buffer.from(readlinkSync(join(dir, path), { encoding: 'buffer' })) : readFileSync(join(dir, path));
    bytes += data.length;
    if (bytes > maxBytes) return { template: undefined, why: `the files come to more than ${maxBytes} bytes` };
    out.push({ path, data, symlink, perm: stat.mode & 0o7777, at });
    at = next;
  }
  // Extensions: the cache tree is the tree's, and stays; an optional one (its signature starts
  // with a capital letter) may be left out; any other means an index this does not know.
  const kept: Buffer[] = [];
  for (let ext = at; ext < end; ) {
    if (ext + 8 > end) return { template: undefined, why: 'the index ends inside an extension' };
    const signature = index.toString('latin1', ext, ext + 4);
    const size = index.readUInt32BE(ext + 4);
    if (signature === 'TREE') kept.push(index.subarray(ext, ext + 8 + size));
    else if (!(signature >= 'A' && signature < '[')) return { template: undefined, why: `the index has the extension ${signature}` };
    ext += 8 + size;
  }
  const rebuilt = Buffer.concat([index.subarray(0, at), ...kept, Buffer.alloc(hashLength)]);
  return { template: { base, files: out, index: rebuilt, hashLength, bytes } };
}

/** A small file's text, trimmed, or undefined. */
function readTrimmed(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Files written before the event loop may turn (the agents' output, the scheduler): counted,
 * not timed — on a loaded machine a single file's creation can take longer than any time
 * slice, and a copy that gave the loop a turn after each file waited behind a fork of an
 * agent each time (a 20-file worktree took a second).
 */
const SLICE_FILES = 128;

/**
 * Writes a new worktree's files and index from `template`. Returns false, having written
 * nothing, when the worktree is not one the template is for: its branch is not at the base
 * (a loose ref, as `update-ref` makes it, is read; a packed one goes to git), or it has an
 * index already. Rejects with the signal's reason when aborted between slices.
 */
export async function fillWorktree(template: CheckoutTemplate, worktree: string, gitDir: string, signal?: AbortSignal): Promise<boolean> {
  const admin = worktreeGitDir(worktree);
  if (admin === undefined || existsSync(join(admin, 'index'))) return false;
  const head = readTrimmed(join(admin, 'HEAD'));
  const ref = head?.startsWith('ref: refs/heads/') === true ? head.slice('ref: '.length) : undefined;
  if (ref === undefined || readTrimmed(join(gitDir, ref)) !== template.base) return false;
  // Taken as git takes it, so that a git command started meanwhile in the worktree waits or fails.
  const lock = join(admin, 'index.lock');
  closeSync(openSync(lock, 'wx'));
  try {
    const index = Buffer.from(template.index);
    const made = new Set<string>(['.']);
    for (const [i, file] of template.files.entries()) {
      if (i > 0 && i % SLICE_FILES === 0) {
        await nextTurn();
        signal?.throwIfAborted();
      }
      const parent = dirname(file.path);
      if (!made.has(parent)) {
        mkdirSync(join(worktree, parent), { recursive: true });
        made.add(parent);
      }
      const path = join(worktree, file.path);
      let stat: BigIntStats;
      if (file.symlink) {
        symlinkSync(file.data, path);
        stat = lstatSync(path, { bigint: true });
      } else {
        const fd = openSync(path, 'wx', file.perm);
        try {
          for (let done = 0; done < file.data.length; ) done += writeSync(fd, file.data, done);
          stat = fstatSync(fd, { bigint: true });
        } finally {
          closeSync(fd);
        }
      }
      writeStat(index, file.at, stat);
    }
    const body = index.length - template.hashLength;
    createHash(template.hashLength === 32 ? 'sha256' : 'sha1')
      .update(index.subarray(0, body))
      .digest()
      .copy(index, body);
    const fd = openSync(lock, 'w');
    try {
      for (let done = 0; done < index.length; ) done += writeSync(fd, index, done);
    } finally {
      closeSync(fd);
    }
    renameSync(lock, join(admin, 'index'));
  } catch (error) {
    rmSync(lock, { force: true });
    throw error;
  }
  return true;
}

/** An entry's stat data as git records it (32-bit fields, seconds and nanoseconds apart). */
function writeStat(index: Buffer, at: number, stat: BigIntStats): void {
  const u32 = (value: bigint): number => Number(BigInt.asUintN(32, value));
  index.writeUInt32BE(u32(stat.ctimeNs / 1_000_000_000n), at);
  index.writeUInt32BE(u32(stat.ctimeNs % 1_000_000_000n), at + 4);
  index.writeUInt32BE(u32(stat.mtimeNs / 1_000_000_000n), at + 8);
  index.writeUInt32BE(u32(stat.mtimeNs % 1_000_000_000n), at + 12);
  index.writeUInt32BE(u32(stat.dev), at + 16);
  index.writeUInt32BE(u32(stat.ino), at + 20);
  // at + 24: the mode, git's (100644, 100755, 120000), as it was.
  index.writeUInt32BE(u32(stat.uid), at + 28);
  index.writeUInt32BE(u32(stat.gid), at + 32);
  index.writeUInt32BE(u32(stat.size), at + 36);
}
