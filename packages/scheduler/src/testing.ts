/**
 * Helpers for deterministic tests of code built on the scheduler: a manual clock and
 * deferred promises. Exported as `@fanout/scheduler/testing`.
 * @module
 */
import type { Clock, TimerHandle } from './clock.js';

interface ManualTimer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in deadline order (then in the order
 * they were set) as time is advanced.
 *
 * @example
 * const clock = new ManualClock();
 * const scheduler = createScheduler({ adapters, clock });
 * const run = scheduler.run(plan);
 * await clock.runUntil(run.result);
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];
  #wakeOnTimer: (() => void) | undefined;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), callback };
    // Keep the list sorted by deadline, then by creation; timers are few in these tests.
    let at = this.#timers.length;
    while (at > 0 && this.#timers[at - 1]!.at > timer.at) at--;
    this.#timers.splice(at, 0, timer);
    this.#wakeOnTimer?.();
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const at = this.#timers.findIndex((t) => t.id === handle);
    if (at >= 0) this.#timers.splice(at, 1);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Deadline of the next timer, or undefined. */
  get nextAt(): number | undefined {
    return this.#timers[0]?.at;
  }

  /** Moves time forward by `ms`, firing due timers in order (synchronously). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (next === undefined || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = target;
  }

  /**
   * Settles pending promise callbacks, then moves to each next timer in turn until `promise`
   * settles. Throws when the promise is still pending with no timer left to fire, after
   * `idleMs` (default 2000) of real time for any real I/O to finish (a hang).
   */
  async runUntil<T>(promise: Promise<T>, options: { maxSteps?: number; idleMs?: number } = {}): Promise<T> {
    let settled = false;
    const watched = promise.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    watched.catch(() => undefined);
    const maxSteps = options.maxSteps ?? 1_000_000;
    for (let step = 0; step < maxSteps; step++) {
      await flush();
      if (settled) return watched;
      const next = this.#timers[0];
      if (next === undefined) {
        // Nothing left on this clock: the promise may still wait on real I/O (a journal
        // write). Give it a real-time grace before calling it a hang.
        let grace: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          watched.catch(() => undefined),
          new Promise<void>((resolve) => {
            this.#wakeOnTimer = resolve;
          }),
          new Promise<void>((resolve) => {
            grace = setTimeout(resolve, options.idleMs ?? 2000);
          }),
        ]);
        clearTimeout(grace);
        this.#wakeOnTimer = undefined;
        if (settled) return watched;
        if (this.#timers.length > 0) continue;
        throw new Error('ManualClock.runUntil: the promise is still pending and no timer is left to fire');
      }
      this.advance(next.at - this.#now);
    }
    throw new Error(`ManualClock.runUntil: still pending after ${maxSteps} timer steps`);
  }
}

/** Lets every pending promise callback and I/O callback run (one macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
