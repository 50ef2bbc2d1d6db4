import { clampLimit, SampleWindow, type Limiter, type LimiterOptions, type LimiterSample, type WindowOptions } from '../limiter.js';

/** Options of {@link GradientLimiter}. */
export interface GradientOptions extends LimiterOptions, WindowOptions {
  /**
   * A window closes once it is this old and holds `minSamples`. Shorter than the other
   * limiters' windows: each window moves this one by at most a smoothed step, and a pool that
   * starts below its knee should get there within a second or two.
   * @default 250
   */
  windowMs?: number;
  /** Latency up to `tolerance` × the no-load latency counts as no queueing. @default 1.5 */
  tolerance?: number;
  /**
   * Upper clamp of the gradient: how fast the limit may grow while latency stays well under
   * `tolerance` × the no-load latency (Envoy's adaptive concurrency filter uses 2).
   * @default 2
   */
  maxGradient?: number;
  /**
   * Multiplier applied to a window with drops; a window in which most attempts were dropped
   * is cut to half at once (the other side has far less room than the limit).
   * @default 0.9
   */
  backoffRatio?: number;
  /** Weight of the new value when the limit moves (1 = no smoothing). @default 0.5 */
  smoothing?: number;
  /** A window whose mean latency passes this counts as a drop. @default 5000 */
  timeoutMs?: number;
  /**
   * No-load latency is re-measured every U[0.5, 1) × this many windows, and a first time after
   * the fourth window: a pool that starts above the knee would otherwise take its queueing for
   * no load until then.
   * @default 60
   */
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
 * `gradient = clamp(tolerance × noLoad / rtt, 0.5, maxGradient)`, `new = L × gradient + √L`,
 * moved towards by `smoothing`; while latency is above the tolerance it never grows. Unlike
 * Gradient2, a window with a drop cuts the limit by `backoffRatio`, as AIMD does (by half when
 * most of the window was dropped). It does not grow while the pool uses less than half its
 * limit.
 *
 * The no-load latency is the minimum window latency seen, re-measured every so many windows
 * (with jitter) the way Envoy does it: the limit is pinned to half for one window, and only
 * attempts started under the pinned limit count. Taking a loaded window's latency as the new
 * no-load one instead (what Vegas' probe does) lets queueing pass for no load: the limit
 * then climbs by the tolerance at every probe until the other side refuses work.
 */
export class GradientLimiter implements Limiter {
  limit: number;
  reason: string | undefined = undefined;
  #min: number;
  #max: number;
  #estimate: number;
  #noLoad = Infinity;
  #windowsUntilProbe: number;
  /** While re-measuring: the pinned limit; 0 otherwise. */
  #probeLimit = 0;
  /** Attempts and drops in the window being filled. */
  #seen = 0;
  #drops = 0;
  readonly #tolerance: number;
  readonly #maxGradient: number;
  readonly #backoffRatio: number;
  readonly #smoothing: number;
  readonly #timeoutMs: number;
  readonly #probeWindows: number;
  readonly #ignoreDrops: boolean;
  readonly #random: () => number;
  readonly #window: SampleWindow;
  readonly #ignored: LimiterSample = { latencyMs: 0, inflight: 0, outcome: 'ignore', now: 0 };

  constructor(options: GradientOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max);
    this.limit = clampLimit(options.initial, this.#min, this.#max);
    this.#estimate = this.limit;
    this.#tolerance = options.tolerance ?? 1.5;
    this.#maxGradient = Math.max(1, options.maxGradient ?? 2);
    this.#backoffRatio = options.backoffRatio ?? 0.9;
    this.#smoothing = options.smoothing ?? 0.5;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#probeWindows = options.probeWindows ?? 60;
    this.#ignoreDrops = options.ignoreDrops ?? false;
    this.#random = options.random ?? Math.random;
    this.#window = new SampleWindow({ ...options, windowMs: options.windowMs ?? 250 });
    this.#windowsUntilProbe = Math.min(4, this.#nextProbe());
  }

  /** The no-load latency currently assumed, in milliseconds (Infinity before any sample). */
  get noLoadLatencyMs(): number {
    return this.#noLoad;
  }

  /** True while the limit is pinned to re-measure the no-load latency. */
  get probing(): boolean {
    return this.#probeLimit > 0;
  }

  onSample(sample: LimiterSample): void {
    let seen = sample;
    if (sample.outcome === 'drop' ? this.#ignoreDrops : this.#probeLimit > 0 && sample.inflight > this.#probeLimit) {
      // A drop the flawed mode does not see, or an attempt started before the limit was
      // pinned for a probe: its latency says nothing about no load.
      this.#ignored.now = sample.now;
      seen = this.#ignored;
    }
    if (seen.outcome !== 'ignore') {
      this.#seen++;
      if (seen.outcome === 'drop') this.#drops++;
    }
    const window = this.#window.add(seen);
    if (window === undefined) return;
    const dropShare = this.#drops / Math.max(1, this.#seen);
    this.#seen = 0;
    this.#drops = 0;
    // Counted in every window, drops included: a pool that started above the knee only
    // learns the real no-load latency from a probe, and must not be kept from it by drops.
    const probeDue = this.#probeLimit === 0 && --this.#windowsUntilProbe <= 0;
    if (window.dropped || window.meanLatencyMs > this.#timeoutMs) {
      this.#probeLimit = 0;
      // Refused work comes back fast and churns: a limit far above the other side's room
      // sees mostly drops, and a 0.9 step per window would let thousands through.
      const factor = window.dropped && dropShare > 0.5 ? Math.min(0.5, this.#backoffRatio) : this.#backoffRatio;
      this.#estimate = Math.max(this.#min, this.#estimate * factor);
      if (probeDue) this.#startProbe();
      this.#publish(window.dropped ? 'drop' : 'slow responses');
      return;
    }
    if (window.samples === 0) return;
    const rtt = window.meanLatencyMs;
    if (this.#probeLimit > 0) {
      this.#probeLimit = 0;
      this.#noLoad = rtt;
      this.#publish('no-load latency re-measured');
      return;
    }
    if (rtt < this.#noLoad) this.#noLoad = rtt;
    if (probeDue) {
      this.#startProbe();
      this.#publish('re-measuring no-load latency');
      return;
    }
    const gradient = Math.max(0.5, Math.min(this.#maxGradient, (this.#tolerance * this.#noLoad) / Math.max(rtt, 1e-6)));
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

  /**
   * Pins the limit to half for the next window (Envoy pins to its minimum; half keeps most of
   * the throughput and is below the knee whenever the limit sits within 2× of it, where this
   * limiter keeps it).
   */
  #startProbe(): void {
    this.#windowsUntilProbe = this.#nextProbe();
    this.#probeLimit = clampLimit(this.#estimate / 2, this.#min, this.#max);
  }

  #nextProbe(): number {
    return Math.max(1, Math.round((0.5 + this.#random() / 2) * this.#probeWindows));
  }

  #publish(reason: string): void {
    const next = this.#probeLimit > 0 ? Math.min(this.#probeLimit, clampLimit(this.#estimate, this.#min, this.#max)) : clampLimit(this.#estimate, this.#min, this.#max);
    if (next !== this.limit) {
      this.limit = next;
      this.reason = reason;
    }
  }
}
