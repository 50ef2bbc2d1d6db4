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

/** Where a line of `rg --json` says what it is: `{"type":"` is 9 bytes, then `b`egin, `m`atch, `c`ontext, `e`nd, `s`ummary. */
const TYPE_AT = 9;

/**
 * Splits a byte stream into lines, handed over as `line[start, end)` of a buffer, without
 * ever holding a line longer than `limit` bytes: past it, `onTooLong` is called and the rest
 * of that line is dropped as it arrives. `keep` is asked for each line's type byte (see
 * `TYPE_AT`): a line it does not want is skipped to its line feed, never copied nor decoded —
 * in count mode that is every `match` line, nearly all of ripgrep's output.
 */
export class LineSplitter {
  readonly #limit: number;
  readonly #onLine: (line: Buffer, start: number, end: number) => void;
  readonly #onTooLong: () => void;
  readonly #keep: (type: number) => boolean;
  readonly #resume: Buffer | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The rest of the current line is not wanted (or too long). */
  #skipping = false;
  /** ... nor the lines after it, up to the next one `resume` starts (see the constructor). */
  #skippingOn = false;

  /**
   * `resume`, when given, is the line feed and the start of the next line wanted after one
   * that `keep` refused (`\n{"type":"end"`: in ripgrep's output a file's match and context
   * lines run up to its `end`): the lines between are skipped by one search for it, not one
   * each. Those lines are never looked at, so `keep` must refuse all of them.
   */
  constructor(limit: number, onLine: (line: Buffer, start: number, end: number) => void, onTooLong: () => void, keep: (type: number) => boolean = () => true, resume?: Buffer) {
    this.#limit = limit;
    this.#onLine = onLine;
    this.#onTooLong = onTooLong;
    this.#keep = keep;
    this.#resume = resume;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.#skipping && this.#skippingOn) {
        const resume = chunk.indexOf(this.#resume!, start);
        if (resume !== -1) {
          this.#skipping = this.#skippingOn = false;
          start = resume + 1;
          continue;
        }
        // Not in this chunk: the last line that starts in it (it may be the wanted one, cut
        // by the chunk's end) is read as any line is; the ones before it are not wanted.
        const newline = chunk.lastIndexOf(10);
        if (newline < start) return;
        this.#skipping = this.#skippingOn = false;
        start = newline + 1;
        continue;
      }
      if (this.#skipping) {
        const newline = chunk.indexOf(10, start);
        if (newline === -1) return;
        this.#skipping = false;
        start = newline + 1;
        continue;
      }
      if (this.#pendingBytes === 0 && chunk.length - start > TYPE_AT && !this.#keep(chunk[start + TYPE_AT]!)) {
        this.#skipping = true;
        this.#skippingOn = this.#resume !== undefined;
        continue;
      }
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      if (this.#pendingBytes + end - start > this.#limit) {
        this.#pending = [];
        this.#pendingBytes = 0;
        this.#skipping = newline === -1;
        this.#onTooLong();
        start = newline === -1 ? chunk.length : newline + 1;
        continue;
      }
      if (newline === -1) {
        // The line goes on in the next chunk. A copy: the stream may reuse its chunk.
        const known = this.#pendingBytes;
        this.#pending.push(Buffer.from(chunk.subarray(start)));
        this.#pendingBytes += chunk.length - start;
        if (known <= TYPE_AT && this.#pendingBytes > TYPE_AT && !this.#keep(Buffer.concat(this.#pending)[TYPE_AT]!)) {
          this.#pending = [];
          this.#pendingBytes = 0;
          this.#skipping = true;
          this.#skippingOn = this.#resume !== undefined;
        }
        return;
      }
      if (this.#pendingBytes === 0) {
        this.#onLine(chunk, start, newline);
      } else {
        this.#pending.push(chunk.subarray(start, newline));
        const line = Buffer.concat(this.#pending);
        this.#pending = [];
        this.#pendingBytes = 0;
        if (line.length <= TYPE_AT || this.#keep(line[TYPE_AT]!)) this.#onLine(line, 0, line.length);
      }
      start = newline + 1;
    }
  }
}

/** What starts the `end` line after a file's match and context lines (see `LineSplitter`'s `resume`). */
export const END_LINE = Buffer.from('\n{"type":"end"');

/** The type bytes (see `TYPE_AT`). */
const BEGIN = 0x62;
const MATCH = 0x6d;
const CONTEXT = 0x63;
const END = 0x65;
const START_KEY = Buffer.from('"start":');
/** How `rg --json` starts a `begin` line whose path is UTF-8 text, and how it ends it. */
const BEGIN_TEXT = '{"type":"begin","data":{"path":{"text":"';
const BEGIN_CLOSE = '"}}}';
/** Where an `end` line's fields after its path start (the path, text or base64, holds no unescaped quote). */
const END_TAIL = '"},"binary_offset":';
/**
 * The rest of an `end` line as `rg --json` writes it (serde_json: no spaces, ripgrep's field
 * order), each number a plain integer: matched, it is read without `JSON.parse`; any other
 * form is parsed.
 */
const END_FIELDS =
  /"},"binary_offset":(null|\d{1,15}),"stats":\{"elapsed":\{"secs":(\d{1,15}),"nanos":(\d{1,9}),"human":"(\d{1,15}\.\d{6}s)"\},"searches":(\d{1,15}),"searches_with_match":(\d{1,15}),"bytes_searched":(\d{1,15}),"bytes_printed":(\d{1,15}),"matched_lines":(\d{1,15}),"matches":(\d{1,15})\}\}\}$/y;
/** How `rg --json` writes an empty submatch. */
const EMPTY_MATCH = Buffer.from('"match":{"text":""}');

/** How the files of one operation are reported. */
export interface RipgrepFilesOptions {
  mode: SearchMode;
  /** Most matching lines per file (`maxCount`). */
  maxCount: number;
  /** Keep each line's number of matches in count mode (a total cap may cut a file's count). */
  lineMatches: boolean;
  /**
   * The pattern can match nothing (`''`, `x*`): ripgrep 13 may then report empty matches
   * inside a UTF-8 sequence, which must be dropped, so count and files modes look at each
   * match line. Otherwise they never decode one and take ripgrep's counts.
   */
  mayMatchEmpty: boolean;
  /** Files named in the input (their binary files are searched, as text). */
  named: ReadonlySet<string>;
  /** The size of a file's text as the built-in engine searches it (see `searchedSize`). */
  sizeOf(path: string): number;
  /** Paths already reported by an earlier run of the operation: skipped. */
  seen: Set<string>;
  /** The walk index of the next file. */
  nextIndex(): number;
  /** Each file's outcome, in ripgrep's order, with the file's path as ripgrep reported it. */
  emit(outcome: FileOutcome, path: string): void;
}

interface OpenFile {
  path: string;
  begin: Extract<RipgrepMessage, { type: 'begin' }>;
  /** The `begin` message's size as an NDJSON line. */
  beginBytes: number;
  body: RipgrepMessage[];
  sizes: number[];
  perLine: number[];
  cut: boolean;
  skip: boolean;
  /** NDJSON bytes of the body as reported (ripgrep's own line where it was not changed). */
  printed: number;
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

/**
 * A `begin` line, `line[start, end)`, with its size as an NDJSON line (its line feed included).
 * A path of plain UTF-8 text (no escape in its JSON) is cut out of the line as it is: the
 * object is the one `JSON.parse` gives, and the line is the one `JSON.stringify` writes for it
 * (serde_json and JSON.stringify escape the same characters), so its size is the line's.
 * In count and files modes these two lines are all that is read of most files, and parsing
 * them was most of the reading (on TanStack query, 859 files, ~21M instructions of JSON.parse).
 */
export function parseBegin(line: Buffer, start: number, end: number): { begin: Extract<RipgrepMessage, { type: 'begin' }>; printed: number } {
  const json = line.toString('utf8', start, end);
  if (json.startsWith(BEGIN_TEXT) && json.endsWith(BEGIN_CLOSE) && !json.includes('\\')) {
    return { begin: { type: 'begin', data: { path: { text: json.slice(BEGIN_TEXT.length, -BEGIN_CLOSE.length) } } }, printed: end - start + 1 };
  }
  const begin = JSON.parse(json) as Extract<RipgrepMessage, { type: 'begin' }>;
  return { begin, printed: printedBytes(begin) };
}

/**
 * The `binary_offset` and stats of an `end` line, `line[start, end)` (its path is the
 * `begin`'s): read from the fields after the path when they have ripgrep's form (see
 * `END_FIELDS`), else parsed.
 */
export function parseEnd(line: Buffer, start: number, end: number): Pick<RipgrepEnd['data'], 'binary_offset' | 'stats'> {
  const json = line.toString('utf8', start, end);
  END_FIELDS.lastIndex = json.lastIndexOf(END_TAIL);
  const fields = END_FIELDS.lastIndex > 0 ? END_FIELDS.exec(json) : null;
  if (fields !== null) {
    return {
      binary_offset: fields[1] === 'null' ? null : Number(fields[1]),
      stats: {
        elapsed: { secs: Number(fields[2]), nanos: Number(fields[3]), human: fields[4]! },
        searches: Number(fields[5]),
        searches_with_match: Number(fields[6]),
        bytes_searched: Number(fields[7]),
        bytes_printed: Number(fields[8]),
        matched_lines: Number(fields[9]),
        matches: Number(fields[10]),
      },
    };
  }
  return (JSON.parse(json) as RipgrepEnd).data;
}

/** Counts `"start":` keys: one per submatch (inside JSON strings a quote is always escaped). */
function submatchCount(line: Buffer): number {
  let count = 0;
  for (let at = line.indexOf(START_KEY); at !== -1; at = line.indexOf(START_KEY, at + START_KEY.length)) count++;
  return count;
}

/** Gathers `rg --json` lines into file outcomes (see the module comment). */
export class RipgrepFiles {
  readonly #options: RipgrepFilesOptions;
  #file: OpenFile | undefined;

