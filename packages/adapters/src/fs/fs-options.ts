import { resolve } from 'node:path';
import type { AdapterDefaults } from '@fanout/scheduler';
import { AllowedRoots } from '../roots.js';
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
 * The pool sizes of the file operations (glob, grep, read, write), from the design's table:
 * at most 48 at once, the adaptive limiter starting at 24.
 */
export const FILE_OPERATION_DEFAULTS = { maxConcurrency: 48, optimalConcurrency: 24 } as const satisfies AdapterDefaults;

/**
 * The lock key of a file: `file:` and its absolute path, resolved lexically against `base`
 * (no file system access: `locks(input)` runs on the scheduler's hot path). Read takes it in
 * read mode, write in write mode, so a read waits for a write in flight to the same path.
 */
export function fileLockKey(base: string, path: string): string {
  return `file:${resolve(base, path)}`;
}
