/**
 * Reads `rg --json`'s stream: splits it into lines, gathers each file's `begin` … `end` and
 * turns it into the {@link FileOutcome} the built-in engine would have given for the same
 * file, so both engines share one collector (`collect.ts`: walk order, caps, totals).
 *
 * Where ripgrep's own messages differ from what the built-in engine reports, they are brought
 * to the built-in engine's (which are ripgrep's semantics without its accidents):
 * - paths: the built-in engine's absolute paths, which ripgrep prints too when given them;
 * - `bytes_printed`: counted over the messages as reported (ripgrep counts what it printed);
 * - a walked file whose `end` has a `binary_offset` (a NUL after its first matches): skipped
 *   as binary, as `rg -c` and the built-in engine do;
 * - `bytes_searched` is the size of the file's text (without a byte order mark) where ripgrep
 *   stopped reading early (a named binary file, `--max-count`, files mode): the built-in
 *   engine reads whole files, ripgrep gives a figure that depends on its read buffer;
 * - ripgrep 13 reports matching lines inside the trailing context after `--max-count` as
 *   matches (and counts them): they become context lines;
 * - empty matches inside a UTF-8 sequence (ripgrep 13 reports one at every byte offset for a
 *   pattern that can match nothing; the built-in engine and ripgrep 14 step by code point);
 * - at most {@link SUBMATCH_LIMIT} submatches per line.
 */
import { insideCodePoint } from './decode.js';
import type { FileOutcome } from './file.js';
import { printedBytes, SUBMATCH_LIMIT, type RipgrepData, type RipgrepEnd, type RipgrepLine, type RipgrepMessage } from './messages.js';
import type { SearchMode } from './search.js';

/**
 * Splits a byte stream into lines, handed over as `line[start, end)` of a buffer (most lines
 * are never decoded, see {@link RipgrepFiles.line}), without ever holding a line longer than
 * `limit` bytes: past it, `onTooLong` is called and the rest of that line is dropped as it
 * arrives.
 */
export class LineSplitter {
  readonly #limit: number;
  readonly #onLine: (line: Buffer, start: number, end: number) => void;
  readonly #onTooLong: () => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #dropping = false;

  constructor(limit: number, onLine: (line: Buffer, start: number, end: number) => void, onTooLong: () => void) {
    this.#limit = limit;
    this.#onLine = onLine;
    this.#onTooLong = onTooLong;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (this.#dropping) {
        this.#dropping = false;
      } else if (this.#pendingBytes + newline - start > this.#limit) {
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#onTooLong();
      } else if (this.#pendingBytes === 0) {
        this.#onLine(chunk, start, newline);
      } else {
        this.#pending.push(chunk.subarray(start, newline));
        const line = Buffer.concat(this.#pending);
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#onLine(line, 0, line.length);
      }
      start = newline + 1;
    }
    if (start === chunk.length || this.#dropping) return;
    if (this.#pendingBytes + chunk.length - start > this.#limit) {
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#dropping = true;
      this.#onTooLong();
      return;
    }
    // A copy: the stream may reuse its chunk.
    this.#pending.push(Buffer.from(chunk.subarray(start)));
    this.#pendingBytes += chunk.length - start;
  }
}

/** The start of each kind of line of `rg --json`, which always prints `type` first. */
const PREFIX = {
  match: Buffer.from('{"type":"match"'),
  context: Buffer.from('{"type":"context"'),
  begin: Buffer.from('{"type":"begin"'),
  end: Buffer.from('{"type":"end"'),
};
const START_KEY = Buffer.from('"start":');
/** How `rg --json` writes an empty submatch. */
const EMPTY_MATCH = Buffer.from('"match":{"text":""}');

function startsWith(line: Buffer, start: number, end: number, prefix: Buffer): boolean {
  return end - start >= prefix.length && line.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
}

/** How the files of one operation are reported. */
export interface RipgrepFilesOptions {
  mode: SearchMode;
  /** Most matching lines per file (`maxCount`). */
  maxCount: number;
  /** Keep each line's number of matches in count mode (a total cap may cut a file's count). */
  lineMatches: boolean;
  /** Files named in the input (their binary files are searched, as text). */
  named: ReadonlySet<string>;
  /** The size of a file's text as the built-in engine searches it (see `searchedSize`). */
  sizeOf(path: string): number;
  /** Paths already reported by an earlier run of the operation: skipped. */
  seen: Set<string>;
  /** The walk index of the next file. */
  nextIndex(): number;
  /** Each file's outcome, in ripgrep's (`--sort path`) order. */
  emit(outcome: FileOutcome): void;
}

interface OpenFile {
  path: string;
  begin: Extract<RipgrepMessage, { type: 'begin' }>;
  body: RipgrepMessage[];
  sizes: number[];
  perLine: number[];
  cut: boolean;
  skip: boolean;
}

/** Bytes of a `{text}` or `{bytes}` value. */
function byteLength(data: RipgrepData): number {
  if ('text' in data) return Buffer.byteLength(data.text);
  const padding = data.bytes.endsWith('==') ? 2 : data.bytes.endsWith('=') ? 1 : 0;
  return (data.bytes.length / 4) * 3 - padding;
}

function pathOf(data: { path: RipgrepData }): string {
  return 'text' in data.path ? data.path.text : Buffer.from(data.path.bytes, 'base64').toString('utf8');
}

/** Counts `"start":` keys: one per submatch (inside JSON strings a quote is always escaped). */
function submatchCount(line: Buffer, start: number, end: number): number {
  let count = 0;
  for (let at = line.indexOf(START_KEY, start); at !== -1 && at < end; at = line.indexOf(START_KEY, at + START_KEY.length)) count++;
  return count;
}

