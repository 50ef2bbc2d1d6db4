import { readFileSync } from 'node:fs';
import { MonitorError } from './errors.js';
import type { MissingSignal, SourceName } from './sample.js';

/**
 * Reads a `/proc`, `/sys` or cgroup file; `undefined` when it does not exist.
 *
 * Synchronous on purpose: these files are generated in memory by the kernel and read in a few
 * microseconds, while an asynchronous read costs several thread-pool round trips (open, stat,
 * read, close) — more than the read itself, a dozen times a second.
 */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new MonitorError('FANOUT_MONITOR_UNREADABLE', `expected to read ${path}, got ${code ?? 'an error'}: ${(error as Error).message}`, { path, cause: error });
  }
}

/** Parses a non-negative decimal integer field; `NaN` when it is not one. */
export function toCount(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) return NaN;
  return Number(text);
}

/**
 * Runs `read`; a failure becomes an entry of `missing` for `source` (with the error) and
 * `undefined`, so that one bad file costs one signal, never the monitor.
 */
export function guarded<T>(source: SourceName, missing: MissingSignal[], read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    const wrapped = error instanceof MonitorError ? error : new MonitorError('FANOUT_MONITOR_MALFORMED', `expected to read ${source}, got ${(error as Error)?.message ?? String(error)}`, { cause: error });
    missing.push({ source, reason: wrapped.message, error: wrapped });
    return undefined;
  }
}
