/**
 * A growable ring buffer of int32 values: O(1) push and shift at both ends, no allocation per
 * item. The ready queue's buckets and the lock wait lists are made of these.
 */
export class IntDeque {
  #items: Int32Array;
  #head = 0;
  #size = 0;

  constructor(capacity = 16) {
    let length = 16;
    while (length < capacity) length *= 2;
    this.#items = new Int32Array(length);
  }

  get size(): number {
    return this.#size;
  }

  /** Makes room for `extra` more values at once, instead of doubling step by step. */
  reserve(extra: number): void {
    const needed = this.#size + extra;
    if (needed <= this.#items.length) return;
    let length = this.#items.length;
    while (length < needed) length *= 2;
    this.#grow(length);
  }

  push(value: number): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = value;
    this.#size++;
  }

  unshift(value: number): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = value;
    this.#size++;
  }

  /** Removes and returns the first value, or -1 when empty. */
  shift(): number {
    if (this.#size === 0) return -1;
    const value = this.#items[this.#head]!;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return value;
  }

  /** The first value, or -1 when empty. */
  peek(): number {
    return this.#size === 0 ? -1 : this.#items[this.#head]!;
  }

  clear(): void {
    this.#head = 0;
    this.#size = 0;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#head + i) & (this.#items.length - 1)]!;
  }

  #grow(length = this.#items.length * 2): void {
    const old = this.#items;
    const items = new Int32Array(length);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & (old.length - 1)]!;
    this.#items = items;
    this.#head = 0;
  }
}
