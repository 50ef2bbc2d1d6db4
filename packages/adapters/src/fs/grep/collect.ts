/**
 * Merges the outcome of every file in walk order, whatever thread finished it first, so the
 * output — and where a cap cuts it — is the same on every run. Caps are applied here, on
 * the ordered stream: the workers only get a hint of what is left.
 */
import type { FileOutcome } from './file.js';
import { elapsed, printedBytes, type RipgrepEnd, type RipgrepMessage, type RipgrepSummary } from './messages.js';
import type { GrepStats } from './output.js';
import type { SearchMode } from './search.js';
import type { GrepFileError } from './walk.js';

/** The caps of one operation. */
export interface Caps {
  /** Matching lines in all. */
  maxMatches: number;
  /** Bytes of reported lines and paths in all. */
  maxOutputBytes: number;
  /** Lines of context after each match (content mode): what follows the last match a cap lets through. */
  after: number;
}

/** At most this many file errors are kept; the rest are counted in the last one's place. */
const MAX_ERRORS = 100;

type Searched = Extract<FileOutcome, { status: 'searched' }>;

export class Collector {
  readonly messages: RipgrepMessage[] = [];
  readonly stats: Required<GrepStats> = { files: 0, filesWithMatches: 0, matches: 0, matchedLines: 0, bytesSearched: 0, binaryFiles: 0, largeFiles: 0 };
  readonly errors: GrepFileError[] = [];
  /** A cap cut the output. */
  truncated = false;
  /** A cap was reached: nothing more is taken. */
  full = false;
  readonly #caps: Caps;
  readonly #mode: SearchMode;
  readonly #onMessages: (messages: RipgrepMessage[]) => void;
  readonly #waiting = new Map<number, FileOutcome>();
  #next = 0;
  #outputBytes = 0;
  /** Time and bytes of the files with matches: what `rg --json`'s summary adds up. */
  #elapsedNs = 0;
  #bytesMatched = 0;
  #printed = 0;
  #droppedErrors = 0;

  constructor(caps: Caps, mode: SearchMode, onMessages: (messages: RipgrepMessage[]) => void) {
    this.#caps = caps;
    this.#mode = mode;
    this.#onMessages = onMessages;
  }

  /** How many files (by walk index) have been merged. */
  get merged(): number {
    return this.#next;
  }

  /** Matching lines the total cap still allows (a hint for the workers). */
  get remainingLines(): number {
    return this.full ? 0 : this.#caps.maxMatches - this.stats.matchedLines;
  }

  /** Output bytes the cap still allows (a hint: the cut itself is {@link add}'s). */
  get remainingBytes(): number {
    return this.full ? 0 : this.#caps.maxOutputBytes - this.#outputBytes;
  }

