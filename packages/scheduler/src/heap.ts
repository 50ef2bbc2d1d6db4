/**
 * A binary min-heap of small integer ids keyed by a number, with O(log n) removal of any id.
 * Ids index typed arrays directly, so a push or removal allocates nothing.
 */
export class IndexedMinHeap {
  #heap: Int32Array;
  #size = 0;
  #keys: Float64Array;
  #pos: Int32Array;

  constructor(idCapacity = 64) {
    this.#heap = new Int32Array(16);
    this.#keys = new Float64Array(idCapacity);
    this.#pos = new Int32Array(idCapacity).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  has(id: number): boolean {
    return id < this.#pos.length && this.#pos[id]! >= 0;
  }

  /** The smallest key, or `Infinity` when empty. */
  peekKey(): number {
    return this.#size === 0 ? Infinity : this.#keys[this.#heap[0]!]!;
  }

  /** The id with the smallest key, or -1 when empty. */
  peek(): number {
    return this.#size === 0 ? -1 : this.#heap[0]!;
  }

  /** Inserts `id` with `key`, or moves it when already present. */
  set(id: number, key: number): void {
    this.#ensureId(id);
    const at = this.#pos[id]!;
    if (at >= 0) {
      const old = this.#keys[id]!;
      this.#keys[id] = key;
      if (key < old) this.#up(at);
      else this.#down(at);
      return;
    }
    if (this.#size === this.#heap.length) {
      const grown = new Int32Array(this.#heap.length * 2);
      grown.set(this.#heap);
      this.#heap = grown;
    }
    this.#keys[id] = key;
    this.#heap[this.#size] = id;
    this.#pos[id] = this.#size;
    this.#size++;
    this.#up(this.#size - 1);
  }

  /** Removes and returns the id with the smallest key, or -1 when empty. */
  pop(): number {
    if (this.#size === 0) return -1;
    const top = this.#heap[0]!;
    this.delete(top);
    return top;
  }

  delete(id: number): boolean {
    if (!this.has(id)) return false;
    const at = this.#pos[id]!;
    this.#pos[id] = -1;
    this.#size--;
    if (at === this.#size) return true;
    const last = this.#heap[this.#size]!;
    this.#heap[at] = last;
    this.#pos[last] = at;
    this.#up(at);
    this.#down(this.#pos[last]!);
    return true;
  }

  #ensureId(id: number): void {
    if (id < this.#pos.length) return;
    let length = this.#pos.length;
    while (length <= id) length *= 2;
    const keys = new Float64Array(length);
    keys.set(this.#keys);
    const pos = new Int32Array(length).fill(-1);
    pos.set(this.#pos);
    this.#keys = keys;
    this.#pos = pos;
  }

  #up(at: number): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const id = heap[at]!;
    const key = keys[id]!;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt]!;
      if (keys[parent]! <= key) break;
      heap[at] = parent;
      this.#pos[parent] = at;
      at = parentAt;
    }
    heap[at] = id;
    this.#pos[id] = at;
  }

  #down(at: number): void {
    const heap = this.#heap;
    const keys = this.#keys;
    const size = this.#size;
    const id = heap[at]!;
    const key = keys[id]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && keys[heap[right]!]! < keys[heap[left]!]!) child = right;
      const childId = heap[child]!;
      if (keys[childId]! >= key) break;
      heap[at] = childId;
      this.#pos[childId] = at;
      at = child;
    }
    heap[at] = id;
    this.#pos[id] = at;
  }
}

/** A binary max-heap of distinct numbers (the ready queue's bucket keys). */
export class NumberMaxHeap {
  #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The largest number, or `-Infinity` when empty. */
  peek(): number {
    return this.#items.length === 0 ? -Infinity : this.#items[0]!;
  }

  push(value: number): void {
    const items = this.#items;
    let at = items.length;
    items.push(value);
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt]!;
      if (parent >= value) break;
      items[at] = parent;
      at = parentAt;
    }
    items[at] = value;
  }

  pop(): number {
    const items = this.#items;
    if (items.length === 0) return -Infinity;
    const top = items[0]!;
    const last = items.pop()!;
    const size = items.length;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && items[right]! > items[left]!) child = right;
      if (items[child]! <= last) break;
      items[at] = items[child]!;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
