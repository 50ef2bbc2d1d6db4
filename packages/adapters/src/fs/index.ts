/**
 * The file system adapters: `glob`, `grep`, `read` and `write`, each behind the scheduler's `Adapter`
 * contract and confined to allowed roots (default: the working directory).
 * @module
 */
export { globAdapter, globInputSchema, GLOB_TIMEOUT_MS, GLOB_TYPES, type GlobAdapterOptions, type GlobInput, type GlobOutput, type GlobWalkError } from './glob.js';
export { readAdapter, readInputSchema, READ_TIMEOUT_MS, type ReadAdapterOptions, type ReadInput, type ReadOutput } from './read.js';
export type { ReadFile, ReadFileFailed, ReadFileOk } from './read-file.js';
export { writeAdapter, writeInputSchema, WRITE_MODES, WRITE_TIMEOUT_MS, type WriteAdapterOptions, type WriteInput, type WriteMode, type WriteOutput } from './write.js';
export { FILE_OPERATION_DEFAULTS, fileLockKey, type FsAdapterOptions } from './fs-options.js';
export { ENCODINGS, type CanonicalEncoding, type Encoding } from './text-encoding.js';
export { GitignoreFilter, type GitignoreOptions } from './gitignore.js';
export { fsScan, type FsScan, type FsScanOptions, type ListingsHold } from './scan/scan.js';
export { MAX_SHARED_ENTRIES, type ScanCounters } from './scan/listings.js';
export {
  grepAdapter,
  grepInputSchema,
  toNdjson,
  endIdleGrepWorkers,
  grepWorkerCounts,
  ripgrepOnPath,
  ripgrepProcessCount,
  GREP_TIMEOUT_MS,
  MAX_GREP_THREADS,
  REGEX_BUDGET_MS,
  SUBMATCH_LIMIT,
  type GrepAdapterOptions,
  type GrepEngineName,
  type GrepInput,
  type GrepInputSpec,
  type GrepOutput,
  type GrepProgress,
  type GrepStats,
  type GrepFileError,
  type RipgrepMessage,
  type RipgrepData,
  type RipgrepStats,
} from './grep/index.js';
