import type { Adapter } from './adapter.js';
import type { IntDeque } from './deque.js';
import { check, FanoutError, type SchedulerErrorCode } from './errors.js';
import { FixedLimiter, type Limiter, type LimiterFactory, type LimiterSample } from './limiter.js';
import { AimdLimiter } from './limiters/aimd.js';
import { GradientLimiter } from './limiters/gradient.js';
import { VegasLimiter } from './limiters/vegas.js';
import { Status, type OpTable } from './op-table.js';
import type { PressureReading } from './pressure.js';
import { ReadyQueue, readyKey } from './ready-queue.js';
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
      throw new FanoutError<SchedulerErrorCode>('FANOUT_OPTION_INVALID', `expected limiter to be one of adaptive, gradient, aimd, vegas, fixed or a function, got ${JSON.stringify(choice)}`);
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
    const max = check.integer(options.max ?? defaults.maxConcurrency ?? 16, `limits.${adapter.kind}.max`, 16);
    const optimal = Math.min(max, check.integer(options.optimal ?? defaults.optimalConcurrency ?? Math.ceil(max / 2), `limits.${adapter.kind}.optimal`, 1));
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

  /** Puts operations parked on `key` back at the front of their bucket, as many as its limit now allows. */
  unpark(key: string, ops: OpTable): void {
    const parked = this.parked.get(key);
    if (parked === undefined) return;
    const room = this.keyLimitOf(key) - (this.keyInflight.get(key) ?? 0);
    for (let n = 0; n < room && parked.size > 0; ) {
      const i = parked.shift();
      if (ops.status[i] !== Status.Queued) continue;
      // Back to the front of its bucket: it had already reached the head of the queue.
      this.queue.pushFront(i, readyKey(ops.priority[i]!, ops.path[i]!));
      n++;
    }
    if (parked.size === 0) this.parked.delete(key);
  }

  /**
   * Takes a pressure reading: admission, and a shrink of the limiter when the reading asks for
   * one. Returns undefined when the reading is the one already in force.
   */
  applyPressure(reading: PressureReading): { admitChanged: boolean; shrunk: boolean } | undefined {
    if (reading.admit === this.admit && reading.reason === this.pressureReason && reading.shrink === this.lastShrink) return undefined;
    const admitChanged = reading.admit !== this.admit;
    this.admit = reading.admit;
    this.pressureReason = reading.reason;
    this.lastShrink = reading.shrink;
    const shrink = reading.shrink;
    if (shrink === undefined || !(shrink > 0 && shrink < 1) || this.limiter.onPressure === undefined) return { admitChanged, shrunk: false };
    this.limiter.onPressure(shrink, reading.reason ?? 'resource pressure');
    return { admitChanged, shrunk: true };
  }

  /** Recomputes `limit`; returns true when it changed. */
  refreshLimit(): boolean {
    const next = Math.max(1, Math.min(this.max, this.limiter.limit));
    if (next === this.limit) return false;
    this.limit = next;
    return true;
  }
}
