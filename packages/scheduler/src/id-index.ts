/**
 * Operation ids → their index. Duplicates are found by radix-sorting the ids' hashes, which
 * reads memory in order: about 50 ms for a million ids, against about 100 ms for inserting them
 * into a hash table and 300–500 ms for a `Map<string, number>` on Node 20 (measured while
 * building the scheduler-noop benchmark). The lookup table, an open-addressing table over one
 * typed array, is built only when a lookup is first needed, so a flat batch never pays for it.
 */
export class IdIndex {
  readonly #ids: string[];
  #table: Int32Array | undefined;
  #mask = 0;
  #count = 0;

  /** `ids` is shared: ids appended later become visible through {@link add}. */
  constructor(ids: string[]) {
    this.#ids = ids;
  }

  /**
   * Pairs `[later, earlier]` of indexes below `count` that hold the same id, `earlier` being
   * the first index with that id. `hashes`, when given, holds `hashString` of each id.
   */
  static duplicates(ids: readonly string[], count: number, hashes?: Int32Array): [number, number][] {
    if (hashes === undefined) {
      hashes = new Int32Array(count);
      for (let i = 0; i < count; i++) hashes[i] = hashString(ids[i]!);
    }
    // Two stable counting-sort passes over 16-bit digits order the indexes by hash.
    const counts = new Int32Array(65537);
    const low = new Int32Array(count);
    for (let i = 0; i < count; i++) counts[(hashes[i]! & 0xffff) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    for (let i = 0; i < count; i++) low[counts[hashes[i]! & 0xffff]!++] = i;
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[(hashes[i]! >>> 16) + 1]!++;
    for (let d = 0; d < 65536; d++) counts[d + 1]! += counts[d]!;
    const order = new Int32Array(count);
    for (let j = 0; j < count; j++) {
      const i = low[j]!;
      order[counts[hashes[i]! >>> 16]!++] = i;
    }
    const found: [number, number][] = [];
    for (let j = 1; j < count; j++) {
      const hash = hashes[order[j]!]!;
      if (hashes[order[j - 1]!] !== hash) continue;
      // Within a run of equal hashes (stable, so in index order) compare with those before.
      const id = ids[order[j]!];
      for (let k = j - 1; k >= 0 && hashes[order[k]!] === hash; k--) {
        if (ids[order[k]!] === id) {
          let first = order[k]!;
          for (let m = k - 1; m >= 0 && hashes[order[m]!] === hash; m--) if (ids[order[m]!] === id) first = order[m]!;
          found.push([order[j]!, first]);
          break;
        }
      }
    }
    return found.sort((a, b) => a[0] - b[0]);
  }

  /** The index of `id`, or -1. */
  get(id: string): number {
    if (this.#table === undefined) this.#build();
    const table = this.#table!;
    const mask = this.#mask;
    const hash = hashString(id);
    let at = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const held = table[2 * at + 1]!;
      if (held === -1) return -1;
      if (table[2 * at] === hash && this.#ids[held] === id) return held;
      at = (at + 1) & mask;
    }
  }

  /** Makes `ids[index]` (appended after construction) findable; its id must be new. */
  add(index: number): void {
    if (this.#table === undefined) return; // the table, when built, reads every id
    this.#insert(index);
  }

  #build(): void {
    const count = this.#ids.length;
    let capacity = 32;
    while (capacity < count * 2) capacity *= 2;
    this.#table = new Int32Array(capacity * 2).fill(-1);
    this.#mask = capacity - 1;
    this.#count = 0;
    for (let i = 0; i < count; i++) this.#insert(i);
  }

  #insert(index: number): void {
    if ((this.#count + 1) * 2 > this.#mask + 1) {
      this.#table = undefined;
      this.#build();
      return;
    }
    const table = this.#table!;
    const mask = this.#mask;
    const id = this.#ids[index]!;
    const hash = hashString(id);
    let at = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const held = table[2 * at + 1]!;
      if (held === -1) {
        table[2 * at] = hash;
        table[2 * at + 1] = index;
        this.#count++;
        return;
      }
      // The first index keeps an id; a duplicate (only in an invalid plan) is not inserted.
      if (table[2 * at] === hash && this.#ids[held] === id) return;
      at = (at + 1) & mask;
    }
  }
}

/** FNV-1a over UTF-16 code units, then a final mix so that the low bits are usable. */
export function hashString(value: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  return hash ^ (hash >>> 13);
}