  /** A walk error (not tied to a file index). */
  error(error: GrepFileError): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(error);
    else this.#droppedErrors++;
  }

  /** Takes outcomes in any order; merges every one whose turn has come. */
  add(outcomes: readonly FileOutcome[]): void {
    const start = this.messages.length;
    for (const outcome of outcomes) {
      // Its turn, with none waiting (outcomes mostly come in order): merged without the map.
      if (outcome.index === this.#next && this.#waiting.size === 0) {
        this.#next++;
        if (!this.full) this.#merge(outcome);
      } else {
        this.#waiting.set(outcome.index, outcome);
      }
    }
    for (let outcome = this.#waiting.get(this.#next); outcome !== undefined; outcome = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next);
      this.#next++;
      if (!this.full) this.#merge(outcome);
    }
    if (this.messages.length > start) this.#onMessages(this.messages.slice(start));
  }

  /**
   * The closing `summary` message; `wallNs` is the operation's elapsed time. As in `rg --json`,
   * its stats add up the files that printed something (searches = searches with a match);
   * {@link stats} has the totals of every file searched.
   */
  summary(wallNs: number): RipgrepSummary {
    if (this.#droppedErrors > 0) {
      this.errors.push({ path: '', code: 'FANOUT_IO', message: `${this.#droppedErrors} more files or directories could not be read` });
      this.#droppedErrors = 0;
    }
    const stats = this.stats;
    return {
      type: 'summary',
      data: {
        elapsed_total: elapsed(wallNs),
        stats: {
          elapsed: elapsed(this.#elapsedNs),
          searches: stats.filesWithMatches,
          searches_with_match: stats.filesWithMatches,
          bytes_searched: this.#bytesMatched,
          bytes_printed: this.#printed,
          matched_lines: stats.matchedLines,
          matches: stats.matches,
        },
      },
    };
  }

  #merge(outcome: FileOutcome): void {
    switch (outcome.status) {
      case 'skipped':
        return;
      case 'binary':
        this.stats.binaryFiles++;
        return;
      case 'large':
        this.stats.largeFiles++;
        return;
      case 'error':
        this.error({ path: outcome.path, code: outcome.code, message: outcome.message });
        return;
    }
    this.stats.files++;
    this.stats.bytesSearched += outcome.bytes;
    if (outcome.more) this.#cut();
    if (outcome.messages.length === 0) return;
    const kept = this.#fit(outcome);
    if (kept === undefined) {
      this.#cut();
      return;
    }
    this.stats.filesWithMatches++;
    this.#elapsedNs += outcome.elapsedNs;
    this.#bytesMatched += outcome.bytes;
    this.stats.matchedLines += kept.matchedLines;
    this.stats.matches += kept.matches;
    this.#outputBytes += kept.bytes;
    for (const message of kept.messages) this.messages.push(message);
    const end = kept.messages.at(-1) as RipgrepEnd;
    this.#printed += end.data.stats.bytes_printed;
    if (kept.cut) this.#cut();
  }

  #cut(): void {
    this.truncated = true;
    this.full = true;
  }

  /** The part of a file's messages the caps let through, or undefined when none does. */
  #fit(outcome: Searched): { messages: RipgrepMessage[]; matchedLines: number; matches: number; bytes: number; cut: boolean } | undefined {
    const begin = outcome.messages[0]!;
    const pathBytes = Buffer.byteLength((begin.data as { path: { text?: string; bytes?: string } }).path.text ?? '');
    const linesLeft = this.#caps.maxMatches - this.stats.matchedLines;
    const bytesLeft = this.#caps.maxOutputBytes - this.#outputBytes - pathBytes;
    if (linesLeft <= 0 || bytesLeft < 0) return undefined;
    const bodyBytes = outcome.sizes.reduce((sum, size) => sum + size, 0);
    if (outcome.matchedLines <= linesLeft && bodyBytes <= bytesLeft) {
      return { messages: outcome.messages, matchedLines: outcome.matchedLines, matches: outcome.matches, bytes: pathBytes + bodyBytes, cut: false };
    }
    if (this.#mode !== 'content') {
      // Count and files modes report no lines: only the count can be cut.
      const lines = Math.min(outcome.matchedLines, linesLeft);
      const matches = lines === outcome.matchedLines ? outcome.matches : (outcome.lineMatches?.slice(0, lines).reduce((sum, n) => sum + n, 0) ?? lines);
      return this.#rebuilt(outcome, outcome.messages.slice(1, -1), lines, matches, pathBytes);
    }
    // What a search stopped at `linesLeft` matching lines reports: those lines, then the
    // `after` lines that follow the last one as context (matches among them too), as the
    // searcher's own limit does. The file may have been searched with a higher limit (a hint
    // sent before earlier files were merged): the cut must not depend on it.
    const body: RipgrepMessage[] = [];
    let bytes = 0;
    let lines = 0;
    let matches = 0;
    let trailing = 0;
    for (let i = 1; i < outcome.messages.length - 1; i++) {
      let message = outcome.messages[i]!;
      const size = outcome.sizes[i - 1]!;
      const last = lines === linesLeft;
      if (last) {
        if (trailing === this.#caps.after) break;
        trailing++;
        if (message.type === 'match') message = { type: 'context', data: { ...message.data, submatches: [] } };
      }
      if (bytes + size > bytesLeft) break;
      body.push(message);
      bytes += size;
      if (!last && message.type === 'match') {
        // A line with more matches than its message lists has its count in lineMatches.
        matches += outcome.lineMatches?.[lines] ?? message.data.submatches.length;
        lines++;
      }
    }
    if (lines === 0) return undefined;
    return this.#rebuilt(outcome, body, lines, matches, pathBytes + bytes);
  }

  #rebuilt(outcome: Searched, body: RipgrepMessage[], matchedLines: number, matches: number, bytes: number) {
    const begin = outcome.messages[0]!;
    const end = outcome.messages.at(-1) as RipgrepEnd;
    let printed = printedBytes(begin);
    for (const message of body) printed += printedBytes(message);
    const cutEnd: RipgrepEnd = {
      type: 'end',
      data: { ...end.data, stats: { ...end.data.stats, bytes_printed: printed, matched_lines: matchedLines, matches } },
    };
    return { messages: [begin, ...body, cutEnd], matchedLines, matches, bytes, cut: true };
  }
}
