import type { Clock, TimerHandle } from './clock.js';
import { IndexedMinHeap } from './heap.js';

/**
 * Deadlines for many ids on one real timer. Setting or clearing a deadline is a heap
 * operation; the real timer is re-armed only when the earliest deadline moves earlier, so a
 * million short attempts with timeouts cost no `setTimeout` each. When the timer fires early
 * (the deadline it was armed for was cleared), it simply re-arms for the next one.
 */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #heap = new IndexedMinHeap();
  readonly #onDue: (id: number) => void;
  #handle: TimerHandle | undefined;
  #armedFor = Infinity;

  constructor(clock: Clock, onDue: (id: number) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#heap.size;
  }

  /** Calls `onDue(id)` at clock time `at` (replacing any deadline `id` had). */
  set(id: number, at: number): void {
    this.#heap.set(id, at);
    if (at < this.#armedFor) this.#arm(at);
  }

  clear(id: number): void {
    this.#heap.delete(id);
    if (this.#heap.size === 0) this.#disarm();
  }

  /** Drops every deadline and the real timer. */
  stop(): void {
    while (this.#heap.size > 0) this.#heap.pop();
    this.#disarm();
  }

  #arm(at: number): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#armedFor = at;
    this.#handle = this.#clock.setTimeout(this.#fire, Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedFor = Infinity;
  }

  #fire = (): void => {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    const now = this.#clock.now();
    while (this.#heap.size > 0 && this.#heap.peekKey() <= now) {
      this.#onDue(this.#heap.pop());
    }
    if (this.#heap.size > 0 && this.#heap.peekKey() < this.#armedFor) this.#arm(this.#heap.peekKey());
  };
}
