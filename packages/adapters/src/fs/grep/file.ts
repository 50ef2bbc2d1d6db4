/**
 * Searches one file's bytes for one grep operation: the grep part of the per-file work of the
 * shared scan (see `fs/scan/work.ts`), in a worker thread or on the main thread. Everything
 * here is synchronous on purpose: a worker does one file at a time.
 */
import { FIRST_FILL_BYTES, searchedBeforeNul } from './binary.js';
import { withoutBom } from './decode.js';
import { elapsed, printedBytes, type RipgrepMessage } from './messages.js';
import type { MatcherSpec } from './pattern.js';
import { BudgetExceeded, REGEX_BUDGET_MS, SearchClock } from './regex-budget.js';
import { compileMatcher, searchBuffer, type Matcher, type SearchLimits, type SearchMode } from './search.js';

/** A file to search. */
export interface FileTask {
  /** Position in the walk: results are merged in this order. */
  index: number;
  /** Absolute path, as reported. */
  path: string;
  /** What to open: the path itself, or a named file's real path. */
  open: string;
  /** Named in the input (not found by the walk): symlinks are fine, as in ripgrep. */
  named: boolean;
}

/** How every file of one grep operation is searched. */
export interface FileSearchConfig {
  matcher: MatcherSpec;
  mode: SearchMode;
  before: number;
  after: number;
  /** Most matching lines per file (`rg -m`). */
  maxCount: number;
  /** Larger files are skipped (`rg --max-filesize`). */
  maxFileSize: number;
  followSymlinks: boolean;
  /** Keep per-line match counts in count mode (a total cap may need to cut a file's count). */
  lineMatches: boolean;
  /**
   * How long a regular expression may spend on one file (see `regex-budget.ts`).
   * @default REGEX_BUDGET_MS
   */
  budgetMs?: number;
  /** Where this thread's match attempts are counted for the main thread's watchdog (a worker's own). */
  heartbeat?: Int32Array;
}

/** What became of one file. */
export type FileOutcome =
  | {
      index: number;
      status: 'searched';
      bytes: number;
      elapsedNs: number;
      matchedLines: number;
      matches: number;
      /** `begin`, the body, `end` when the file matched; empty otherwise. */
      messages: RipgrepMessage[];
      /** Byte length of each body message's line (for the output cap). */
      sizes: number[];
      lineMatches: number[] | undefined;
      /** The operation's total cap (not `maxCount`) stopped this file before a further match. */
      more: boolean;
    }
  | { index: number; status: 'binary' | 'large'; bytes: number }
  | { index: number; status: 'skipped' }
  | { index: number; status: 'error'; path: string; code: string; message: string };

/** The code of a file whose search ran past its time budget: it fails the operation (`run.ts`). */
export const TOO_SLOW = 'FANOUT_REGEX_TOO_SLOW';

/**
 * Searches files' bytes for one grep operation. The bytes are read by the shared scan
 * (`fs/scan/read.ts`), once for every operation that wants the file: this class only opens
 * nothing and searches what it is given.
 */
export class FileSearcher {
  readonly #config: FileSearchConfig;
  readonly #matcher: Matcher;
  readonly #clock: SearchClock | undefined;

  constructor(config: FileSearchConfig) {
    this.#config = config;
    this.#matcher = compileMatcher(config.matcher);
    // Literals are byte searches: they cannot run away.
    this.#clock = this.#matcher.literal === undefined ? new SearchClock(config.heartbeat, config.budgetMs ?? REGEX_BUDGET_MS) : undefined;
  }

  /**
   * Searches one file's bytes (the whole file, `buffer`); `maxLines` is what the operation's
   * total cap still allows, `started` when the file's reading began (`performance.now()`). A
   * regular expression past its time budget gives an error outcome with the code
   * {@link TOO_SLOW}.
   */
  searchBytes(task: FileTask, buffer: Buffer, maxLines: number, started: number): FileOutcome {
    this.#clock?.begin(task.index);
    try {
      return this.#searchBytes(task, withoutBom(buffer), maxLines, started);
    } catch (error) {
      if (!(error instanceof BudgetExceeded)) throw error;
      return { index: task.index, status: 'error', path: task.path, code: TOO_SLOW, message: `the regular expression was still searching ${task.path} after ${error.message}` };
    } finally {
      this.#clock?.end();
    }
  }

  /** The outcome of a file that could not be opened or read. */
  failed(task: FileTask, error: unknown): FileOutcome {
    return this.#error(task, error);
  }

