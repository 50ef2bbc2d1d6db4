/** The public surface of @fanout/mcp: the server factory, its runtime and options, the result schema, the renderers, errors. */
export { createFanoutMcpServer, type FanoutMcpServer, type FanoutMcpServerOptions } from './server.js';
export { createFanoutMcpRuntime, FanoutMcpRuntime } from './runtime.js';
export { DEFAULT_BUDGET_TOKENS, DEFAULT_DEADLINE_MS, DEFAULT_MAX_OPERATIONS, type FanoutMcpOptions, type McpRunLaunch } from './options.js';
export { FanoutMcpError, type McpErrorCode, type McpIssue } from './errors.js';
export { runResultSchema, operationEntrySchema, type RunResultContent } from './result-schema.js';
export { renderRunText, type OperationEntry, type RenderInput, type SpillPaths, type TextRenderer, type TextView } from './render.js';
export { codebaseMapRenderer, renderExploreCodebaseText } from './render-explore.js';
export type { ExploreRenderers } from './tools/explore.js';
export { ProgressReporter, type ProgressOptions, type ProgressSource, type ProgressUpdate } from './progress.js';
export { rootsFromList, type CallRoots, type RootsSource } from './roots.js';
