/**
 * The search of one file's bytes, with ripgrep's line semantics: lines end at `\n`, a match
 * never crosses one, an empty match right after the previous match is skipped (the Rust
 * `regex` crate's iteration), line numbers are counted only up to the lines reported.
 *
 * Literals are searched as bytes (`literal-finder.ts`, no decoding at all); regular
 * expressions run over blocks of whole lines, each decoded the cheapest exact way
 * (`decode.ts`), so an ASCII block costs one `latin1` copy, and in other blocks only the lines
 * holding the pattern's required literal are decoded, when it has one.
 */
import { isAscii } from 'node:buffer';
import { asciiView, decodeView, jsonData, type TextView } from './decode.js';
import { LiteralFinder } from './literal-finder.js';
import { SUBMATCH_LIMIT, type RipgrepData, type RipgrepMessage, type RipgrepSubmatch } from './messages.js';
import type { MatcherSpec } from './pattern.js';
import type { SearchClock } from './regex-budget.js';
import { enableLinearFallback } from './regex-engine.js';

// Before any expression is compiled here: a runaway match on ASCII text then falls back to
// V8's linear-time engine (see `regex-engine.ts` and `ascii-pattern.ts`).
enableLinearFallback();

/** A compiled {@link MatcherSpec}. */
export interface Matcher {
  literal: LiteralFinder | undefined;
  regex: RegExp;
  /** The same search for pure-ASCII text, in legacy mode (V8 can fall back to linear time on it). */
  ascii: RegExp | undefined;
  /** `ascii` has line anchors: not for text holding a `\r` (the `m` flag's `$` stops there). */
  asciiAnchored: boolean;
  /** Bytes to find (case-sensitive), or a regular expression to run on `latin1` text (ASCII, case-insensitive). */
  prefilter: LiteralFinder | RegExp | undefined;
  /** Bytes of which every match holds one (see {@link MatcherSpec.anyOf}). */
  anyOf: Buffer[] | undefined;
}

