/**
 * The shell adapter of fanout: `bash` runs commands in argv form (a shell only when asked),
 * each in its own process group, inside the allowed roots, with an explicit environment,
 * capped output and a group-wide TERM-then-KILL on timeout or abort; forked by Node, or by a
 * pool of small bash workers (`spawner: 'server'`).
 * @module
 */
export { bashAdapter, type BashAdapter, type BashAdapterOptions } from './bash-adapter.js';
export { bashInputSchema, bashLockSchema, createBashInputSchema, type BashInput, type BashLock } from './schema.js';
export type { BashOutput } from './output.js';
export { ProcessError } from './process-error.js';
// The process primitives, for packages that run programs of their own (@fanout/agents): a
// child in its own process group stopped TERM-then-KILL, a whole run to its end with capped
// output (forked by Node, or by the spawn server's bash workers), and the explicit environment.
export { GroupStopper, ProcessGroup, killLiveGroups, type GroupSpawnOptions } from './process-group.js';
export { PIPE_GRACE_MS, runProcess, type ProcessOutcome, type ProcessSpec } from './run-process.js';
export { SpawnServer } from './spawn-server.js';
export { StreamCapture, TAIL_BYTES, utf8Tail, type CapturedStream } from './stream-capture.js';
export { buildEnvironment, type EnvironmentSources } from './environment.js';
