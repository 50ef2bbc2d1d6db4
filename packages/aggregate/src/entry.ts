/**
 * What is known about one result besides its identity. Which fields are set depends on the
 * group: `path`/`line`/`text` for matches, `url`/`title`/`snippet` for URLs, and so on (see
 * the report schema). Custom extractors put their own fields under `data`.
 */
export interface EntryFields {
  /** A one-line description, for custom items. */
  label?: string;
  path?: string;
  line?: number;
  column?: number;
  /** The matched line, a marker's text. */
  text?: string;
  url?: string;
  title?: string;
  snippet?: string;
  domain?: string;
  /** HTTP status of a fetch. */
  status?: number;
  /** Where a fetch ended after redirects, when not at `url`. */
  finalUrl?: string;
  /** Best search rank seen (1 is the top). */
  bestRank?: number;
  providers?: string[];
  queries?: string[];
  /** TODO, FIXME, HACK or XXX. */
  tag?: string;
  query?: string;
  /** Matches found in a file, URLs seen on a domain, results of a query. */
  count?: number;
  /** Markers found in a file. */
  markers?: number;
  bytes?: number;
  command?: string;
  exitCode?: number | null;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
  mode?: string;
  created?: boolean;
  files?: number;
  lines?: number;
  languages?: Record<string, { files: number; lines: number; bytes: number }>;
  truncated?: boolean;
  data?: Record<string, unknown>;
}

/** Stored sightings per entry (for the explanation); later ones are counted, not kept. */
export const MAX_EVIDENCE = 16;
const STRIDE = 4; // source, weight, aux, count
const NOT_STORED = -2;
const INLINE = -1;
/*
 * Numbers are kept as small integers: a double field is a separate heap box in V8, and a
 * hundred thousand entries with a few boxes each is what the garbage collector spends its
 * time copying. Weights are in millionths; the product Π (1 − wᵢ) is in 2⁻³⁰ steps (its
 * products stay below 2⁵³, so they are exact before rounding; ~1e-9 is far below the
 * three decimals a report shows).
 */
const UNIT = 1_000_000;
const ONE = 2 ** 30;
const toUnits = (weight: number): number => Math.round(weight * UNIT) | 0;

/** One stored sighting of an entry. */
export interface Sighting {
  source: number;
  weight: number;
  aux: number;
  count: number;
}

/**
 * One deduplicated result and the evidence for it.
 *
 * Confidence combines the operations that agree by noisy-OR, `1 − Π (1 − wᵢ)` over distinct
 * operations (each at its strongest sighting), the rule of independent evidence that
 * probabilistic IR and Bayesian networks use: every agreeing operation raises it, none can
 * lower it, and it stays below 1.
 *
 * One operation's items are ingested in one go, so sightings from one operation reach an
 * entry consecutively: comparing with the last source tells a new operation from a repeat
 * exactly, in O(1), however many operations agree.
 *
 * Most entries are reached by one operation: its sighting is stored in the entry's own
 * fields, and an array is allocated only for the second (a hundred thousand entries, a
 * hundred thousand arrays fewer for the garbage collector).
 */
export class Entry {
  /** Position of first sighting, for stable ordering. */
  readonly order: number;
  /** Π (1 − wᵢ) over distinct sources, in 2⁻³⁰ steps. */
  #missFx = ONE;
  /** Distinct operations that reached it. */
  sources = 0;
  /** Sightings, repeats included. */
  hits = 0;
  lastSource = -1;
  /** The last source's weight, in millionths. */
  #lastUnits = 0;
  /** Where the last source's sighting is stored: INLINE, an offset into `more`, or NOT_STORED. */
  #lastSlot = NOT_STORED;
  #source0 = -1;
  #units0 = 0;
  #aux0 = 0;
  #count0 = 0;
  /** Flat quadruples (source, weight, aux, count) of the 2nd to 16th sources. */
  #more: number[] | undefined = undefined;

  readonly #key: string;
  readonly #fields: EntryFields;

  constructor(key: string, fields: EntryFields, order: number) {
    this.#key = key;
    this.#fields = fields;
    this.order = order;
  }

  /** Normalised identity within its group. */
  get key(): string {
    return this.#key;
  }

  /** What is known about the result (mutable: extractors add counts as they go). */
  get fields(): EntryFields {
    return this.#fields;
  }

  /** 1 − Π (1 − wᵢ), in [0, 1). */
  get confidence(): number {
    return 1 - this.#missFx / ONE;
  }

  /** Π (1 − wᵢ): the chance every agreeing operation is wrong, if they are independent. */
  get miss(): number {
    return this.#missFx / ONE;
  }

  /** {@link miss} as an integer (2⁻³⁰ steps): exact comparisons for ranking and eviction. */
  get missFx(): number {
    return this.#missFx;
  }