  constructor(options: RipgrepFilesOptions) {
    this.#options = options;
  }

  /** The lines this mode reads, by type byte (for {@link LineSplitter}): the others are skipped unread. */
  keep(type: number): boolean {
    const options = this.#options;
    if (type === BEGIN || type === END) return true;
    if (options.mode === 'content') return type === MATCH || type === CONTEXT;
    return type === MATCH && (options.lineMatches || options.mayMatchEmpty);
  }

  /** One line of `rg --json`, `line[start, end)`. */
  line(line: Buffer, start: number, end: number): void {
    if (end - start <= TYPE_AT || line[start] !== 0x7b) return;
    const type = line[start + TYPE_AT];
    const match = type === MATCH;
    if (match || type === CONTEXT) {
      const file = this.#file;
      if (file === undefined || file.skip) return;
      if (this.#options.mode !== 'content') {
        if (!match || !(this.#options.lineMatches || this.#options.mayMatchEmpty)) return;
        // Counted without parsing, unless an empty match may need dropping (see #submatches).
        // (A view of the line alone: a search must not run on into the rest of the chunk.)
        const bytes = line.subarray(start, end);
        const count = bytes.includes(EMPTY_MATCH) ? this.#submatches(JSON.parse(bytes.toString('utf8')) as RipgrepMessage).length : submatchCount(bytes);
        if (count > 0) file.perLine.push(count);
        return;
      }
      this.#body(file, JSON.parse(line.toString('utf8', start, end)) as RipgrepMessage, end - start + 1);
      return;
    }
    if (type === BEGIN) {
      const { begin, printed } = parseBegin(line, start, end);
      const path = pathOf(begin.data);
      const skip = this.#options.seen.has(path);
      this.#options.seen.add(path);
      this.#file = { path, begin, beginBytes: printed, body: [], sizes: [], perLine: [], cut: false, skip, printed: 0 };
      return;
    }
    if (type === END) {
      const file = this.#file;
      this.#file = undefined;
      if (file === undefined || file.skip) return;
      this.#end(file, parseEnd(line, start, end));
    }
    // The summary: the collector makes its own.
  }

  /**
   * Forgets the file being read (its process was given up before its end): a later run of
   * the operation reports it, unless it was skipped as already reported.
   */
  abandon(): void {
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined && !file.skip) this.#options.seen.delete(file.path);
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

  /** A match or context line; `raw` is its length in ripgrep's output, with the line feed. */
  #body(file: OpenFile, message: RipgrepMessage, raw: number): void {
    const data = message.data as RipgrepLine;
    let changed = false;
    if (message.type === 'match') {
      const kept = this.#submatches(message);
      changed = kept !== data.submatches;
      data.submatches = kept;
      // A line whose only matches were empty ones inside a UTF-8 sequence does not match.
      if (kept.length === 0) message = { type: 'context', data };
    }
    if (message.type === 'match' && file.perLine.length >= this.#options.maxCount) {
      // ripgrep 13 reports a matching line inside the trailing context after --max-count as a
      // match; the built-in engine (and GNU grep) as context.
      message = { type: 'context', data: { ...data, submatches: [] } };
      changed = true;
    } else if (message.type === 'match') {
      const count = data.submatches.length;
      file.perLine.push(count);
      if (count > SUBMATCH_LIMIT) {
        file.cut = true;
        changed = true;
        data.submatches = data.submatches.slice(0, SUBMATCH_LIMIT);
      }
    }
    file.body.push(message);
    file.sizes.push(byteLength(data.lines));
    // ripgrep writes the JSON JSON.stringify writes (serde_json escapes the same characters the
    // same way): its length counts as it is, unless the message was changed here.
    file.printed += changed ? printedBytes(message) : raw;
  }

  #end(file: OpenFile, end: Pick<RipgrepEnd['data'], 'binary_offset' | 'stats'>): void {
    const options = this.#options;
    const index = options.nextIndex();
    const stats = end.stats;
    if (end.binary_offset !== null && !options.named.has(file.path)) {
      options.emit({ index, status: 'binary', bytes: stats.bytes_searched }, file.path);
      return;
    }
    const early = end.binary_offset !== null || options.mode === 'files' || stats.matched_lines >= options.maxCount;
    const bytes = early ? options.sizeOf(file.path) : stats.bytes_searched;
    const elapsedNs = stats.elapsed.secs * 1e9 + stats.elapsed.nanos;
    // The lines as reported decide the counts where they were looked at (see #body and line).
    const content = options.mode === 'content';
    const perLine = content || options.lineMatches || options.mayMatchEmpty;
    const matchedLines = perLine ? file.perLine.length : stats.matched_lines;
    const matches = perLine ? file.perLine.reduce((sum, n) => sum + n, 0) : stats.matches;
    if (matchedLines === 0) {
      options.emit({ index, status: 'searched', bytes, elapsedNs, matchedLines: 0, matches: 0, messages: [], sizes: [], lineMatches: undefined, more: false }, file.path);
      return;
    }
    const printed = file.beginBytes + file.printed;
    const closing: RipgrepEnd = {
      type: 'end',
      data: {
        path: file.begin.data.path,
        binary_offset: end.binary_offset,
        stats: { elapsed: stats.elapsed, searches: 1, searches_with_match: 1, bytes_searched: bytes, bytes_printed: printed, matched_lines: matchedLines, matches },
      },
    };
    const lineMatches = content ? (file.cut ? file.perLine : undefined) : options.lineMatches ? file.perLine : undefined;
    options.emit({ index, status: 'searched', bytes, elapsedNs, matchedLines, matches, messages: [file.begin, ...file.body, closing], sizes: file.sizes, lineMatches, more: false }, file.path);
  }
}
