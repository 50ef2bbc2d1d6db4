/** What an attempt's end tells a limiter. */
export type LimiterOutcome =
  /** It succeeded: its latency is a sample. */
  | 'ok'
  /** The other side was overloaded (timeout, 429, 503, reset): back off. */
  | 'drop'
  /** Not a signal about load (bad input, a file that is not there). */
  | 'ignore';

/** One finished attempt, as a limiter sees it. */
export interface LimiterSample {
  latencyMs: number;
  /** Attempts of the pool in flight when this one started, itself included. */
  inflight: number;
  outcome: LimiterOutcome;
  /** Clock time of the sample. */
  now: number;
}

/**
 * Decides how many attempts a pool may run at once. The scheduler feeds it every finished
 * attempt and reads `limit` after each; it never runs more than `limit`, nor more than the
 * pool's hard maximum.
 */
export interface Limiter {
  /** The current limit, an integer ≥ 1. */
  readonly limit: number;
  /** Why the limit last changed (shown in `limit-changed` events). */
  readonly reason?: string | undefined;
  /** Called for every finished attempt. The sample object is reused: copy what you keep. */
  onSample(sample: LimiterSample): void;
  /** The pool's hard maximum changed while running. */
  setMax?(max: number): void;
  /** Resource pressure asks for a cut to `factor` × the current limit (0 < factor < 1). */
  onPressure?(factor: number, reason: string): void;
}

/** What every limiter is built from. */
export interface LimiterOptions {
  /** Where it starts: the pool's optimal concurrency. */
  initial: number;
  /** @default 1 */
  min?: number;
  /** Never passes this: the pool's hard maximum. */
  max: number;
  /** Injected randomness (jitter). @default Math.random */
  random?: () => number;
}

/** Builds a pool's limiter from its bounds. */
export type LimiterFactory = (options: LimiterOptions) => Limiter;

/** A limiter that stays where it is put: at the pool's maximum. */
export class FixedLimiter implements Limiter {
  limit: number;
  reason: string | undefined = undefined;

  constructor(options: Pick<LimiterOptions, 'max'>) {
    this.limit = Math.max(1, Math.floor(options.max));
  }

  onSample(): void {}

  setMax(max: number): void {
    this.limit = Math.max(1, Math.floor(max));
    this.reason = 'maximum changed';
  }
}

/** Options of windowed limiters. */
export interface WindowOptions {
  /**
   * A window closes once it is this old and holds `minSamples`, or as soon as it holds
   * `minSamples` of which most are drops: refused work comes back at once, and a burst that
   * the other side turns away must cut the limit before its retries go out (full jitter over
   * 100 ms by default), not a window later.
   * @default 500
   */
  windowMs?: number;
  /** @default 10 */
  minSamples?: number;
  /** A window also closes at this many samples, however young. @default 1000 */
  maxSamples?: number;
}

/** What a closed window passes on (Netflix concurrency-limits' windowed mode). */
export interface WindowSummary {
  meanLatencyMs: number;
  /** Samples that were not drops. */
  samples: number;
  maxInflight: number;
  dropped: boolean;
}

/**
 * Groups samples into windows; `add` returns a summary when one closes: at `maxSamples`; at
 * `minSamples` once the window is `windowMs` old; or at `minSamples` at any age when most of
 * its samples are drops (a burst refused at once).
 */
export class SampleWindow {
  readonly #windowMs: number;
  readonly #minSamples: number;
  readonly #maxSamples: number;
  #start = NaN;
  #count = 0;
  #latencySum = 0;
  #latencyCount = 0;
  #maxInflight = 0;
  #dropped = false;
  #drops = 0;

  constructor(options: WindowOptions = {}) {
    this.#windowMs = options.windowMs ?? 500;
    this.#minSamples = options.minSamples ?? 10;
    this.#maxSamples = options.maxSamples ?? 1000;
  }

  add(sample: LimiterSample): WindowSummary | undefined {
    if (sample.outcome === 'ignore') return undefined;
    if (Number.isNaN(this.#start)) this.#start = sample.now;
    this.#count++;
    if (sample.inflight > this.#maxInflight) this.#maxInflight = sample.inflight;
    if (sample.outcome === 'drop') {
      this.#dropped = true;
      this.#drops++;
    } else {
      this.#latencySum += sample.latencyMs;
      this.#latencyCount++;
    }
    const due = this.#count >= this.#maxSamples || (this.#count >= this.#minSamples && (sample.now - this.#start >= this.#windowMs || this.#drops * 2 > this.#count));
    if (!due) return undefined;
    const summary: WindowSummary = {
      meanLatencyMs: this.#latencyCount === 0 ? 0 : this.#latencySum / this.#latencyCount,
      samples: this.#latencyCount,
      maxInflight: this.#maxInflight,
      dropped: this.#dropped,
    };
    this.#start = NaN;
    this.#count = 0;
    this.#latencySum = 0;
    this.#latencyCount = 0;
    this.#maxInflight = 0;
    this.#dropped = false;
    this.#drops = 0;
    return summary;
  }
}

export function clampLimit(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(value)));
}
