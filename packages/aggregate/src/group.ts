import { Entry, LineEntry, type EntryFields } from './entry.js';
import { hash2, HyperLogLog } from './hyperloglog.js';

/** Share of `maxEntries` a compaction keeps: room for a quarter more before the next one. */
const KEEP = 0.75;

/**
 * The deduplicated entries of one type of result (files, URLs…), bounded in memory.
 *
 * While it holds fewer than `maxEntries` entries every key is kept and every count is exact.
 * Past that, it keeps the strongest three quarters and forgets the rest (a batch eviction:
 * amortised O(1) per entry, no heap to maintain on the hot path). From then on the number of
 * distinct keys is estimated by a HyperLogLog fed every key ever created, and a key seen
 * again after it was forgotten starts afresh: the report says so.
 */
export class Group {
  readonly type: string;
  readonly maxEntries: number;
  /** Sightings, duplicates included (not counting sightings through a related item). */
  seen = 0;
  /** Sightings of a key already held. */
  duplicates = 0;
  /** Entries created, re-creations of forgotten keys included. */
  created = 0;
  /** Entries forgotten to stay within `maxEntries`. */
  evicted = 0;
  /** The highest confidence among forgotten entries. */
  evictedAtMost = 0;
  /** Changes whenever entries may have been dropped or moved: cached entries are stale. */
  epoch = 0;
  protected hll: HyperLogLog | undefined;
  protected order = 0;
  readonly #entries = new Map<string, Entry>();

  constructor(type: string, maxEntries: number) {
    this.type = type;
    this.maxEntries = maxEntries;
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Distinct keys seen: exact until something was forgotten, then estimated. */
  get distinct(): number {
    return this.hll === undefined ? this.created : Math.max(this.hll.estimate(), this.size);
  }

  /** False once entries were forgotten (and `distinct` is an estimate). */
  get exact(): boolean {
    return this.hll === undefined;
  }

  get(key: string): Entry | undefined {
    return this.#entries.get(key);
  }

  values(): IterableIterator<Entry> {
    return this.#entries.values();
  }

  /** Every entry held, in a new array. */
  list(): Entry[] {
    return Array.from(this.#entries.values());
  }

  /** A new entry for `key` (the caller checked it is absent). */
  create(key: string, fields: EntryFields): Entry {
    this.admit();
    const entry = new Entry(key, fields, this.order++);
    this.#entries.set(key, entry);
    this.hll?.add(key);
    return entry;
  }

  /** Re-keys an entry (a real path found at report time), merging into one already there. */
  rekey(entry: Entry, fields: EntryFields, key: string): Entry {
    this.epoch++;
    this.remove(entry);
    const existing = this.get(key);
    if (existing !== undefined) {
      existing.absorb(entry);
      return existing;
    }
    const moved = this.place(key, fields, entry.order);
    moved.absorb(entry);
    return moved;
  }

  /** Makes and holds the entry of a key taken over by {@link rekey}, keeping its arrival order. */
  protected place(key: string, fields: EntryFields, order: number): Entry {
    const entry = new Entry(key, fields, order);
    this.#entries.set(key, entry);
    return entry;
  }

  protected remove(entry: Entry): void {
    this.#entries.delete(entry.key);
  }

  /** Feeds the estimator one entry's key (its two hashes). */
  protected count(entry: Entry): void {
    this.hll!.add(entry.key);
  }

  /** Makes room for one more entry, compacting when full, and counts it created. */
  protected admit(): void {
    if (this.size >= this.maxEntries) this.#compact();
    this.created++;
  }

  #compact(): void {
    this.epoch++;
    if (this.hll === undefined) {
      this.hll = new HyperLogLog();
      for (const entry of this.values()) this.count(entry);
    }
    const size = this.size;
    const keep = Math.max(1, Math.floor(this.maxEntries * KEEP));
    const drop = size - keep;
    if (drop <= 0) return;
    // The miss value of the drop-th weakest entry is the threshold: all weaker ones go, and
    // among equals the newest go first (the oldest have had longer to gather agreement).
    const misses = new Int32Array(size);
    let i = 0;
    for (const entry of this.values()) misses[i++] = entry.missFx;
    misses.sort();
    const threshold = misses[keep]!; // ascending: index `keep` is the first one dropped
    const gone: Entry[] = [];
    const ties: Entry[] = [];
    for (const entry of this.values()) {
      if (entry.missFx > threshold) gone.push(entry);
      else if (entry.missFx === threshold) ties.push(entry);
    }
    for (let t = ties.length - 1; t >= 0 && gone.length < drop; t--) gone.push(ties[t]!);
    for (const entry of gone) {
      this.remove(entry);
      this.evicted++;
      const confidence = entry.confidence;
      if (confidence > this.evictedAtMost) this.evictedAtMost = confidence;
    }
  }
}

/** The lines of one file in a {@link LineGroup}, with the hashes of its path. */
export interface FileLines {
  readonly path: string;
  readonly lines: Map<number, LineEntry>;
  readonly h1: number;
  readonly h2: number;
}

/** fmix32 of MurmurHash3: spreads a line number mixed into a path hash over all bits. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The group of matching lines, keyed `path:line` but stored as path → line → entry: no key
 * string is built per match (grep outputs are mostly matches, and a key string is two
 * objects for the garbage collector), the line lookup is an integer one, and the path's
 * hashes for the distinct-count estimate are computed once per file.
 */
export class LineGroup extends Group {
  readonly #files = new Map<string, FileLines>();
  #size = 0;

