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

/** A signal's threshold and the level it turns off below (hysteresis). */
export interface ThresholdSpec {
  threshold: number;
  release: number;
}

/**
 * The parts of `@fanout/monitor`'s options that configuration decides: its `signals` and
 * `runSignals` (structurally the monitor's own option types, so this package does not
 * depend on it).
 */
export interface ConfiguredMonitorOptions {
  signals?: Partial<Record<'cpu' | 'memory' | 'network' | 'disk', ThresholdSpec>>;
  runSignals?: { failureRate?: ThresholdSpec; meanResponse?: ThresholdSpec };
}

/**
 * Turns the configured thresholds into monitor options. Each signal turns off a little below
 * its threshold, so a signal hovering at the threshold does not flap (CPU: on at 90 %, off at
 * 80 %): 10 points below for CPU, network and disk, 5 for memory (whose headroom is smaller),
 * half the failure rate, 80 % of the response time.
 */
export function monitorOptions(config: Config): ConfiguredMonitorOptions {
  const t = config.thresholds;
  if (t === undefined) return {};
  const below = (threshold: number, by: number): ThresholdSpec => ({ threshold, release: Math.max(0, threshold - by) });
  const signals: NonNullable<ConfiguredMonitorOptions['signals']> = {};
  if (t.cpu !== undefined) signals.cpu = below(t.cpu, 0.1);
  if (t.memory !== undefined) signals.memory = below(t.memory, 0.05);
  if (t.network !== undefined) signals.network = below(t.network, 0.1);
  if (t.disk !== undefined) signals.disk = below(t.disk, 0.1);
  const runSignals: NonNullable<ConfiguredMonitorOptions['runSignals']> = {};
  if (t.failureRate !== undefined) runSignals.failureRate = { threshold: t.failureRate, release: t.failureRate / 2 };
  if (t.slowResponseMs !== undefined) runSignals.meanResponse = { threshold: t.slowResponseMs, release: t.slowResponseMs * 0.8 };
  return {
    ...(Object.keys(signals).length === 0 ? {} : { signals }),
    ...(Object.keys(runSignals).length === 0 ? {} : { runSignals }),
  };
}
