import type { PoolOptions, RunOptions, SchedulerOptions } from '@fanout/scheduler';
import type { Config } from './schema.js';

/** The parts of the scheduler's options that configuration decides (adapters and clock aside). */
export type ConfiguredSchedulerOptions = Pick<SchedulerOptions, 'concurrency' | 'limits' | 'timeoutMs' | 'retry' | 'retryBudget'>;

/** Turns configuration into scheduler options. */
export function schedulerOptions(config: Config): ConfiguredSchedulerOptions {
  const limits: Record<string, PoolOptions> = {};
  for (const [kind, limit] of Object.entries(config.limits ?? {})) {
    const pool: PoolOptions = {};
    if (limit.max !== undefined) pool.max = limit.max;
    if (limit.optimal !== undefined) pool.optimal = Math.min(limit.optimal, limit.max ?? limit.optimal);
    if (limit.limiter !== undefined) pool.limiter = limit.limiter;
    if (limit.timeoutMs !== undefined) pool.timeoutMs = limit.timeoutMs;
    if (limit.keyLimit !== undefined) pool.keyLimit = limit.keyLimit;
    limits[kind] = pool;
  }
  const options: ConfiguredSchedulerOptions = { limits };
  if (config.concurrency !== undefined) options.concurrency = config.concurrency;
  if (config.timeouts?.attemptMs !== undefined) options.timeoutMs = config.timeouts.attemptMs;
  const retry = config.retry;
  if (retry !== undefined) {
    const spec: NonNullable<SchedulerOptions['retry']> = {};
    if (retry.attempts !== undefined) spec.attempts = retry.attempts;
    if (retry.baseDelayMs !== undefined) spec.baseDelayMs = retry.baseDelayMs;
    if (retry.maxDelayMs !== undefined) spec.maxDelayMs = retry.maxDelayMs;
    options.retry = spec;
    if (retry.budgetRatio !== undefined) options.retryBudget = { ratio: retry.budgetRatio };
  }
  return options;
}

/** Turns configuration into the run options it decides. */
export function runOptions(config: Config): Pick<RunOptions, 'queueTimeoutMs' | 'deadlineMs'> {
  const options: Pick<RunOptions, 'queueTimeoutMs' | 'deadlineMs'> = {};
  if (config.timeouts?.queueMs !== undefined) options.queueTimeoutMs = config.timeouts.queueMs;
  if (config.timeouts?.runMs !== undefined) options.deadlineMs = config.timeouts.runMs;
  return options;
}

/** The output budget in characters (tokens are counted as about four characters). */
export function outputBudgetChars(config: Config): number | undefined {
  return config.output?.budgetChars ?? (config.output?.budgetTokens === undefined ? undefined : config.output.budgetTokens * 4);
}
