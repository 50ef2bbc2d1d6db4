/**
 * The `grep` adapter of `@fanout/adapters/fs`: ripgrep's search, flags and `--json` output,
 * by an engine of our own spread over worker threads.
 * @module
 */
export { grepAdapter, GREP_TIMEOUT_MS, type GrepAdapterOptions } from './adapter.js';
export { grepInputSchema, type GrepInput, type GrepInputSpec } from './schema.js';
export { toNdjson, type GrepOutput, type GrepProgress, type GrepStats } from './output.js';
export type { GrepFileError } from './walk.js';
export type {
  RipgrepBegin,
  RipgrepContext,
  RipgrepData,
  RipgrepElapsed,
  RipgrepEnd,
  RipgrepLine,
  RipgrepMatch,
  RipgrepMessage,
  RipgrepStats,
  RipgrepSubmatch,
  RipgrepSummary,
} from './messages.js';
export { endIdleGrepWorkers, grepWorkerCounts, MAX_GREP_THREADS } from './pool.js';