  #searchBytes(task: FileTask, buffer: Buffer, maxLines: number, started: number): FileOutcome {
    const config = this.#config;
    const size = buffer.length;
    // A file found by the walk is binary as ripgrep decides it (see `binary.ts`); a file named
    // as a search path is searched as text, as ripgrep does, its first NUL reported as
    // `binary_offset`.
    if (!task.named && buffer.subarray(0, FIRST_FILL_BYTES).indexOf(0) !== -1) return { index: task.index, status: 'binary', bytes: size };
    const anyOf = this.#matcher.anyOf;
    if (anyOf !== undefined && !anyOf.some((literal) => buffer.includes(literal))) {
      // None of the literals every match holds: no match, without running the expression.
      return { index: task.index, status: 'searched', bytes: size, elapsedNs: (performance.now() - started) * 1e6, matchedLines: 0, matches: 0, messages: [], sizes: [], lineMatches: undefined, more: false };
    }
    const path = { text: task.path };
    const limits: SearchLimits = { maxLines: Math.min(config.maxCount, maxLines), before: config.before, after: config.after, lineMatches: config.lineMatches };
    if (this.#clock !== undefined) limits.clock = this.#clock;
    const found = searchBuffer(buffer, this.#matcher, config.mode, limits, path);
    // A NUL further in: ripgrep stops at it and `rg -c` then drops the file; so do we — unless
    // ripgrep would have stopped at its --max-count before reading that far.
    if (!task.named && (found.matchedLines > 0 || found.limited) && size > FIRST_FILL_BYTES) {
      const nul = buffer.indexOf(0, FIRST_FILL_BYTES);
      if (nul !== -1 && !this.#stopsBefore(buffer, nul)) return { index: task.index, status: 'binary', bytes: size };
    }
    const elapsedNs = (performance.now() - started) * 1e6;
    const more = found.limited && maxLines < (config.mode === 'files' ? 1 : config.maxCount);
    if (found.matchedLines === 0) {
      return { index: task.index, status: 'searched', bytes: size, elapsedNs, matchedLines: 0, matches: 0, messages: [], sizes: [], lineMatches: undefined, more };
    }
    const begin: RipgrepMessage = { type: 'begin', data: { path } };
    let printed = printedBytes(begin);
    for (const message of found.messages) printed += printedBytes(message);
    const end: RipgrepMessage = {
      type: 'end',
      data: {
        path,
        binary_offset: task.named ? binaryOffset(buffer) : null,
        stats: {
          elapsed: elapsed(elapsedNs),
          searches: 1,
          searches_with_match: 1,
          bytes_searched: size,
          bytes_printed: printed,
          matched_lines: found.matchedLines,
          matches: found.matches,
        },
      },
    };
    return {
      index: task.index,
      status: 'searched',
      bytes: size,
      elapsedNs,
      matchedLines: found.matchedLines,
      matches: found.matches,
      messages: [begin, ...found.messages, end],
      sizes: found.sizes,
      lineMatches: found.lineMatches,
      more,
    };
  }

  /** Does ripgrep reach the file's limit of matching lines (`maxCount`, 1 in files mode) before the fill holding the NUL at `nul`? */
  #stopsBefore(buffer: Buffer, nul: number): boolean {
    const config = this.#config;
    const perFile = config.mode === 'files' ? 1 : config.maxCount;
    if (!Number.isFinite(perFile)) return false;
    const searched = searchedBeforeNul(buffer, nul);
    if (searched === 0) return false;
    const limits = { maxLines: perFile, before: 0, after: 0, lineMatches: false, ...(this.#clock === undefined ? {} : { clock: this.#clock }) };
    return searchBuffer(buffer.subarray(0, searched), this.#matcher, 'count', limits, { text: '' }).matchedLines >= perFile;
  }

  #error(task: FileTask, error: unknown): FileOutcome {
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
    // A file that became a symlink after the walk (O_NOFOLLOW) is not followed: skipped.
    if (code === 'ELOOP' && !this.#config.followSymlinks) return { index: task.index, status: 'skipped' };
    return { index: task.index, status: 'error', path: task.path, code, message: (error as Error | undefined)?.message ?? String(error) };
  }
}

/** Where the first NUL byte is, or null. */
function binaryOffset(buffer: Buffer): number | null {
  const at = buffer.indexOf(0);
  return at === -1 ? null : at;
}
