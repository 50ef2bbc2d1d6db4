import { compareEntries, type Entry } from './entry.js';

/**
 * The `k` best entries in ranking order, in O(n + k log k) for distinct confidences: the
 * k-th smallest miss value is found by quickselect (Hoare's FIND) over a typed array, the
 * entries under it are all in, and only those equal to it (often many: entries found by one
 * operation of one kind share a confidence) compete for the places left, through a bounded
 * heap on the remaining ranking keys.
 */
export function topEntries(all: Entry[], k: number): Entry[] {
  if (k <= 0) return [];
  if (all.length <= k) return all.slice().sort(compareEntries);
  const misses = new Int32Array(all.length);
  for (let i = 0; i < all.length; i++) misses[i] = all[i]!.missFx;
  const threshold = select(misses, k - 1);
  const head: Entry[] = [];
  const ties: Entry[] = [];
  for (const entry of all) {
    const m = entry.missFx;
    if (m < threshold) head.push(entry);
    else if (m === threshold) ties.push(entry);
  }
  const room = k - head.length;
  if (ties.length <= room) head.push(...ties);
  else head.push(...best(ties, room));
  return head.sort(compareEntries);
}

/** The `k` best of `entries` by a bounded binary heap whose root is the worst kept. */
function best(entries: Entry[], k: number): Entry[] {
  const heap: Entry[] = [];
  const worse = (a: Entry, b: Entry): boolean => compareEntries(a, b) > 0;
  for (const entry of entries) {
    if (heap.length < k) {
      let i = heap.push(entry) - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(entry, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = entry;
    } else if (worse(heap[0]!, entry)) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= k) break;
        if (child + 1 < k && worse(heap[child + 1]!, heap[child]!)) child++;
        if (!worse(heap[child]!, entry)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = entry;
    }
  }
  return heap;
}

/** The value that would be at index `k` if `values` were sorted (reorders `values`). */
function select(values: Int32Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}
