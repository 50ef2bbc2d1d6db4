/** The public surface of @fanout/server: start a server in a process of your own. */
export { startServer, type FanoutServer } from './server.js';
export { DEFAULT_OPTIONS, type ServerOptions } from './options.js';
export { ServerError, STATUS, type RequestIssue, type ServerErrorCode } from './errors.js';
export type { RunMeta, RunState, StoredReport } from './store.js';
