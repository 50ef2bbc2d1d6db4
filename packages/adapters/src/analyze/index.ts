/**
 * `@fanout/adapters/analyze`: CPU-bound analysis of files on a pool of worker threads —
 * built-in `stats`, `markers` and `map`, or your own analyzer module.
 * @module
 */
export { analyzeAdapter, type AnalyzeAdapter, type AnalyzeAdapterOptions } from './adapter.js';
export { analyzeInput, analyzeInputSchema, ANALYZE_LIMITS, type AnalyzeInput, type AnalyzeInputDefaults, type AnalyzeInputInit } from './schema.js';
export {
  MARKER_KINDS,
  type AnalyzeOutput,
  type LanguageLines,
  type MapOutput,
  type LanguageStats,
  type LargestFile,
  type Marker,
  type MarkerKind,
  type MarkersOutput,
  type ModuleOutput,
  type SkippedFile,
  type StatsOutput,
} from './output.js';
export {
  defineAnalyzer,
  type Analyzer,
  type AnalyzerApi,
  type AnalyzerInput,
  type AnalyzerModule,
  type StandardResult,
  type StandardSchemaV1,
} from './contract.js';
export type { WorkerCounts } from './pool.js';
export { languageOf, OTHER_LANGUAGE } from './languages.js';
export { lineKinds, type LineKinds } from './line-kinds.js';
export { isManifest, MAX_MAP_FILE_BYTES, MAX_OUTLINE_BYTES, type FileFacts, type FileSymbol } from './facts.js';
export { isBinary, BINARY_SNIFF_BYTES } from './binary.js';
export { MAX_MARKER_FILE_BYTES, MAX_MARKER_TEXT } from './markers.js';
