/**
 * Searches one file's bytes for one grep operation: the grep part of the per-file work of the
 * shared scan (see `fs/scan/work.ts`), in a worker thread or on the main thread. Everything
 * here is synchronous on purpose: a worker does one file at a time.
 */
import { elapsed, printedBytes, type RipgrepMessage } from './messages.js';
import type { MatcherSpec } from './pattern.js';
import { compileMatcher, searchBuffer, type Matcher, type SearchMode } from './search.js';

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

/** A NUL byte in the first 8 KiB makes a file binary (git's and GNU grep's probe; the read adapter's too). */
const BINARY_PROBE_BYTES = 8 * 1024;

/**
 * Searches files' bytes for one grep operation. The bytes are read by the shared scan
 * (`fs/scan/read.ts`), once for every operation that wants the file: this class only opens
 * nothing and searches what it is given.
 */
export class FileSearcher {
  readonly #config: FileSearchConfig;
  readonly #matcher: Matcher;

  constructor(config: FileSearchConfig) {
    this.#config = config;
    this.#matcher = compileMatcher(config.matcher);
  }

  /**
   * Searches one file's bytes (the whole file, `buffer`); `maxLines` is what the operation's
   * total cap still allows, `started` when the file's reading began (`performance.now()`).
   */
  searchBytes(task: FileTask, buffer: Buffer, maxLines: number, started: number): FileOutcome {
    return this.#searchBytes(task, buffer, maxLines, started);
  }

  /** The outcome of a file that could not be opened or read. */
  failed(task: FileTask, error: unknown): FileOutcome {
    return this.#error(task, error);
  }

  #searchBytes(task: FileTask, buffer: Buffer, maxLines: number, started: number): FileOutcome {
    const config = this.#config;
    const size = buffer.length;
    if (buffer.subarray(0, BINARY_PROBE_BYTES).indexOf(0) !== -1) return { index: task.index, status: 'binary', bytes: size };
    const path = { text: task.path };
    const limits = { maxLines: Math.min(config.maxCount, maxLines), before: config.before, after: config.after, lineMatches: config.lineMatches };
    const found = searchBuffer(buffer, this.#matcher, config.mode, limits, path);
    // A NUL further in: ripgrep stops at it and `rg -c` then drops the file; so do we.
    if ((found.matchedLines > 0 || found.limited) && size > BINARY_PROBE_BYTES && buffer.indexOf(0, BINARY_PROBE_BYTES) !== -1) return { index: task.index, status: 'binary', bytes: size };
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
        binary_offset: null,
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

  #error(task: FileTask, error: unknown): FileOutcome {
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
    // A file that became a symlink after the walk (O_NOFOLLOW) is not followed: skipped.
    if (code === 'ELOOP' && !this.#config.followSymlinks) return { index: task.index, status: 'skipped' };
    return { index: task.index, status: 'error', path: task.path, code, message: (error as Error | undefined)?.message ?? String(error) };
  }
}
