/**
 * The `markers` analyzer, in two halves: {@link markersInFile} is the per-file work (it runs
 * where the file's bytes are, in a scan worker thread or on the main thread), and
 * {@link MarkersTally} keeps the first `maxMarkers` of them in tree order, on the main thread.
 */
import { isBinary } from './binary.js';
import type { Marker, MarkerKind, MarkersOutput, SkippedFile } from './output.js';

/** What the analysis computes; the adapter adds discovery's part. */
export type MarkersResult = MarkersOutput;

/** Files larger than this are passed over (listed in `skipped`): a marker scan holds a whole file as a string. */
export const MAX_MARKER_FILE_BYTES = 32 * 1024 * 1024;
/** A marker's `text` is cut at this many UTF-16 code units (a TODO in a minified bundle). */
export const MAX_MARKER_TEXT = 500;

/** What `markers` found in one file. */
export type MarkersFileOutcome =
  /** `more`: the file holds more markers than the `limit` it was scanned with. */
  { status: 'scanned'; markers: Marker[]; more: boolean } | { status: 'binary' } | { status: 'skipped'; reason: string };

/** The reason a file over {@link MAX_MARKER_FILE_BYTES} is passed over. */
export function tooLargeForMarkers(size: number): string {
  return `${size} bytes, over the ${MAX_MARKER_FILE_BYTES}-byte limit of a marker scan`;
}

/** A compiled marker search: one alternation (V8's irregexp scans for the leading letters fast), and the kinds as bytes. */
export interface MarkerPattern {
  regex: RegExp;
  needles: Buffer[];
}

export function markerPattern(kinds: readonly MarkerKind[]): MarkerPattern {
  return { regex: new RegExp(`\\b(?:${kinds.join('|')})\\b`, 'g'), needles: kinds.map((kind) => Buffer.from(kind, 'latin1')) };
}

/**
 * Finds the markers of one file (upper case, whole words: `TODO` but not `TODOS` or `todo`),
 * in order, at most `limit` of them (`more` then says whether there were others). Lines end at
 * `\n`, so CRLF files report the same lines and columns as LF ones; a leading UTF-8 BOM is
 * not counted in columns. Every occurrence counts, in code and comments alike: telling
 * comments apart would need a parser per language.
 */
export function markersInFile(path: string, bytes: Buffer, pattern: MarkerPattern, limit: number): MarkersFileOutcome {
  if (isBinary(bytes)) return { status: 'binary' };
  // Most files hold no marker at all: a byte search for each kind spares decoding them.
  if (!pattern.needles.some((needle) => bytes.includes(needle))) return { status: 'scanned', markers: [], more: false };
  const raw = bytes.toString('utf8');
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const markers: Marker[] = [];
  const regex = pattern.regex;
  let line = 1;
  let lineStart = 0;
  let nextNewline = text.indexOf('\n');
  regex.lastIndex = 0;
  for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
    const at = match.index;
    // Newlines are walked forward only, so a file costs O(length) whatever its marker count.
    while (nextNewline !== -1 && nextNewline < at) {
      line++;
      lineStart = nextNewline + 1;
      nextNewline = text.indexOf('\n', lineStart);
    }
    if (markers.length === limit) return { status: 'scanned', markers, more: true };
    const end = nextNewline === -1 ? text.length : nextNewline;
    markers.push({ path, line, column: at - lineStart + 1, kind: match[0] as MarkerKind, text: cut(text.slice(at, end).trimEnd()) });
  }
  return { status: 'scanned', markers, more: false };
}

function cut(text: string): string {
  if (text.length <= MAX_MARKER_TEXT) return text;
  // Do not split a surrogate pair at the cut.
  const end = (text.charCodeAt(MAX_MARKER_TEXT - 1) & 0xfc00) === 0xd800 ? MAX_MARKER_TEXT - 1 : MAX_MARKER_TEXT;
  return text.slice(0, end);
}

/**
 * Takes files' markers in tree order and keeps the first `maxMarkers`; once one more is
 * found, the output says `truncated` and no further file counts (not even in `files`).
 */
export class MarkersTally {
  readonly #maxMarkers: number;
  readonly #markers: Marker[] = [];
  readonly #skipped: SkippedFile[] = [];
  #scanned = 0;
  #binary = 0;
  #files = 0;
  /** More markers were found than `maxMarkers`: the tally takes nothing more. */
  truncated = false;

  constructor(maxMarkers: number) {
    this.#maxMarkers = maxMarkers;
  }

  /** Markers a file may still contribute before the cap: what a file needs to be scanned for. */
  get remaining(): number {
    return this.truncated ? 0 : this.#maxMarkers - this.#markers.length;
  }

  /** Markers kept so far. */
  get count(): number {
    return this.#markers.length;
  }

  /** Files added so far. */
  get files(): number {
    return this.#files;
  }

  /** Adds one file's outcome; returns true once the cap has been passed. */
  add(path: string, outcome: MarkersFileOutcome): boolean {
    if (this.truncated) return true;
    this.#files++;
    if (outcome.status === 'skipped') {
      this.#skipped.push({ path, reason: outcome.reason });
      return false;
    }
    if (outcome.status === 'binary') {
      this.#binary++;
      return false;
    }
    this.#scanned++;
    const left = this.#maxMarkers - this.#markers.length;
    const found = outcome.markers;
    for (let i = 0; i < found.length && i < left; i++) this.#markers.push(found[i]!);
    if (found.length > left || outcome.more) this.truncated = true;
    return this.truncated;
  }

  result(): MarkersResult {
    return { analyzer: 'markers', markers: [...this.#markers], truncated: this.truncated, files: this.#scanned, binary: this.#binary, skipped: [...this.#skipped] };
  }
}
