import { IntDeque } from './deque.js';
import { NumberMaxHeap } from './heap.js';

/** Longest remaining path values are clamped below this so that they pack into one number. */
export const PATH_SPAN = 2 ** 21;

/**
 * The order key of a ready operation: higher priority first, then the longer remaining
 * dependency path (critical path first), packed into one number so that a bucket is found
 * with one map lookup. For priorities from −512 to 511 the key is a small integer (a V8
 * "Smi": no allocation, cheap to hash); others still order correctly as plain numbers.
 * Priorities are integers within ±1e9, which keeps the product exact in a double.
 */
export function readyKey(priority: number, remainingPath: number): number {
  return (priority + 512) * PATH_SPAN + (remainingPath < PATH_SPAN ? remainingPath : PATH_SPAN - 1);
}

/**
 * A bucket queue: one FIFO per distinct key (arrival order within a key), and a heap of the
 * keys that have items. Push and pop are O(1) plus O(log k) for k distinct keys, whatever the
 * backlog; no sorted-array insert (p-queue #1) and nothing allocated per item.
 */
export class ReadyQueue {
  #buckets = new Map<number, IntDeque>();
  #keys = new NumberMaxHeap();
  #size = 0;
  #lastKey = NaN;
  #lastBucket: IntDeque | undefined;

  get size(): number {
    return this.#size;
  }

  /** Makes room for `extra` more items of `key` (a start-up batch). */
  reserve(key: number, extra: number): void {
    this.#bucket(key).reserve(extra);
  }

  /** Adds `id` behind everything of the same key. */
  push(id: number, key: number): void {
    const bucket = this.#bucket(key);
    if (bucket.size === 0) this.#keys.push(key);
    bucket.push(id);
    this.#size++;
  }

  /** Adds `id` ahead of everything of the same key (an item put back keeps its turn). */
  pushFront(id: number, key: number): void {
    const bucket = this.#bucket(key);
    if (bucket.size === 0) this.#keys.push(key);
    bucket.unshift(id);
    this.#size++;
  }

  /** The key of the next item, or `-Infinity` when empty. */
  peekKey(): number {
    return this.#keys.peek();
  }

  /** The next item, or -1 when empty. */
  peek(): number {
    if (this.#size === 0) return -1;
    return this.#buckets.get(this.#keys.peek())!.peek();
  }

  /** Removes and returns the next item, or -1 when empty. */
  pop(): number {
    if (this.#size === 0) return -1;
    const key = this.#keys.peek();
    const bucket = key === this.#lastKey ? this.#lastBucket! : this.#buckets.get(key)!;
    const id = bucket.shift();
    this.#size--;
    if (bucket.size === 0) {
      // The bucket object stays in the map for reuse; only its key leaves the heap.
      this.#keys.pop();
    }
    return id;
  }

  #bucket(key: number): IntDeque {
    let bucket = key === this.#lastKey ? this.#lastBucket : this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new IntDeque();
      this.#buckets.set(key, bucket);
    }
    this.#lastKey = key;
    this.#lastBucket = bucket;
    return bucket;
  }
}
