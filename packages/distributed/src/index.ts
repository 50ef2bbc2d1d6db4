export { createExecutor, DistributedExecutor, type ExecutorOptions, type RateLimit, type WorkerInfo } from './executor.js';
export { distribute, type Distributed, type DistributeOptions } from './distribute.js';
export { FanoutWorker, startWorker, type WorkerOptions, type WorkerStats } from './worker.js';
export { DistributedError, RemoteError, type DistributedErrorCode } from './errors.js';
export { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PREFIX, jobIdOf, LOCK_DURATION_MS, MAX_STALLED_COUNT, QUEUED_PER_LIMIT, queueName, schedulerLimit, STALLED_INTERVAL_MS, type Envelope, type JobData } from './protocol.js';
export { checkRedis, clearPrefix, connectionOptions } from './redis.js';
