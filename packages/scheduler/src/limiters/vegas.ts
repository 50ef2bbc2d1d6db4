import { clampLimit, SampleWindow, type Limiter, type LimiterOptions, type LimiterSample, type WindowOptions } from '../limiter.js';

/** Options of {@link VegasLimiter}. */
export interface VegasOptions extends LimiterOptions, WindowOptions {
  /** No-load latency is re-probed every U[0.5, 1) × probeMultiplier × limit windows. @default 30 */
  probeMultiplier?: number;
}

/**
 * TCP Vegas applied to concurrency (Netflix concurrency-limits' VegasLimit): the queue is
 * estimated as `ceil(L × (1 − rttNoLoad / rtt))`; small queues grow the limit, large ones and
 * drops shrink it. The no-load latency is the minimum seen, re-probed now and then with jitter.
 */
export class VegasLimiter implements Limiter {
  limit: number;
  reason: string | undefined = undefined;
  #min: number;
  #max: number;
  #rttNoLoad = Infinity;
  #windowsUntilProbe: number;
  readonly #probeMultiplier: number;
  readonly #random: () => number;
  readonly #window: SampleWindow;

  constructor(options: VegasOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max);
    this.limit = clampLimit(options.initial, this.#min, this.#max);
    this.#probeMultiplier = options.probeMultiplier ?? 30;
    this.#random = options.random ?? Math.random;
    this.#window = new SampleWindow(options);
    this.#windowsUntilProbe = this.#nextProbe();
  }

  onSample(sample: LimiterSample): void {
    const window = this.#window.add(sample);
    if (window === undefined) return;
    const lg = Math.max(1, Math.floor(Math.log10(this.limit)));
    if (window.dropped) {
      this.#set(this.limit - lg, 'drop');
      return;
    }
    if (window.samples === 0) return;
    const rtt = window.meanLatencyMs;
    if (--this.#windowsUntilProbe <= 0) {
      // Forget the minimum so that a lasting change of the no-load latency is learnt.
      this.#rttNoLoad = rtt;
      this.#windowsUntilProbe = this.#nextProbe();
      return;
    }
    if (rtt < this.#rttNoLoad) {
      this.#rttNoLoad = rtt;
      return;
    }
    if (window.maxInflight * 2 < this.limit) return;
    const queue = Math.ceil(this.limit * (1 - this.#rttNoLoad / Math.max(rtt, Number.EPSILON)));
    const alpha = 3 * lg;
    const beta = 6 * lg;
    if (queue <= lg) this.#set(this.limit + beta, 'no queueing');
    else if (queue < alpha) this.#set(this.limit + lg, 'short queue');
    else if (queue > beta) this.#set(this.limit - lg, 'queueing');
  }

  setMax(max: number): void {
    this.#max = Math.max(this.#min, Math.floor(max));
    this.#set(this.limit, 'maximum changed');
  }

  onPressure(factor: number, reason: string): void {
    this.#set(this.limit * factor, reason);
  }

  #nextProbe(): number {
    return Math.max(1, Math.ceil(((0.5 + this.#random() / 2) * this.#probeMultiplier * this.limit) / 10));
  }

  #set(value: number, reason: string): void {
    const next = clampLimit(value, this.#min, this.#max);
    if (next !== this.limit) {
      this.limit = next;
      this.reason = reason;
    }
  }
}
