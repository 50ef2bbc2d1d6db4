import { check } from './errors.js';

/** When a signal turns on and off. */
export interface SignalSpec {
  /** The signal turns on once the value has stayed at or above this for `sustainMs`. */
  threshold: number;
  /** @default 0 (on at the first sample over the threshold) */
  sustainMs?: number;
  /**
   * It turns off once the value has stayed below this for `releaseMs` (hysteresis: between
   * `release` and `threshold` it keeps its state, so it does not flap around the threshold).
   * @default threshold
   */
  release?: number;
  /** @default sustainMs */
  releaseMs?: number;
}

/**
 * A threshold with a "sustained" window and hysteresis: on after the value stays at or above
 * `threshold` for `sustainMs`, off after it stays below `release` for `releaseMs`. A missing
 * value counts as below: a monitor must not keep work paused on a measurement it lost.
 *
 * @example
 * const cpu = new SustainedSignal({ threshold: 0.9, sustainMs: 3000, release: 0.8 });
 * if (cpu.update(0.95, now)) console.log(cpu.active ? 'on' : 'off');
 */
export class SustainedSignal {
  readonly threshold: number;
  readonly sustainMs: number;
  readonly release: number;
  readonly releaseMs: number;
  /** True while the signal is on. */
  active = false;
  /** The last value seen (NaN when it was missing). */
  value = NaN;
  /** Since when the value has been on the side that would flip the state (NaN: it is not). */
  #since = NaN;
  /** The value when the state last flipped. */
  #flippedAt = NaN;

  constructor(spec: SignalSpec, path = 'signal') {
    const threshold = spec.threshold;
    const sustainMs = spec.sustainMs ?? 0;
    const release = spec.release ?? threshold;
    const releaseMs = spec.releaseMs ?? sustainMs;
    if (!Number.isFinite(threshold)) check.invalid(`${path}.threshold`, 'a finite number', threshold);
    if (!(sustainMs >= 0)) check.invalid(`${path}.sustainMs`, 'a number of milliseconds ≥ 0', sustainMs);
    if (!(releaseMs >= 0)) check.invalid(`${path}.releaseMs`, 'a number of milliseconds ≥ 0', releaseMs);
    if (!(release <= threshold)) check.invalid(`${path}.release`, `a number ≤ the threshold (${threshold})`, release);
    this.threshold = threshold;
    this.sustainMs = sustainMs;
    this.release = release;
    this.releaseMs = releaseMs;
  }

  /** Feeds one value (undefined when it could not be measured); returns true when `active` flipped. */
  update(value: number | undefined, now: number): boolean {
    this.value = value ?? NaN;
    const pushing = this.active ? !(value !== undefined && value >= this.release) : value !== undefined && value >= this.threshold;
    if (!pushing) {
      this.#since = NaN;
      return false;
    }
    if (Number.isNaN(this.#since)) this.#since = now;
    if (now - this.#since < (this.active ? this.releaseMs : this.sustainMs)) return false;
    this.active = !this.active;
    this.#since = NaN;
    this.#flippedAt = now;
    return true;
  }

  /** Back to off, as if nothing had been seen. */
  reset(): void {
    this.active = false;
    this.value = NaN;
    this.#since = NaN;
  }

  /** Clock time of the last flip (NaN before any). */
  get changedAt(): number {
    return this.#flippedAt;
  }
}
