import type { Classification } from './adapter.js';
import type { RetrySpec } from './plan.js';
import type { Pool } from './pool.js';
import type { RunStateMachine } from './state-machine.js';
import { OpFlag } from './compile.js';

/** A retry spec with every field filled in. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  force: boolean;
  anyFailure: boolean;
}

/** Used where neither the operation, the plan's defaults nor the run options say otherwise. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 100, maxDelayMs: 10_000, force: false, anyFailure: false };

/** Fills a retry spec from `fallback`. `false` and `1` mean a single attempt. */
export function resolveRetry(spec: RetrySpec | number | false | undefined, fallback: RetryPolicy): RetryPolicy {
  if (spec === undefined) return fallback;
  if (spec === false) return { ...fallback, attempts: 1 };
  if (typeof spec === 'number') return { ...fallback, attempts: spec };
  return {
    attempts: spec.attempts ?? fallback.attempts,
    baseDelayMs: spec.baseDelayMs ?? fallback.baseDelayMs,
    maxDelayMs: spec.maxDelayMs ?? fallback.maxDelayMs,
    force: spec.force ?? spec.anyFailure ?? fallback.force,
    anyFailure: spec.anyFailure ?? fallback.anyFailure,
  };
}

/**
 * Delay before the attempt after `failedAttempt` (1 for the first attempt), with full jitter
 * ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015): uniform in
 * [0, min(maxDelayMs, baseDelayMs × 2^(failedAttempt-1))]. A `Retry-After` is a floor.
 */
export function backoffDelay(failedAttempt: number, policy: RetryPolicy, random: () => number, retryAfterMs?: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  const jittered = random() * ceiling;
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** How many retries a run may spend, so that a failing dependency is not hammered. */
export interface RetryBudgetSpec {
  /** Retries allowed per operation of the run. @default 0.2 */
  ratio?: number;
  /** Retries allowed whatever the size of the run. @default 10 */
  min?: number;
}

/** Counts retries against `max(min, ratio × operations)`. */
export class RetryBudget {
  readonly #ratio: number;
  readonly #min: number;
  #spent = 0;
  #operations = 0;

  constructor(spec: RetryBudgetSpec | number = {}) {
    if (typeof spec === 'number') {
      this.#ratio = 0;
      this.#min = spec;
    } else {
      this.#ratio = spec.ratio ?? 0.2;
      this.#min = spec.min ?? 10;
    }
  }

  get spent(): number {
    return this.#spent;
  }

  get total(): number {
    return Math.max(this.#min, Math.floor(this.#ratio * this.#operations));
  }

  /** The run grew (a fan-out); the budget grows with it. */
  setOperations(count: number): void {
    this.#operations = count;
  }

  tryTake(): boolean {
    if (this.#spent >= this.total) return false;
    this.#spent++;
    return true;
  }
}

/** The delay before the next attempt of `i`, or undefined when there is none (no retry left, not idempotent, the budget spent, the run stopping). */
export function retryDelay(m: RunStateMachine, i: number, pool: Pool, classification: Classification): number | undefined {
  if (m.stopping !== undefined) return undefined;
  const ops = m.ops;
  const policy = (ops.flags[i]! & OpFlag.Retry) !== 0 ? resolveRetry(ops.spec(i).retry, m.defaultRetry) : m.defaultRetry;
  if (classification.class === 'fatal' && !policy.anyFailure) return undefined;
  if (ops.attempts[i]! >= policy.attempts) return undefined;
  if (!pool.idempotent && !policy.force) return undefined;
  if (!m.config.retryBudget.tryTake()) return undefined;
  return backoffDelay(ops.attempts[i]!, policy, m.config.random, classification.retryAfterMs);
}