/** Gathers `rg --json` lines into file outcomes (see the module comment). */
export class RipgrepFiles {
  readonly #options: RipgrepFilesOptions;
  #file: OpenFile | undefined;

  constructor(options: RipgrepFilesOptions) {
    this.#options = options;
  }

  /** One line of `rg --json`, `line[start, end)`. */
  line(line: Buffer, start: number, end: number): void {
    // The common lines first, by their fixed start: what is not needed is never decoded.
    const match = startsWith(line, start, end, PREFIX.match);
    if (match || startsWith(line, start, end, PREFIX.context)) {
      const file = this.#file;
      if (file === undefined || file.skip) return;
      if (this.#options.mode !== 'content') {
        if (!match) return;
        // Counted without parsing, unless an empty match may need dropping (see #submatches).
        const empty = line.indexOf(EMPTY_MATCH, start);
        const count = empty !== -1 && empty < end ? this.#submatches(JSON.parse(line.toString('utf8', start, end)) as RipgrepMessage).length : submatchCount(line, start, end);
        if (count > 0) file.perLine.push(count);
        return;
      }
      this.#body(file, JSON.parse(line.toString('utf8', start, end)) as RipgrepMessage);
      return;
    }
    if (startsWith(line, start, end, PREFIX.begin)) {
      const begin = JSON.parse(line.toString('utf8', start, end)) as Extract<RipgrepMessage, { type: 'begin' }>;
      const path = pathOf(begin.data);
      const skip = this.#options.seen.has(path);
      this.#options.seen.add(path);
      this.#file = { path, begin, body: [], sizes: [], perLine: [], cut: false, skip };
      return;
    }
    if (startsWith(line, start, end, PREFIX.end)) {
      const file = this.#file;
      this.#file = undefined;
      if (file === undefined || file.skip) return;
      this.#end(file, JSON.parse(line.toString('utf8', start, end)) as RipgrepEnd);
    }
    // The summary: the collector makes its own.
  }

  /** The file whose lines are being read, if any (for a line too long to read). */
  get current(): string | undefined {
    return this.#file?.path;
  }

  /** The submatches of a match message, without empty ones inside a UTF-8 sequence. */
  #submatches(message: RipgrepMessage): RipgrepLine['submatches'] {
    const data = message.data as RipgrepLine;
    if (!data.submatches.some((sub) => sub.start === sub.end && sub.start > 0)) return data.submatches;
    const bytes = 'text' in data.lines ? Buffer.from(data.lines.text) : Buffer.from(data.lines.bytes, 'base64');
    return data.submatches.filter((sub) => sub.start !== sub.end || !insideCodePoint(bytes, sub.start));
  }

  #body(file: OpenFile, message: RipgrepMessage): void {
    const data = message.data as RipgrepLine;
    if (message.type === 'match') data.submatches = this.#submatches(message);
    // A line whose only matches were empty ones inside a UTF-8 sequence does not match.
    if (message.type === 'match' && data.submatches.length === 0) message = { type: 'context', data };
    if (message.type === 'match' && file.perLine.length >= this.#options.maxCount) {
      // ripgrep 13 reports a matching line inside the trailing context after --max-count as a
      // match; the built-in engine (and GNU grep) as context.
      message = { type: 'context', data: { ...data, submatches: [] } };
    } else if (message.type === 'match') {
      const count = data.submatches.length;
      file.perLine.push(count);
      if (count > SUBMATCH_LIMIT) {
        file.cut = true;
        data.submatches = data.submatches.slice(0, SUBMATCH_LIMIT);
      }
    }
    file.body.push(message);
    file.sizes.push(byteLength(data.lines));
  }

  #end(file: OpenFile, end: RipgrepEnd): void {
    const options = this.#options;
    const index = options.nextIndex();
    const stats = end.data.stats;
    if (end.data.binary_offset !== null && !options.named.has(file.path)) {
      options.emit({ index, status: 'binary', bytes: stats.bytes_searched });
      return;
    }
    const early = end.data.binary_offset !== null || options.mode === 'files' || stats.matched_lines >= options.maxCount;
    const bytes = early ? options.sizeOf(file.path) : stats.bytes_searched;
    const elapsedNs = stats.elapsed.secs * 1e9 + stats.elapsed.nanos;
    // The lines as reported decide the counts (see #body and line).
    const content = options.mode === 'content';
    const matchedLines = file.perLine.length;
    const matches = file.perLine.reduce((sum, n) => sum + n, 0);
    if (matchedLines === 0) {
      options.emit({ index, status: 'searched', bytes, elapsedNs, matchedLines: 0, matches: 0, messages: [], sizes: [], lineMatches: undefined, more: false });
      return;
    }
    let printed = printedBytes(file.begin);
    for (const message of file.body) printed += printedBytes(message);
    const closing: RipgrepEnd = {
      type: 'end',
      data: {
        path: file.begin.data.path,
        binary_offset: end.data.binary_offset,
        stats: { elapsed: stats.elapsed, searches: 1, searches_with_match: 1, bytes_searched: bytes, bytes_printed: printed, matched_lines: matchedLines, matches },
      },
    };
    const lineMatches = content ? (file.cut ? file.perLine : undefined) : options.lineMatches ? file.perLine : undefined;
    options.emit({ index, status: 'searched', bytes, elapsedNs, matchedLines, matches, messages: [file.begin, ...file.body, closing], sizes: file.sizes, lineMatches, more: false });
  }
}
