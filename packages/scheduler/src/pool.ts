import type { Adapter } from './adapter.js';
import { IntDeque } from './deque.js';
import { FanoutError } from './errors.js';
import { FixedLimiter, type Limiter, type LimiterFactory, type LimiterSample } from './limiter.js';
import { AimdLimiter } from './limiters/aimd.js';
import { GradientLimiter } from './limiters/gradient.js';
import { VegasLimiter } from './limiters/vegas.js';
import { ReadyQueue } from './ready-queue.js';
import { KindStats } from './summary.js';

/** The limiters that can be named in options. */
export type LimiterName = 'adaptive' | 'gradient' | 'aimd' | 'vegas' | 'fixed';

/** Limits of one kind's pool. */
export interface PoolOptions {
  /** Hard cap of concurrent attempts. @default the adapter's maxConcurrency, else 16 */
  max?: number;
  /** Where the adaptive limiter starts. @default the adapter's optimalConcurrency, else ⌈max / 2⌉ */
  optimal?: number;
  /**
   * `adaptive` (the default, a {@link GradientLimiter}), `gradient`, `aimd`, `vegas`, `fixed`
   * (always `max`), or a factory.
   * @default "adaptive"
   */
  limiter?: LimiterName | LimiterFactory;
  /** Most concurrent attempts per sub-limit key. @default the adapter's keyLimit, else unlimited */
  keyLimit?: number;
  /** Sub-limits for particular keys, e.g. `{ "api.github.com": 2 }`. */
  keyLimits?: Record<string, number>;
  /** Timeout of each attempt of this kind. @default the adapter's timeoutMs */
  timeoutMs?: number;
}

export function createLimiter(choice: LimiterName | LimiterFactory | undefined, max: number, optimal: number, random: () => number): Limiter {
  const options = { initial: optimal, max, min: 1, random };
  if (typeof choice === 'function') return choice(options);
  switch (choice ?? 'adaptive') {
    case 'fixed':
      return new FixedLimiter(options);
    case 'aimd':
      return new AimdLimiter(options);
    case 'vegas':
      return new VegasLimiter(options);
    case 'adaptive':
    case 'gradient':
      return new GradientLimiter(options);
    default:
      throw new FanoutError('FANOUT_OPTION_INVALID', `expected limiter to be one of adaptive, gradient, aimd, vegas, fixed or a function, got ${JSON.stringify(choice)}`);
  }
}

/** The pool of one kind: its limits, its ready queue, its sub-limits and its figures. */
export class Pool {
  readonly index: number;
  readonly kind: string;
  readonly adapter: Adapter;
  readonly queue = new ReadyQueue();
  readonly limiter: Limiter;
  /** False for a fixed limiter: samples would teach it nothing, so none are built. */
  readonly learns: boolean;
  /** Reused for every sample the limiter is fed; limiters copy what they keep. */
  readonly sample: LimiterSample = { latencyMs: 0, inflight: 0, outcome: 'ok', now: 0 };
  readonly stats: KindStats;
  readonly timeoutMs: number | undefined;
  /** Attempt timeout for operations that set none; filled in by the engine. */
  defaultTimeoutMs: number | undefined;
  /** The adapter derives neither locks, sub-limit keys nor batch keys from inputs. */
  readonly plain: boolean;
  readonly idempotent: boolean;
  /** Its attempts wait rather than compute (see `AdapterDefaults.waits`). */
  readonly waits: boolean;
  /** Hard cap; changes with `setLimit`. */
  max: number;
  /** min(max, limiter.limit): what the pool may run now. */
  limit: number;
  /** False while a pressure source pauses the kind. */
  admit = true;
  pressureReason: string | undefined;
  lastShrink: number | undefined;
  inflight = 0;
  /** Live operations in `queue` (it may also hold stale entries, skipped when popped). */
  queued = 0;
  keyLimit: number;
  readonly keyLimits: Map<string, number>;
  readonly keyInflight = new Map<string, number>();
  /** Operations dequeued while their key was at its limit, waiting for it. */
  readonly parked = new Map<string, IntDeque>();

  constructor(index: number, adapter: Adapter, options: PoolOptions, random: () => number) {
    this.index = index;
    this.kind = adapter.kind;
    this.adapter = adapter;
    const defaults = adapter.defaults ?? {};
    const max = positiveInt(options.max ?? defaults.maxConcurrency ?? 16, `limits.${adapter.kind}.max`);
    const optimal = Math.min(max, positiveInt(options.optimal ?? defaults.optimalConcurrency ?? Math.ceil(max / 2), `limits.${adapter.kind}.optimal`));
    this.max = max;
    this.limiter = createLimiter(options.limiter, max, optimal, random);
    this.limit = Math.min(max, this.limiter.limit);
    this.learns = !(this.limiter instanceof FixedLimiter);
    this.stats = new KindStats(this.limit);
    this.timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
    this.defaultTimeoutMs = this.timeoutMs;
    this.plain = adapter.key === undefined && adapter.locks === undefined && adapter.batcher === undefined;
    this.idempotent = defaults.idempotent ?? false;
    this.waits = defaults.waits ?? false;
    this.keyLimit = options.keyLimit ?? defaults.keyLimit ?? Infinity;
    this.keyLimits = new Map(Object.entries(options.keyLimits ?? {}));
  }

  /** May another attempt of this kind start? */
  get open(): boolean {
    return this.admit && this.inflight < this.limit;
  }

  keyLimitOf(key: string): number {
    return this.keyLimits.get(key) ?? this.keyLimit;
  }

  /** Recomputes `limit`; returns true when it changed. */
  refreshLimit(): boolean {
    const next = Math.max(1, Math.min(this.max, this.limiter.limit));
    if (next === this.limit) return false;
    this.limit = next;
    return true;
  }
}

export function positiveInt(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new FanoutError('FANOUT_OPTION_INVALID', `expected a positive integer at ${path}, got ${String(value)}`, { path });
  }
  return value;
}
