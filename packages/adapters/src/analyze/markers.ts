import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { isBinary } from './binary.js';
import type { Marker, MarkerKind, MarkersOutput, SkippedFile } from './output.js';
import { PROGRESS_EVERY } from './stats.js';

/** What the worker computes; the adapter adds discovery's part. */
export type MarkersResult = MarkersOutput;

/** Files larger than this are passed over (listed in `skipped`): a marker scan holds a whole file as a string. */
export const MAX_MARKER_FILE_BYTES = 32 * 1024 * 1024;
/** A marker's `text` is cut at this many UTF-16 code units (a TODO in a minified bundle). */
export const MAX_MARKER_TEXT = 500;

/**
 * Finds markers (upper-case, whole words: `TODO` but not `TODOS` or `todo`) in files, in
 * order, and stops at `maxMarkers` (`truncated` then says some were left). Lines end at `\n`,
 * so CRLF files report the same lines and columns as LF ones; a leading UTF-8 BOM is not
 * counted in columns. Every occurrence counts, in code and comments alike: telling comments
 * apart would need a parser per language.
 */
export function scanMarkers(files: readonly string[], kinds: readonly MarkerKind[], maxMarkers: number, progress?: (data: unknown) => void): MarkersResult {
  // One alternation, compiled once: V8's irregexp scans for the leading letters fast.
  const pattern = new RegExp(`\\b(?:${kinds.join('|')})\\b`, 'g');
  const markers: Marker[] = [];
  const skipped: SkippedFile[] = [];
  let scanned = 0;
  let binary = 0;
  let truncated = false;
  for (let n = 0; n < files.length && !truncated; n++) {
    const path = files[n]!;
    if (progress !== undefined && n > 0 && n % PROGRESS_EVERY === 0) progress({ analyzer: 'markers', done: n, total: files.length, markers: markers.length });
    let bytes: Buffer;
    try {
      bytes = readSmallFile(path);
    } catch (error) {
      skipped.push({ path, reason: (error as Error).message });
      continue;
    }
    if (isBinary(bytes)) {
      binary++;
      continue;
    }
    scanned++;
    truncated = scanText(path, bytes.toString('utf8'), pattern, markers, maxMarkers);
  }
  return { analyzer: 'markers', markers, truncated, files: scanned, binary, skipped };
}

/** Appends the markers of one file; returns true when one more was found than `maxMarkers` allows. */
function scanText(path: string, raw: string, pattern: RegExp, markers: Marker[], maxMarkers: number): boolean {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  let line = 1;
  let lineStart = 0;
  let nextNewline = text.indexOf('\n');
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const at = match.index;
    // Newlines are walked forward only, so a file costs O(length) whatever its marker count.
    while (nextNewline !== -1 && nextNewline < at) {
      line++;
      lineStart = nextNewline + 1;
      nextNewline = text.indexOf('\n', lineStart);
    }
    if (markers.length === maxMarkers) return true;
    const end = nextNewline === -1 ? text.length : nextNewline;
    markers.push({ path, line, column: at - lineStart + 1, kind: match[0] as MarkerKind, text: cut(text.slice(at, end).trimEnd()) });
  }
  return false;
}

function cut(text: string): string {
  if (text.length <= MAX_MARKER_TEXT) return text;
  // Do not split a surrogate pair at the cut.
  const end = (text.charCodeAt(MAX_MARKER_TEXT - 1) & 0xfc00) === 0xd800 ? MAX_MARKER_TEXT - 1 : MAX_MARKER_TEXT;
  return text.slice(0, end);
}

function readSmallFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_MARKER_FILE_BYTES) throw new Error(`${size} bytes, over the ${MAX_MARKER_FILE_BYTES}-byte limit of a marker scan`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