  #scale(keepUnits: number, dropUnits: number): void {
    this.#missFx = Math.round((this.#missFx * (UNIT - keepUnits)) / (UNIT - dropUnits)) | 0;
  }

  /** Sightings stored (at most {@link MAX_EVIDENCE}). */
  get stored(): number {
    return this.#source0 === -1 ? 0 : 1 + (this.#more === undefined ? 0 : this.#more.length / STRIDE);
  }

  /**
   * Records a sighting by operation `source` with `weight` in (0, 1). `aux` is kept from the
   * first sighting of each source (a search rank, an HTTP status). Returns true when the
   * source is new to this entry.
   */
  hit(source: number, weight: number, aux: number): boolean {
    this.hits++;
    const units = toUnits(weight);
    if (source === this.lastSource) {
      const slot = this.#lastSlot;
      const raise = units > this.#lastUnits;
      if (raise) {
        this.#scale(units, this.#lastUnits);
        this.#lastUnits = units;
      }
      if (slot === INLINE) {
        this.#count0++;
        if (raise) this.#units0 = units;
      } else if (slot >= 0) {
        const more = this.#more!;
        more[slot + 3]!++;
        if (raise) more[slot + 1] = units;
      }
      return false;
    }
    this.sources++;
    this.#scale(units, 0);
    this.lastSource = source;
    this.#lastUnits = units;
    this.#store(source, units, aux, 1);
    return true;
  }

  #store(source: number, units: number, aux: number, count: number): void {
    if (this.#source0 === -1) {
      this.#source0 = source;
      this.#units0 = units;
      this.#aux0 = aux;
      this.#count0 = count;
      this.#lastSlot = INLINE;
      return;
    }
    const more = (this.#more ??= []);
    if (more.length < (MAX_EVIDENCE - 1) * STRIDE) {
      this.#lastSlot = more.length;
      more.push(source, units, aux, count);
    } else {
      this.#lastSlot = NOT_STORED;
    }
  }

  /**
   * Takes in another entry's evidence (two paths that turned out to be one file). Sources
   * both stored are counted once; beyond the stored ones, overlap cannot be known and the
   * larger count is kept.
   */
  absorb(other: Entry): void {
    this.hits += other.hits;
    const mine = new Map<number, Sighting>();
    for (const s of this.sightings()) mine.set(s.source, s);
    let added = 0;
    const updates: Sighting[] = [];
    for (const s of other.sightings()) {
      const have = mine.get(s.source);
      if (have === undefined) {
        this.#scale(toUnits(s.weight), 0);
        added++;
        this.#store(s.source, toUnits(s.weight), s.aux, s.count);
      } else {
        if (s.weight > have.weight) this.#scale(toUnits(s.weight), toUnits(have.weight));
        updates.push({ source: s.source, weight: Math.max(s.weight, have.weight), aux: have.aux, count: have.count + s.count });
      }
    }
    for (const u of updates) this.#update(u);
    this.sources = Math.max(this.sources + added, other.sources);
    this.lastSource = -1;
    this.#lastSlot = NOT_STORED;
  }

  #update(s: Sighting): void {
    if (this.#source0 === s.source) {
      this.#units0 = toUnits(s.weight);
      this.#count0 = s.count;
      return;
    }
    const more = this.#more ?? [];
    for (let i = 0; i < more.length; i += STRIDE) {
      if (more[i] === s.source) {
        more[i + 1] = toUnits(s.weight);
        more[i + 3] = s.count;
      }
    }
  }

  /** Each stored sighting: which operation, how strong, its aux value and how many times. */
  sightings(): Sighting[] {
    if (this.#source0 === -1) return [];
    const out: Sighting[] = [{ source: this.#source0, weight: this.#units0 / UNIT, aux: this.#aux0, count: this.#count0 }];
    const more = this.#more;
    if (more !== undefined) for (let i = 0; i < more.length; i += STRIDE) out.push({ source: more[i]!, weight: more[i + 1]! / UNIT, aux: more[i + 2]!, count: more[i + 3]! });
    return out;
  }
}

/**
 * A matching line, the bulk of most aggregations: path, line, text and column are its own
 * fields and its key is made only when asked (a report lists a few hundred of them), so a
 * match costs one object besides the input it came from.
 */
export class LineEntry extends Entry {
  readonly path: string;
  readonly line: number;
  readonly text: string;
  readonly column: number | undefined;

  constructor(path: string, line: number, text: string, column: number | undefined, order: number) {
    super('', NO_FIELDS, order);
    this.path = path;
    this.line = line;
    this.text = text;
    this.column = column;
  }

  override get key(): string {
    return `${this.path}:${this.line}`;
  }

  /** A fresh object on every call: nothing writes to a match's fields. */
  override get fields(): EntryFields {
    const fields: EntryFields = { path: this.path, line: this.line, text: this.text };
    if (this.column !== undefined) fields.column = this.column;
    return fields;
  }
}

const NO_FIELDS: EntryFields = Object.freeze({});

/**
 * Ranking order: higher confidence, then more agreeing operations, then more sightings,
 * then first seen. Negative when `a` ranks before `b`.
 */
export function compareEntries(a: Entry, b: Entry): number {
  const am = a.missFx;
  const bm = b.missFx;
  if (am !== bm) return am < bm ? -1 : 1;
  return b.sources - a.sources || b.hits - a.hits || a.order - b.order;
}
