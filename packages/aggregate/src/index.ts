export { Aggregator, aggregate, observe, type AggregatorOptions, type FinishedOperation, type PlanLike } from './aggregator.js';
export { CHARS_PER_TOKEN, type Budget, type ReportOptions } from './report.js';
export { renderMarkdown, n as formatCount } from './markdown.js';
export {
  reportSchema,
  reportJsonSchema,
  entrySchema,
  groupSchema,
  failureSchema,
  problemSchema,
  agreementSchema,
  operationSummarySchema,
  kindSummarySchema,
  type Agreement,
  type Report,
  type ReportEntry,
  type ReportFailure,
  type ReportGroup,
} from './report-schema.js';
export type { CustomItem, Extractor, ItemSink, OperationInfo, Problem, UrlSighting } from './extractor.js';
export type { EntryFields } from './entry.js';
export {
  BUILTIN_EXTRACTORS,
  analyzeExtractor,
  bashExtractor,
  fetchExtractor,
  globExtractor,
  grepExtractor,
  readExtractor,
  searchExtractor,
  writeExtractor,
} from './extractors/index.js';
export { normalizeUrl, urlDomain, isTrackingParam, TRACKING_PARAMS, type UrlNormalizeOptions } from './url.js';
export { normalizeQuery, dedupQueries, type DedupQueriesOptions, type RemovedQuery } from './query.js';
export { normalizePath, resolveRealPaths } from './paths.js';
export { HyperLogLog } from './hyperloglog.js';
export { DEFAULT_WEIGHTS, type Weights } from './weights.js';
export { AggregationError, UnexpectedOutputError, type AggregateErrorCode } from './errors.js';
