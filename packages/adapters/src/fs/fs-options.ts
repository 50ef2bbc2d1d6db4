import { lstatSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { AdapterDefaults } from '@fanout/scheduler';
import { AllowedRoots, resolveRealSync } from '../roots.js';
import { fsScan, type FsScan, type FsScanOptions } from './scan/scan.js';

/** Options every fs adapter takes. */
export interface FsAdapterOptions {
  /**
   * The directories the adapter may touch; every path of every input is checked against them
   * (see {@link AllowedRoots}). Relative paths of inputs start at the first root.
   * @default [process.cwd()]
   */
  roots?: readonly string[] | AllowedRoots;
  /** Timeout of each attempt, in milliseconds; a plan's `timeoutMs` overrides it. */
  timeoutMs?: number;
}

/** The roots an adapter was given, as {@link AllowedRoots} (the working directory when none). */
export function toRoots(roots: FsAdapterOptions['roots']): AllowedRoots {
  return roots instanceof AllowedRoots ? roots : AllowedRoots.of(roots);
}

/**
 * The roots and the scan of an adapter that takes a `scan` option: the scan given (and its
 * roots, unless the adapter has its own, which must then be the same), or a new scan of its
 * own with `own` options.
 */
export function scanOf(options: FsAdapterOptions & { scan?: FsScan | undefined }, own: Omit<FsScanOptions, 'roots'> = {}): { roots: AllowedRoots; scan: FsScan } {
  if (options.scan !== undefined) return { roots: options.roots === undefined ? options.scan.roots : toRoots(options.roots), scan: options.scan };
  const roots = toRoots(options.roots);
  return { roots, scan: fsScan({ ...own, roots }) };
}

/**
 * The pool sizes of the file operations (glob, grep, read, write): at most 48 at once, the
 * adaptive limiter starting at 24 — the same as the profiles' limits (profiles/src/profiles.ts).
 */
export const FILE_OPERATION_DEFAULTS = { maxConcurrency: 48, optimalConcurrency: 24 } as const satisfies AdapterDefaults;

/**
 * The lock key of a file: `file:` and its resolved path — its real path when it exists, else
 * its nearest existing parent's real path joined with the rest — so `sub/x.txt` and
 * `alias/x.txt`, where `alias` is a symlink to `sub`, take the same lock. Read takes it in
 * read mode, write in write mode, so a read waits for a write in flight to the same file
 * under any of its names. `locks(input)` runs on the scheduler's hot path when an operation
 * becomes ready: this is one `realpath(3)` per path; the file system is read at that moment,
 * so a symlink changed later in the run is not seen by the lock (the roots are still checked
 * on what each operation really opens).
 */
export function fileLockKey(base: string, path: string): string {
  return `file:${resolveRealSync(resolve(base, path)).real}`;
}

/** {@link fileLockKey} of many paths, resolving each directory once (a `read` of thousands of files in a few directories). */
export function fileLockKeys(base: string, paths: readonly string[]): string[] {
  if (paths.length < 4) return paths.map((path) => fileLockKey(base, path));
  const directories = new Map<string, string>();
  return paths.map((path) => {
    const absolute = resolve(base, path);
    const parent = dirname(absolute);
    let real = directories.get(parent);
    if (real === undefined) {
      real = resolveRealSync(parent).real;
      directories.set(parent, real);
    }
    // The file itself may be a symlink (a read follows it): only then is it resolved on its own.
    const info = lstatSync(absolute, { throwIfNoEntry: false });
    return `file:${info?.isSymbolicLink() === true ? resolveRealSync(absolute).real : join(real, basename(absolute))}`;
  });
}
