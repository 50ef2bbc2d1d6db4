import { clampLimit, SampleWindow, type Limiter, type LimiterOptions, type LimiterSample, type WindowOptions } from '../limiter.js';

/** Options of {@link AimdLimiter}. */
export interface AimdOptions extends LimiterOptions, WindowOptions {
  /** Multiplier applied on a drop. @default 0.9 */
  backoffRatio?: number;
  /** A window whose mean latency passes this counts as a drop. @default 5000 */
  timeoutMs?: number;
}

/**
 * Additive increase, multiplicative decrease (Netflix concurrency-limits' AIMDLimit, windowed):
 * a window with a drop, or slower than `timeoutMs`, cuts the limit to `backoffRatio` × limit;
 * a window in which the pool used at least half its limit adds one.
 */
export class AimdLimiter implements Limiter {
  limit: number;
  reason: string | undefined = undefined;
  #min: number;
  #max: number;
  readonly #backoffRatio: number;
  readonly #timeoutMs: number;
  readonly #window: SampleWindow;

  constructor(options: AimdOptions) {
    this.#min = Math.max(1, options.min ?? 1);
    this.#max = Math.max(this.#min, options.max);
    this.limit = clampLimit(options.initial, this.#min, this.#max);
    this.#backoffRatio = options.backoffRatio ?? 0.9;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#window = new SampleWindow(options);
  }

  onSample(sample: LimiterSample): void {
    const window = this.#window.add(sample);
    if (window === undefined) return;
    if (window.dropped || window.meanLatencyMs > this.#timeoutMs) {
      this.#set(this.limit * this.#backoffRatio, window.dropped ? 'drop' : 'slow responses');
    } else if (window.maxInflight * 2 >= this.limit) {
      this.#set(this.limit + 1, 'additive increase');
    }
  }

  setMax(max: number): void {
    this.#max = Math.max(this.#min, Math.floor(max));
    this.#set(this.limit, 'maximum changed');
  }

  onPressure(factor: number, reason: string): void {
    this.#set(this.limit * factor, reason);
  }

  #set(value: number, reason: string): void {
    const next = clampLimit(value, this.#min, this.#max);
    if (next !== this.limit) {
      this.limit = next;
      this.reason = reason;
    }
  }
}