export function compileMatcher(spec: MatcherSpec): Matcher {
  let prefilter: Matcher['prefilter'];
  if (spec.prefilter !== undefined) {
    const { literal, ignoreCase } = spec.prefilter;
    // Without the u flag, `i` folds ASCII letters to ASCII letters only: exact on ASCII bytes.
    prefilter = ignoreCase ? new RegExp(literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gi') : new LiteralFinder(Buffer.from(literal, 'utf8'));
  }
  const literal = spec.literal === undefined ? undefined : new LiteralFinder(Buffer.from(spec.literal, 'utf8'));
  const ascii = spec.ascii === undefined ? undefined : new RegExp(spec.ascii.source, 'gm');
  const anyOf = spec.anyOf?.map((text) => Buffer.from(text, 'utf8'));
  return { literal, regex: new RegExp(spec.source, spec.flags), ascii, asciiAnchored: spec.ascii?.anchored ?? false, prefilter, anyOf };
}

/** The expression for `view`: the ASCII one where it is exact (see {@link Matcher.ascii}). */
function regexFor(matcher: Matcher, view: TextView): RegExp {
  const ascii = matcher.ascii;
  if (ascii === undefined || !view.ascii) return matcher.regex;
  if (matcher.asciiAnchored && view.text.includes('\r')) return matcher.regex;
  return ascii;
}

/** What to report from one file. */
export type SearchMode = 'content' | 'count' | 'files';

export interface SearchLimits {
  /** Most matching lines to find before stopping. */
  maxLines: number;
  /** Lines of context before and after each matching line (content mode). */
  before: number;
  after: number;
  /** Keep the number of matches of each matching line (count mode, for exact trimming). */
  lineMatches: boolean;
  /** Counts match attempts and enforces the time budget (see `regex-budget.ts`). */
  clock?: SearchClock;
}

/** What the search of one buffer found. */
export interface BufferResult {
  matchedLines: number;
  matches: number;
  /** Content mode: the `match` and `context` messages, in order. */
  messages: RipgrepMessage[];
  /** The byte length of each message's line. */
  sizes: number[];
  /**
   * Matches on each matching line: in count mode with `lineMatches`; in content mode when a
   * line had more than {@link SUBMATCH_LIMIT} (its message lists only that many).
   */
  lineMatches: number[] | undefined;
  /** `maxLines` stopped the search before a further matching line. */
  limited: boolean;
}

/**
 * Lines are decoded for a regular expression in blocks of about this many bytes, cut after a
 * `\n`. Smaller blocks let more of a mostly-ASCII file take the `latin1` path (measured on
 * the TypeScript package: 76% of the bytes at 64 KiB, 71% at 256 KiB) while a block still
 * holds enough lines that the per-block cost vanishes.
 */
const BLOCK_BYTES = 64 * 1024;

interface Counted {
  lines: number;
  matches: number;
  /** `maxLines` stopped the search before a further matching line. */
  limited: boolean;
}

/**
 * Receives each matching line: its start, its end (after the `\n`), flat [start, end] pairs of
 * its first {@link SUBMATCH_LIMIT} matches and how many matches it has in all.
 */
type LineSink = (lineStart: number, lineEnd: number, spans: number[], count: number) => void;

function nextCodePoint(text: string, index: number): number {
  const unit = text.charCodeAt(index);
  if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
    const low = text.charCodeAt(index + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return index + 2;
  }
  return index + 1;
}

/**
 * Hands the buffer to `visit` as decoded segments of whole lines, in order, until it returns
 * false. Blocks of pure ASCII are one `latin1` segment (a plain copy). In other blocks, when
 * the pattern has a prefilter literal, only the lines holding it are decoded, each its own
 * segment, since UTF-8 decoding is what costs most here (V8 decodes it at about a third of
 * the speed it scans text; measured on the TypeScript package); without one, the block is cut
 * into its stretches of ASCII lines and the lines around its other bytes (`asciiStretches`).
 */
function forEachSegment(buffer: Buffer, prefilter: Matcher['prefilter'], visit: (view: TextView) => boolean): void {
  const n = buffer.length;
  if (prefilter instanceof LiteralFinder) prefilter.prepare(buffer);
  for (let start = 0; start < n; ) {
    const newline = start + BLOCK_BYTES >= n ? -1 : buffer.indexOf(10, start + BLOCK_BYTES);
    const end = newline === -1 ? n : newline + 1;
    if (isAscii(buffer.subarray(start, end))) {
      if (!visit(asciiView(buffer, start, end))) return;
    } else if (!(prefilter === undefined ? asciiStretches(buffer, start, end, visit) : candidateLines(buffer, start, end, prefilter, visit))) {
      return;
    }
    start = end;
  }
}

/**
 * Below this many bytes, a stretch of lines that is not all ASCII is decoded as one segment
 * rather than cut further: a segment costs a string and a search of its own.
 */
const MIN_SPLIT_BYTES = 256;

/**
 * Visits `buffer[start, end)` (whole lines, not all ASCII) as segments: its stretches of ASCII
 * lines in `latin1`, where the pattern's ASCII translation runs (see `ascii-pattern.ts`), and
 * the lines holding other bytes decoded, where the exact `v`-mode expression runs. A source
 * file with one `é` in a comment then costs the slow expression one line, not a whole block:
 * on TanStack Query's 2,200 files, 8% of the bytes were in blocks holding a non-ASCII byte,
 * 0.4% in lines holding one, and the `v`-mode word boundary (a lookbehind over Unicode
 * properties at every position) took most of a worker's time there. Cut by halves on line
 * boundaries (`isAscii` is a vectorised scan): a few cuts find the lines that need decoding.
 * False when `visit` stopped.
 */
function asciiStretches(buffer: Buffer, start: number, end: number, visit: (view: TextView) => boolean): boolean {
  if (isAscii(buffer.subarray(start, end))) return visit(asciiView(buffer, start, end));
  if (end - start >= MIN_SPLIT_BYTES) {
    // A line boundary near the middle: after the first `\n` from the middle on, or else after the last one before it.
    const middle = start + ((end - start) >> 1);
    let cut = buffer.indexOf(10, middle) + 1;
    if (cut === 0 || cut >= end) cut = buffer.lastIndexOf(10, middle - 1) + 1;
    if (cut > start && cut < end) return asciiStretches(buffer, start, cut, visit) && asciiStretches(buffer, cut, end, visit);
  }
  return visit(decodeView(buffer, start, end));
}

/** Visits each line of `buffer[start, end)` that holds the prefilter literal; false when `visit` stopped. */
function candidateLines(buffer: Buffer, start: number, end: number, prefilter: LiteralFinder | RegExp, visit: (view: TextView) => boolean): boolean {
  const block = buffer.subarray(start, end);
  const text = prefilter instanceof RegExp ? block.toString('latin1') : undefined;
  let from = 0;
  for (;;) {
    let at: number;
    if (text === undefined) {
      at = (prefilter as LiteralFinder).find(block, from);
    } else {
      (prefilter as RegExp).lastIndex = from;
      at = (prefilter as RegExp).exec(text)?.index ?? -1;
    }
    if (at === -1) return true;
    const lineStart = at === 0 ? 0 : block.lastIndexOf(10, at - 1) + 1;
    const newline = block.indexOf(10, at);
    const lineEnd = newline === -1 ? block.length : newline + 1;
    if (!visit(decodeView(buffer, start + lineStart, start + lineEnd))) return false;
    from = lineEnd;
  }
}

/** Counts matching lines and matches with a regular expression. */
function regexCount(buffer: Buffer, matcher: Matcher, maxLines: number, perLine: number[] | undefined, clock: SearchClock | undefined): Counted {
  let lines = 0;
  let matches = 0;
  let limited = false;
  forEachSegment(buffer, matcher.prefilter, (view) => {
    const text = view.text;
    const regex = regexFor(matcher, view);
    regex.lastIndex = 0;
    let lineEnd = -1;
    let previousEnd = -1;
    for (;;) {
      clock?.tick();
      const found = regex.exec(text);
      if (found === null) break;
      const at = found.index;
      const stop = at + found[0].length;
      if (stop === at) {
        if (at === previousEnd) {
          regex.lastIndex = nextCodePoint(text, at);
          continue;
        }
        // An empty match after the last line's `\n` is on no line.
        if (at === text.length && (at === 0 || text.charCodeAt(at - 1) === 10)) break;
        regex.lastIndex = nextCodePoint(text, at);
      }
      previousEnd = stop;
      if (at > lineEnd) {
        if (lines === maxLines) {
          limited = true;
          return false;
        }
        lines++;
        lineEnd = text.indexOf('\n', at);
        if (lineEnd === -1) lineEnd = text.length;
        perLine?.push(0);
      }
      matches++;
      if (perLine !== undefined) perLine[perLine.length - 1]!++;
    }
    return true;
  });
  return { lines, matches, limited };
}

/** Counts matching lines and matches of a literal, as bytes. */
function literalCount(buffer: Buffer, finder: LiteralFinder, maxLines: number, perLine: number[] | undefined): Counted {
  let lines = 0;
  let matches = 0;
  let lineEnd = -1;
  const n = buffer.length;
  const length = finder.needle.length;
  finder.prepare(buffer);
  for (let at = finder.find(buffer, 0); at !== -1; at = finder.find(buffer, at + length)) {
    if (at > lineEnd) {
      if (lines === maxLines) return { lines, matches, limited: true };
      lines++;
      lineEnd = buffer.indexOf(10, at);
      if (lineEnd === -1) lineEnd = n;
      perLine?.push(0);
    }
    matches++;
    if (perLine !== undefined) perLine[perLine.length - 1]!++;
  }
  return { lines, matches, limited: false };
}

/** Reports each matching line of a literal; true when `maxLines` stopped it before a further match. */
function literalLines(buffer: Buffer, finder: LiteralFinder, maxLines: number, sink: LineSink): boolean {
  let lines = 0;
  let lineStart = 0;
  let lineEnd = -1;
  let spans: number[] = [];
  let count = 0;
  const n = buffer.length;
  const length = finder.needle.length;
  finder.prepare(buffer);
  for (let at = finder.find(buffer, 0); at !== -1; at = finder.find(buffer, at + length)) {
    if (at > lineEnd) {
      if (count > 0) sink(lineStart, lineEnd === n ? n : lineEnd + 1, spans, count);
      spans = [];
      count = 0;
      if (lines === maxLines) return true;
      lines++;
      lineStart = at === 0 ? 0 : buffer.lastIndexOf(10, at - 1) + 1;
      lineEnd = buffer.indexOf(10, at);
      if (lineEnd === -1) lineEnd = n;
    }
    if (count++ < SUBMATCH_LIMIT) spans.push(at, at + length);
  }
  if (count > 0) sink(lineStart, lineEnd === n ? n : lineEnd + 1, spans, count);
  return false;
}

/** Reports each matching line of a regular expression, in bytes; true when `maxLines` stopped it. */
function regexLines(buffer: Buffer, matcher: Matcher, maxLines: number, sink: LineSink, clock: SearchClock | undefined): boolean {
  const n = buffer.length;
  let lines = 0;
  let limited = false;
  forEachSegment(buffer, matcher.prefilter, (view) => {
    const text = view.text;
    const regex = regexFor(matcher, view);
    let lineStart = 0;
    let lineEndByte = 0;
    let spans: number[] = [];
    let count = 0;
    regex.lastIndex = 0;
    let lineEnd = -1;
    let previousEnd = -1;
    for (;;) {
      clock?.tick();
      const found = regex.exec(text);
      if (found === null) break;
      const at = found.index;
      const stop = at + found[0].length;
      if (stop === at) {
        if (at === previousEnd) {
          regex.lastIndex = nextCodePoint(text, at);
          continue;
        }
        if (at === text.length && (at === 0 || text.charCodeAt(at - 1) === 10)) break;
        regex.lastIndex = nextCodePoint(text, at);
      }
      previousEnd = stop;
      if (at <= lineEnd && count >= SUBMATCH_LIMIT) {
        // Counted, not listed: no byte offsets needed (a line of 10 MB may have millions).
        count++;
        continue;
      }
      const atByte = view.byteAt(at);
      if (at > lineEnd) {
        if (count > 0) sink(lineStart, lineEndByte, spans, count);
        spans = [];
        count = 0;
        if (lines === maxLines) {
          limited = true;
          return false;
        }
        lines++;
        lineEnd = text.indexOf('\n', at);
        if (lineEnd === -1) lineEnd = text.length;
        lineStart = atByte === 0 ? 0 : buffer.lastIndexOf(10, atByte - 1) + 1;
        const newlineByte = buffer.indexOf(10, atByte);
        lineEndByte = newlineByte === -1 ? n : newlineByte + 1;
      }
      spans.push(atByte, stop === at ? atByte : view.byteAt(stop));
      count++;
    }
    if (count > 0) sink(lineStart, lineEndByte, spans, count);
    return true;
  });
  return limited;
}

/**
 * Turns matching lines into ripgrep's `match` and `context` messages: context lines before
 * and after each match (never twice, merged between close matches), line numbers counted
 * lazily from the last line reported.
 */
class ContentBuilder {
  readonly messages: RipgrepMessage[] = [];
  readonly sizes: number[] = [];
  matchedLines = 0;
  matches = 0;
  /** Matches per matching line, once one line had more than it lists (else undefined). */
  lineMatches: number[] | undefined;
  readonly #perLine: number[] = [];
  readonly #buffer: Buffer;
  readonly #path: RipgrepData;
  readonly #before: number;
  readonly #after: number;
  /** End of the last line reported (a line start). */
  #reported = 0;
  #afterLeft = 0;
  /** The line starting at `#numberedAt` has number `#number`. */
  #numberedAt = 0;
  #number = 1;

  constructor(buffer: Buffer, path: RipgrepData, before: number, after: number) {
    this.#buffer = buffer;
    this.#path = path;
    this.#before = before;
    this.#after = after;
  }

  readonly line: LineSink = (lineStart, lineEnd, spans, count) => {
    const buffer = this.#buffer;
    while (this.#afterLeft > 0 && this.#reported < lineStart) {
      this.#context(this.#reported, this.#lineEndAt(this.#reported));
      this.#afterLeft--;
    }
    let from = lineStart;
    for (let i = 0; i < this.#before && from > this.#reported; i++) from = from < 2 ? 0 : buffer.lastIndexOf(10, from - 2) + 1;
    while (from < lineStart) {
      const next = this.#lineEndAt(from);
      this.#context(from, next);
      from = next;
    }
    const submatches: RipgrepSubmatch[] = [];
    for (let i = 0; i < spans.length; i += 2) {
      const start = spans[i]!;
      const end = spans[i + 1]!;
      submatches.push({ match: jsonData(buffer, start, end), start: start - lineStart, end: end - lineStart });
    }
    this.messages.push({
      type: 'match',
      data: { path: this.#path, lines: jsonData(buffer, lineStart, lineEnd), line_number: this.#numberOf(lineStart), absolute_offset: lineStart, submatches },
    });
    this.sizes.push(lineEnd - lineStart);
    this.matchedLines++;
    this.matches += count;
    this.#perLine.push(count);
    if (count > spans.length / 2) this.lineMatches = this.#perLine;
    this.#reported = lineEnd;
    this.#afterLeft = this.#after;
  };

  /** Trailing context after the last match (also after a max count, as GNU grep does). */
  finish(): void {
    while (this.#afterLeft > 0 && this.#reported < this.#buffer.length) {
      this.#context(this.#reported, this.#lineEndAt(this.#reported));
      this.#afterLeft--;
    }
  }

  #lineEndAt(lineStart: number): number {
    const newline = this.#buffer.indexOf(10, lineStart);
    return newline === -1 ? this.#buffer.length : newline + 1;
  }

  #context(lineStart: number, lineEnd: number): void {
    this.messages.push({
      type: 'context',
      data: { path: this.#path, lines: jsonData(this.#buffer, lineStart, lineEnd), line_number: this.#numberOf(lineStart), absolute_offset: lineStart, submatches: [] },
    });
    this.sizes.push(lineEnd - lineStart);
    this.#reported = lineEnd;
  }

  /** Line numbers only ever move forward: count the `\n` since the last one asked for. */
  #numberOf(lineStart: number): number {
    const buffer = this.#buffer;
    let count = 0;
    for (let at = buffer.indexOf(10, this.#numberedAt); at !== -1 && at < lineStart; at = buffer.indexOf(10, at + 1)) count++;
    this.#number += count;
    this.#numberedAt = lineStart;
    return this.#number;
  }
}

/**
 * Searches `buffer` (one whole file) and reports what `mode` asks for: `files` stops at the
 * first match, `count` counts matching lines and matches, `content` builds the messages.
 */
export function searchBuffer(buffer: Buffer, matcher: Matcher, mode: SearchMode, limits: SearchLimits, path: RipgrepData): BufferResult {
  const maxLines = mode === 'files' ? Math.min(1, limits.maxLines) : limits.maxLines;
  if (mode !== 'content') {
    const perLine = mode === 'count' && limits.lineMatches ? [] : undefined;
    const { lines, matches, limited } = matcher.literal === undefined ? regexCount(buffer, matcher, maxLines, perLine, limits.clock) : literalCount(buffer, matcher.literal, maxLines, perLine);
    return { matchedLines: lines, matches, messages: [], sizes: [], lineMatches: perLine, limited };
  }
  const builder = new ContentBuilder(buffer, path, limits.before, limits.after);
  const limited = matcher.literal === undefined ? regexLines(buffer, matcher, maxLines, builder.line, limits.clock) : literalLines(buffer, matcher.literal, maxLines, builder.line);
  builder.finish();
  return { matchedLines: builder.matchedLines, matches: builder.matches, messages: builder.messages, sizes: builder.sizes, lineMatches: builder.lineMatches, limited };
}
