/**
 * The `grep` adapter of `@fanout/adapters/fs`: ripgrep's search, flags and `--json` output,
 * by ripgrep itself or by an engine of our own spread over worker threads.
 * @module
 */
export { grepAdapter, GREP_TIMEOUT_MS, type GrepAdapterOptions } from './adapter.js';
export { ripgrepOnPath, type GrepEngineName } from './engine.js';
export { ripgrepProcessCount } from './ripgrep.js';
export { EarlyRipgrep, ripgrepEnvironment, spawnRipgrep, type RipgrepProcess, type RipgrepSpawn } from './early.js';
export { GREP_INPUT_DEFAULTS } from './input-defaults.js';
export { ripgrepArgs, type RipgrepTargets } from './ripgrep-args.js';
export { REGEX_BUDGET_MS } from './regex-budget.js';
export { grepInputSchema, type GrepInput, type GrepInputSpec } from './schema.js';
export { toNdjson, type GrepOutput, type GrepProgress, type GrepStats } from './output.js';
export type { GrepFileError } from './walk.js';
export { SUBMATCH_LIMIT } from './messages.js';
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
// The scan the grep adapter shares work with (also exported by `@fanout/adapters/fs`): here
// too, so that a command that only greps makes one without loading the rest of fs.
export { fsScan, type FsScan, type FsScanOptions, type ListingsHold } from '../scan/scan.js';
