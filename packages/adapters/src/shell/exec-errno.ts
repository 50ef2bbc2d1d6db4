import { accessSync, constants, statSync } from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, resolve } from 'node:path';

/** The search path libuv uses when the environment has no PATH (glibc's `_PATH_DEFPATH`). */
export const DEFAULT_PATH = '/usr/bin:/bin';

/** The errno `execve` would give for `path`: ENOENT, ENOTDIR, EACCES; undefined when it looks executable. */
function probe(path: string): string | undefined {
  try {
    accessSync(path, constants.X_OK);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'ENOENT';
  }
  // execve refuses a directory with EACCES, whatever its mode.
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true ? 'EACCES' : undefined;
}

/**
 * The error a direct spawn would have failed with, for a job the spawn server could not
 * start: `file` resolved against `cwd`, or looked up on `path` as libuv's `execvp` does
 * (EACCES if some entry was found but could not be executed, else ENOENT). Only called after
 * the worker's own lookup failed, so it costs nothing on the way of a job that starts; a file
 * that looks executable here (a `#!` interpreter that is missing) gives ENOENT, as execve does.
 */
export function execError(file: string, cwd: string, path: string | undefined): NodeJS.ErrnoException {
  let code: string;
  if (file.includes('/')) {
    code = probe(resolve(cwd, file)) ?? 'ENOENT';
  } else {
    code = 'ENOENT';
    for (const dir of (path ?? DEFAULT_PATH).split(delimiter)) {
      if (probe(resolve(cwd, dir, file)) === 'EACCES') code = 'EACCES';
    }
  }
  return Object.assign(new Error(`spawn ${file} ${code}`), { code, errno: -((os.errno as Record<string, number>)[code] ?? 0), syscall: `spawn ${file}`, path: file });
}
