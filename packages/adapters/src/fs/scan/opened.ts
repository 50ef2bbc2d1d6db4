/**
 * What a scan really opened: the walks of grep, glob and analyze list directories and open
 * files by path, and a directory on that path swapped for a symlink to the outside between
 * the walk's check and the `open(2)` would lead out (`O_NOFOLLOW` guards the last component
 * only). So every directory a scan lists and every file it reads is checked on its
 * descriptor, as `open-inside.ts` does for read and write:
 *
 * - on Linux, the descriptor's `/proc/self/fd/N` link (the kernel's name for what was opened,
 *   which nothing can swap) must lie inside a root's real path, and a directory is listed
 *   through that link, so the listing is of the directory that was checked;
 * - elsewhere, the real path is taken again after the open and must lie inside and name the
 *   same file (device and inode) as the descriptor.
 *
 * An escape is an error with code `FANOUT_PATH_OUTSIDE_ROOT`, the code read and write fail
 * with: a grep reports it among its `errors`, a glob among its `errors`, an analysis among
 * its skipped files (or fails, for a path it was given), and the walk goes on.
 *
 * This module runs in the grep worker threads too: it imports nothing but `node:fs`.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { sep } from 'node:path';

/** The code of an escape (the adapters' `FANOUT_PATH_OUTSIDE_ROOT`). */
export const ESCAPE_CODE = 'FANOUT_PATH_OUTSIDE_ROOT';

let proc: boolean | undefined;

/** Can descriptors be checked through `/proc/self/fd` (decided once)? */
function hasProc(): boolean {
  if (proc === undefined) {
    try {
      readlinkSync('/proc/self/fd/0');
      proc = true;
    } catch {
      try {
        readdirSync('/proc/self/fd');
        proc = true;
      } catch {
        proc = false;
      }
    }
  }
  return proc;
}

function inside(roots: readonly string[], path: string): boolean {
  for (const root of roots) {
    if (path === root) return true;
    if (path.startsWith(root.endsWith(sep) ? root : root + sep)) return true;
  }
  return false;
}

/** An escape: `path` was checked inside, but what was opened through it is `actual`. */
export function escapeError(path: string, actual: string, roots: readonly string[]): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`expected ${path} inside the allowed roots (${roots.join(', ')}), got ${actual} when it was opened (a symlink swapped in on the way after the path was checked)`);
  error.code = ESCAPE_CODE;
  error.path = path;
  return error;
}

/**
 * Checks that descriptor `fd`, opened from `path`, is inside `roots` (real paths); throws the
 * escape error otherwise (the descriptor stays open: the caller closes it).
 */
export function checkOpened(fd: number, path: string, roots: readonly string[]): void {
  if (hasProc()) {
    const actual = readlinkSync(`/proc/self/fd/${fd}`);
    if (!inside(roots, actual)) throw escapeError(path, actual, roots);
    return;
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw escapeError(path, 'nothing found again at that path', roots);
  }
  if (!inside(roots, real)) throw escapeError(path, real, roots);
  const held = fstatSync(fd);
  let now;
  try {
    now = statSync(real);
  } catch {
    now = undefined;
  }
  if (now === undefined || now.dev !== held.dev || now.ino !== held.ino) throw escapeError(path, `another file than the one now at ${real}`, roots);
}

/**
 * Lists directory `path` after checking what was opened is inside `roots` (real paths):
 * `readdirSync(path, { withFileTypes: true })`, but of the directory that was checked. Throws
 * what `open` or `readdir` throw, or the escape error.
 */
export function listInside(path: string, roots: readonly string[]): Dirent[] {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    checkOpened(fd, path, roots);
    if (!hasProc()) {
      const entries = readdirSync(path, { withFileTypes: true });
      // Listed by path: that is the checked directory only if it is still there.
      checkOpened(fd, path, roots);
      return reparent(entries, path);
    }
    return reparent(readdirSync(`/proc/self/fd/${fd}`, { withFileTypes: true }), path);
  } finally {
    closeSync(fd);
  }
}

/** Gives a listing's entries the directory's own path (they carry the `/proc` link otherwise). */
function reparent(entries: Dirent[], path: string): Dirent[] {
  // Plain writable own properties in Node 20 and later: an assignment, not a definition, per entry.
  const named = entries as { parentPath: string; path: string }[];
  for (const entry of named) {
    entry.parentPath = path;
    entry.path = path;
  }
  return entries;
}
