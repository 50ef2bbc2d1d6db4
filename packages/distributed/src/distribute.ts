/**
 * What every host of a run does with `--redis URL` (the CLI's plan commands, the server): the
 * adapters of the tools replaced by an executor's, whose attempts run on the workers of that
 * Redis; kinds named local (pure plan steps) stay in this process. Redis is checked before
 * anything is returned, so a host fails at start, not at its first operation.
 */
import type { Adapter, PoolOptions } from '@fanout/scheduler';
import type { RedisOptions } from 'ioredis';
import { createExecutor, type DistributedExecutor } from './executor.js';
import { schedulerLimit } from './protocol.js';

export interface DistributeOptions {
  /** `redis://host:port/db` or ioredis options. */
  redis: string | RedisOptions;
  /** Key prefix shared with the workers. @default "fanout" */
  prefix?: string | undefined;
  /** Every adapter the host would run in-process. */
  adapters: readonly Adapter[];
  /** Kinds that keep running here (e.g. the plan steps, which are pure computations). */
  local?: Iterable<string> | undefined;
  /**
   * Pool options per kind as the configuration gives them: each remote kind's `max` is that
   * kind's limit across all workers (the scheduler gets {@link Distributed.limits}).
   */
  limits?: Record<string, PoolOptions | undefined> | undefined;
  /** Called with what deserves a warning (Redis may evict keys). */
  onWarning?: ((message: string) => void) | undefined;
}

/** The executor, and the adapters to give the scheduler (remote ones first, then the local ones). */
export interface Distributed {
  executor: DistributedExecutor;
  adapters: Adapter[];
  /**
   * The pool options to give the scheduler instead of the configured ones: a remote kind's
   * `max` is {@link schedulerLimit} of its limit across workers (twice it), so that a worker
   * finds its next job waiting in the queue; BullMQ still runs at most the limit at once. The
   * local kinds' options are as configured; a remote kind without a configured `max` gets it
   * from the executor's adapter (`maxConcurrency`, scaled the same way).
   */
  limits: Record<string, PoolOptions>;
}

/**
 * Makes an executor for the non-local kinds among `adapters` and waits until its Redis answers
 * (`FANOUT_REDIS_UNAVAILABLE` otherwise, with the executor closed).
 *
 * @example
 * const { executor, adapters, limits } = await distribute({ redis: 'redis://127.0.0.1:6379', adapters: tools, limits: { grep: { max: 8 } } });
 * const scheduler = createScheduler({ adapters, limits }); // grep: 16 queued or running, 8 at once on the workers
 * // … runs; executor.follow(run) keeps the limits across workers in step …
 * await executor.close();
 */
export async function distribute(options: DistributeOptions): Promise<Distributed> {
  const local = new Set(options.local ?? []);
  const remote = options.adapters.filter((adapter) => !local.has(adapter.kind));
  const kept = options.adapters.filter((adapter) => local.has(adapter.kind));
  const limits: Record<string, number> = {};
  const pools: Record<string, PoolOptions> = {};
  const remoteKinds = new Set(remote.map((adapter) => adapter.kind));
  for (const [kind, limit] of Object.entries(options.limits ?? {})) {
    if (limit === undefined) continue;
    const max = remoteKinds.has(kind) ? limit.max : undefined;
    if (max === undefined) {
      pools[kind] = { ...limit };
      continue;
    }
    limits[kind] = max;
    pools[kind] = { ...limit, max: schedulerLimit(max) };
  }
  const executor = createExecutor({ redis: options.redis, prefix: options.prefix, adapters: remote, limits, ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }) });
  try {
    await executor.ready();
  } catch (error) {
    await executor.close();
    throw error;
  }
  return { executor, adapters: [...executor.adapters, ...kept], limits: pools };
}
