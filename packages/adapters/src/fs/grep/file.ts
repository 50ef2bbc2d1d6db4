/**
 * Reads one file and searches it: the unit of work of the worker threads (and of the main
 * thread for small literal searches). Everything here is synchronous on purpose: a worker
 * does one file at a time, and `readSync` into a reused buffer is the fastest way Node has
 * to get bytes (about 1 GB/s with `Buffer.indexOf` on one thread here).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
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
/** The read buffer is kept between files up to this size; a larger one is dropped after use. */
const KEEP_BUFFER_BYTES = 16 * 1024 * 1024;

export class FileSearcher {
  readonly #config: FileSearchConfig;
  readonly #matcher: Matcher;
  #buffer = Buffer.allocUnsafe(1024 * 1024);

  constructor(config: FileSearchConfig) {
    this.#config = config;
    this.#matcher = compileMatcher(config.matcher);
  }

  /** Searches one file; `maxLines` is what the operation's total cap still allows. */
  search(task: FileTask, maxLines: number): FileOutcome {
    const config = this.#config;
    let fd: number;
    try {
      // O_NONBLOCK: a file replaced by a FIFO since the walk must not block the thread on
      // open (it is then skipped as not a regular file); regular files ignore the flag.
      fd = openSync(task.open, constants.O_RDONLY | constants.O_NONBLOCK | (config.followSymlinks || task.named ? 0 : constants.O_NOFOLLOW));
    } catch (error) {
      return this.#error(task, error);
    }
    let size: number;
    let buffer: Buffer;
    const started = performance.now();
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return { index: task.index, status: 'skipped' };
      if (stat.size > config.maxFileSize) return { index: task.index, status: 'large', bytes: stat.size };
      if (this.#buffer.length < stat.size) this.#buffer = Buffer.allocUnsafe(Math.max(stat.size, this.#buffer.length * 2));
      size = 0;
      // The size may change under us: read what is there now, up to the size seen.
      for (;;) {
        const read = readSync(fd, this.#buffer, size, stat.size - size, size);
        if (read === 0) break;
        size += read;
        if (size === stat.size) break;
      }
      buffer = this.#buffer.subarray(0, size);
    } catch (error) {
      return this.#error(task, error);
    } finally {
      closeSync(fd);
    }
    try {
      return this.#searchBytes(task, buffer, maxLines, started);
    } finally {
      if (this.#buffer.length > KEEP_BUFFER_BYTES) this.#buffer = Buffer.allocUnsafe(1024 * 1024);
    }
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
