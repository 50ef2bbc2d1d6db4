/**
 * Operation ids → their index. Duplicates are found with a bitmap filter over the ids'
 * hashes (see `duplicates`): about 10 ms for a million ids, against about 100 ms for inserting
 * them into a hash table and 300–500 ms for a `Map<string, number>` on Node 20 (measured while
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
    // A bitmap of about sixteen bits per id: an id whose bit is already set is suspect (a
    // duplicate, or about one in sixteen by chance). Only suspects get an exact check, so a
    // plan without duplicates costs one pass over a few megabytes, in cache.
    let bits = 10;
    while (bits < 28 && 2 ** bits < count * 16) bits++;
    const mask = 2 ** bits - 1;
    const seen = new Int32Array(2 ** (bits - 5));
    const twice = new Int32Array(2 ** (bits - 5));
    let suspects = 0;
    for (let i = 0; i < count; i++) {
      const h = hashes[i]! & mask;
      const bit = 1 << (h & 31);
      if ((seen[h >>> 5]! & bit) !== 0) {
        twice[h >>> 5]! |= bit;
        suspects++;
      } else seen[h >>> 5]! |= bit;
    }
    const found: [number, number][] = [];
    if (suspects === 0) return found;
    // The exact check: an open-addressing table keyed by the full hash, over the suspects only.
    let capacity = 16;
    while (capacity < suspects * 4) capacity *= 2;
    const slots = new Int32Array(capacity).fill(-1);
    const slotMask = capacity - 1;
    for (let i = 0; i < count; i++) {
      const h = hashes[i]! & mask;
      if ((twice[h >>> 5]! & (1 << (h & 31))) === 0) continue;
      const hash: number = hashes[i]!;
      const id = ids[i];
      for (let at: number = (hash ^ (hash >>> 16)) & slotMask; ; at = (at + 1) & slotMask) {
        const held = slots[at]!;
        if (held === -1) {
          slots[at] = i;
          break;
        }
        // Suspects go in in index order, so the one already held is the earlier.
        if (hashes[held] === hash && ids[held] === id) {
          found.push([i, held]);
          break;
        }
      }
    }
    return found;
  }

  /** Whether the lookup table exists yet. */
  get built(): boolean {
    return this.#table !== undefined;
  }

  /** Creates an empty lookup table sized for `expected` ids; then {@link insert} them. */
  start(expected: number): void {
    let capacity = 32;
    while (capacity < expected * 2) capacity *= 2;
    this.#table = new Int32Array(capacity * 2).fill(-1);
    this.#mask = capacity - 1;
    this.#count = 0;
  }

  /**
   * Records that `ids[index]` lives at `index` (`hash` is its `hashString`, when known).
   * Returns -1 when added, or the earlier index that holds the same id (which keeps it).
   */
  insert(index: number, hash = hashString(this.#ids[index]!)): number {
    if ((this.#count + 1) * 2 > this.#mask + 1) this.#rebuild();
    const table = this.#table!;
    const mask = this.#mask;
    const id = this.#ids[index];
    let at = (hash ^ (hash >>> 15)) & mask;
    for (;;) {
      const held = table[2 * at + 1]!;
      if (held === -1) {
        table[2 * at] = hash;
        table[2 * at + 1] = index;
        this.#count++;
        return -1;
      }
      if (table[2 * at] === hash && this.#ids[held] === id) return held;
      at = (at + 1) & mask;
    }
  }

  /** The index of `id`, or -1. Builds the table from every id on first use. */
  get(id: string): number {
    if (this.#table === undefined) {
      this.start(this.#ids.length);
      for (let i = 0; i < this.#ids.length; i++) this.insert(i);
    }
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
    if (this.#table !== undefined) this.insert(index); // else the table, when built, reads every id
  }

  #rebuild(): void {
    const old = this.#table!;
    this.start(Math.max(16, this.#count * 2));
    for (let at = 1; at < old.length; at += 2) {
      const held = old[at]!;
      if (held !== -1) this.insert(held, old[at - 1]!);
    }
  }
}

/**
 * FNV-1a over pairs of UTF-16 code units (half the multiplications of one unit at a time),
 * then a final mix (from MurmurHash3) so that every bit of the result is usable.
 */
export function hashString(value: string): number {
  const length = value.length;
  let hash = 0x811c9dc5 ^ length;
  let i = 0;
  for (; i + 1 < length; i += 2) hash = Math.imul(hash ^ ((value.charCodeAt(i) << 16) | value.charCodeAt(i + 1)), 0x01000193);
  if (i < length) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}
