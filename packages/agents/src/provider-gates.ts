/**
 * Rate-limit pauses per provider. When one agent hears "rejected until 14:00" (Claude's
 * `rate_limit_event`, a 429, Anthropic's 529), every agent of that provider waits until then
 * instead of each failing on its own: the one that heard it relaunches after the pause, and
 * the others do not start their next launch before it. Each waiter adds its own jitter, so a
 * fleet does not come back in one burst at the reset. A pause is not a failure.
 */

/** A provider paused or resumed. */
export interface GateEvent {
  type: 'paused' | 'resumed';
  provider: string;
  /** Epoch ms the pause lasts until (without the waiters' jitter). */
  until: number;
  reason: string;
}

/** Options of {@link ProviderGates}. */
export interface ProviderGatesOptions {
  /**
   * Each waiter waits up to this share of the pause longer, drawn at random.
   * @default 0.1
   */
  jitterRatio?: number;
  /** Most jitter added, whatever the pause. @default 30_000 */
  maxJitterMs?: number;
  /** @default Math.random */
  random?: () => number;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
}

/** Sleeps `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The pauses of every provider of a run. */
export class ProviderGates {
  readonly #until = new Map<string, { until: number; reason: string }>();
  readonly #listeners = new Set<(event: GateEvent) => void>();
  readonly #jitterRatio: number;
  readonly #maxJitterMs: number;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(options: ProviderGatesOptions = {}) {
    this.#jitterRatio = options.jitterRatio ?? 0.1;
    this.#maxJitterMs = options.maxJitterMs ?? 30_000;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Calls `listener` on every pause and resume. Returns an unsubscribe. */
  on(listener: (event: GateEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Pauses `provider` until `until` (epoch ms); a later pause extends it, an earlier one changes nothing. */
  pause(provider: string, until: number, reason: string): void {
    const current = this.#until.get(provider);
    if (current !== undefined && current.until >= until) return;
    this.#until.set(provider, { until, reason });
    this.#emit({ type: 'paused', provider, until, reason });
  }

  /** When `provider`'s pause ends (epoch ms), or undefined when it is not paused. */
  pausedUntil(provider: string): number | undefined {
    const current = this.#until.get(provider);
    if (current === undefined) return undefined;
    if (current.until <= this.#now()) {
      this.#until.delete(provider);
      this.#emit({ type: 'resumed', provider, until: current.until, reason: current.reason });
      return undefined;
    }
    return current.until;
  }

  /**
   * Resolves once `provider` is not paused (at once when it is not), after this waiter's
   * jitter; a pause extended meanwhile is waited out too. Returns how long it waited.
   */
  async wait(provider: string, signal: AbortSignal): Promise<number> {
    const start = this.#now();
    let waited = false;
    for (;;) {
      const until = this.pausedUntil(provider);
      if (until === undefined) break;
      const left = until - this.#now();
      const jitter = Math.min(this.#maxJitterMs, this.#random() * this.#jitterRatio * left);
      waited = true;
      await sleep(left + jitter, signal);
    }
    return waited ? this.#now() - start : 0;
  }

  #emit(event: GateEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
