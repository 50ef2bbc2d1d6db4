import { clampLimit, SampleWindow, type Limiter, type LimiterOptions, type LimiterSample, type WindowOptions } from '../limiter.js';

/** Options of {@link GradientLimiter}. */
export interface GradientOptions extends LimiterOptions, WindowOptions {
  /** Latency up to `tolerance` × the no-load latency counts as no queueing. @default 1.5 */
  tolerance?: number;
  /** Multiplier applied on a drop. @default 0.9 */
  backoffRatio?: number;
  /** Weight of the new value when the limit moves (1 = no smoothing). @default 0.5 */
  smoothing?: number;
  /** A window whose mean latency passes this counts as a drop. @default 5000 */
  timeoutMs?: number;
  /** No-load latency is re-measured every U[0.5, 1) × this many windows. @default 60 */
  probeWindows?: number;
  /**
   * Reproduces the flaw of Netflix's Gradient2 (concurrency-limits #176): drops are ignored.
   * Only for comparisons; never use it to protect a service.
   * @default false
   */
  ignoreDrops?: boolean;
}

/**
 * The default limiter: a gradient limiter in the manner of Netflix's Gradient2 and Envoy's
 * adaptive concurrency filter. Each window compares its mean latency with the no-load latency:
 * `gradient = clamp(tolerance × noLoad / rtt, 0.5, 1)`, `new = L × gradient + √L`, moved
 * towards by `smoothing`. Unlike Gradient2, a window with a drop cuts the limit by
 * `backoffRatio`, as AIMD does. It does not grow while the pool uses less than half its limit,
 * and re-measures the no-load latency every so many windows, with jitter.
 */
export class GradientLimiter implements Limiter {
  limit: number;
  reason: string | undefined = undefined;
  #min: number;
  #max: number;
  #estimate: number;
  #noLoad = Infinity;
  #windowsUntilProbe: number;
  readonly #tolerance: number;
  readonly #backoffRatio: number;
  readonly #smoothing: number;
  readonly #timeoutMs: number;
  readonly #probeWindows: number;
  readonly #ignoreDrops: boolean;
  readonly #random: () => number;
  readonly #window: SampleWindow;

  constructor(options: GradientOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max);
    this.limit = clampLimit(options.initial, this.#min, this.#max);
    this.#estimate = this.limit;
    this.#tolerance = options.tolerance ?? 1.5;
    this.#backoffRatio = options.backoffRatio ?? 0.9;
    this.#smoothing = options.smoothing ?? 0.5;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#probeWindows = options.probeWindows ?? 60;
    this.#ignoreDrops = options.ignoreDrops ?? false;
    this.#random = options.random ?? Math.random;
    this.#window = new SampleWindow(options);
    this.#windowsUntilProbe = this.#nextProbe();
  }

  /** The no-load latency currently assumed, in milliseconds (Infinity before any sample). */
  get noLoadLatencyMs(): number {
    return this.#noLoad;
  }

  onSample(sample: LimiterSample): void {
    const window = this.#window.add(this.#ignoreDrops && sample.outcome === 'drop' ? { ...sample, outcome: 'ignore' } : sample);
    if (window === undefined) return;
    if (window.dropped || window.meanLatencyMs > this.#timeoutMs) {
      this.#estimate = Math.max(this.#min, this.#estimate * this.#backoffRatio);
      this.#publish(window.dropped ? 'drop' : 'slow responses');
      return;
    }
    if (window.samples === 0) return;
    const rtt = window.meanLatencyMs;
    if (--this.#windowsUntilProbe <= 0) {
      // Re-measure: forget the minimum and take this window's latency as the new no-load one.
      this.#noLoad = rtt;
      this.#windowsUntilProbe = this.#nextProbe();
    } else if (rtt < this.#noLoad) {
      this.#noLoad = rtt;
    }
    const gradient = Math.max(0.5, Math.min(1, (this.#tolerance * this.#noLoad) / Math.max(rtt, 1e-6)));
    if (gradient >= 1 && window.maxInflight * 2 < this.limit) return; // idle: must not grow
    const target = this.#estimate * gradient + Math.sqrt(this.#estimate);
    const next = (1 - this.#smoothing) * this.#estimate + this.#smoothing * target;
    this.#estimate = Math.max(this.#min, Math.min(this.#max, gradient < 1 ? Math.min(next, this.#estimate) : next));
    this.#publish(gradient < 1 ? 'latency rising' : 'room to grow');
  }

  setMax(max: number): void {
    this.#max = Math.max(this.#min, Math.floor(max));
    this.#estimate = Math.min(this.#estimate, this.#max);
    this.#publish('maximum changed');
  }

  onPressure(factor: number, reason: string): void {
    this.#estimate = Math.max(this.#min, this.#estimate * factor);
    this.#publish(reason);
  }

  #nextProbe(): number {
    return Math.max(1, Math.round((0.5 + this.#random() / 2) * this.#probeWindows));
  }

  #publish(reason: string): void {
    const next = clampLimit(this.#estimate, this.#min, this.#max);
    if (next !== this.limit) {
      this.limit = next;
      this.reason = reason;
    }
  }
}
