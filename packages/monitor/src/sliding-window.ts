/** Totals of a {@link SlidingWindow}. */
export interface WindowTotals {
  attempts: number;
  failures: number;
  /** Sum of the latencies of the attempts, in milliseconds. */
  latencyMs: number;
}

const BUCKETS = 10;

/**
 * Attempt outcomes over the last `windowMs`, in ten buckets: O(1) per attempt and per read,
 * fixed memory, and a window that slides in tenths rather than all at once.
 */
export class SlidingWindow {
  readonly #bucketMs: number;
  readonly #attempts = new Float64Array(BUCKETS);
  readonly #failures = new Float64Array(BUCKETS);
  readonly #latency = new Float64Array(BUCKETS);
  /** Index of the newest bucket's slot of time (time / bucketMs, floored). */
  #head = -Infinity;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / BUCKETS;
  }

  add(now: number, failed: boolean, latencyMs: number): void {
    const slot = this.#advance(now);
    this.#attempts[slot]!++;
    if (failed) this.#failures[slot]!++;
    this.#latency[slot]! += latencyMs;
  }

  totals(now: number): WindowTotals {
    this.#advance(now);
    let attempts = 0;
    let failures = 0;
    let latencyMs = 0;
    for (let i = 0; i < BUCKETS; i++) {
      attempts += this.#attempts[i]!;
      failures += this.#failures[i]!;
      latencyMs += this.#latency[i]!;
    }
    return { attempts, failures, latencyMs };
  }

  /** Clears the buckets that slid out of the window; returns the current slot of time. */
  #advance(now: number): number {
    const current = Math.floor(now / this.#bucketMs);
    if (current > this.#head) {
      for (let t = Math.max(this.#head + 1, current - BUCKETS + 1); t <= current; t++) {
        const slot = ((t % BUCKETS) + BUCKETS) % BUCKETS;
        this.#attempts[slot] = 0;
        this.#failures[slot] = 0;
        this.#latency[slot] = 0;
      }
      this.#head = current;
    }
    // A late event (its time before the newest slot) counts in the newest slot.
    return ((this.#head % BUCKETS) + BUCKETS) % BUCKETS;
  }
}