  override get size(): number {
    return this.#size;
  }

  /** The lines of `path`, created empty if needed. */
  file(path: string): FileLines {
    let file = this.#files.get(path);
    if (file === undefined) {
      const [h1, h2] = hash2(path);
      file = { path, lines: new Map(), h1, h2 };
      this.#files.set(path, file);
    }
    return file;
  }

  /** A new line entry (the caller checked it is absent). */
  createLine(file: FileLines, line: number, text: string, column: number | undefined): LineEntry {
    this.admit();
    // Compaction may have dropped the file's last line and the file with it: put it back.
    if (this.#files.get(file.path) !== file) this.#files.set(file.path, file);
    const entry = new LineEntry(file.path, line, text, column, this.order++);
    file.lines.set(line, entry);
    this.#size++;
    if (this.hll !== undefined) this.#countLine(file, line);
    return entry;
  }

  override get(key: string): Entry | undefined {
    const colon = key.lastIndexOf(':');
    return this.#files.get(key.slice(0, colon))?.lines.get(Number(key.slice(colon + 1)));
  }

  override values(): IterableIterator<Entry> {
    return this.list().values();
  }

  // An array, not a generator: yield* over a hundred thousand entries costs several times more.
  override list(): Entry[] {
    const all: Entry[] = new Array<Entry>(this.#size);
    let i = 0;
    for (const file of this.#files.values()) for (const entry of file.lines.values()) all[i++] = entry;
    all.length = i;
    return all;
  }

  override create(key: string, fields: EntryFields): Entry {
    const colon = key.lastIndexOf(':');
    return this.createLine(this.file(key.slice(0, colon)), Number(key.slice(colon + 1)), fields.text ?? '', fields.column);
  }

  protected override place(key: string, fields: EntryFields, order: number): Entry {
    const colon = key.lastIndexOf(':');
    const file = this.file(key.slice(0, colon));
    const entry = new LineEntry(file.path, Number(key.slice(colon + 1)), fields.text ?? '', fields.column, order);
    file.lines.set(entry.line, entry);
    this.#size++;
    return entry;
  }

  protected override remove(entry: Entry): void {
    const line = entry as LineEntry;
    const file = this.#files.get(line.path);
    if (file === undefined || file.lines.get(line.line) !== line) return;
    file.lines.delete(line.line);
    this.#size--;
    if (file.lines.size === 0) this.#files.delete(line.path);
  }

  protected override count(entry: Entry): void {
    const line = entry as LineEntry;
    this.#countLine(this.file(line.path), line.line);
  }

  #countLine(file: FileLines, line: number): void {
    this.hll!.addHashes(fmix(file.h1 ^ Math.imul(line, 0x9e3779b1)), fmix(file.h2 + Math.imul(line, 0x85ebca77)));
  }
}
