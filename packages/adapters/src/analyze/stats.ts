/**
 * The `stats` analyzer, in two halves: {@link countFile} is the per-file work (it runs where
 * the file's bytes are, in a scan worker thread or on the main thread, and imports nothing
 * heavy), and {@link StatsTally} adds the files up, in tree order, on the main thread.
 */
import { readSync } from 'node:fs';
import { BINARY_SNIFF_BYTES } from './binary.js';
import { languageOf } from './languages.js';
import type { LanguageStats, LargestFile, SkippedFile, StatsOutput } from './output.js';

/** What the analysis computes; the adapter adds discovery's part (`truncated`, its skipped entries). */
export type StatsResult = Omit<StatsOutput, 'truncated'>;

/** How many of the largest files stats reports. */
export const LARGEST_FILES = 10;
/** Progress is reported every this many files. */
export const PROGRESS_EVERY = 1000;
const NEWLINE = 0x0a;

/** What `stats` learnt about one file: a count, or why it could not be read. */
export type StatsFileOutcome = { status: 'counted'; binary: boolean; bytes: number; lines: number } | { status: 'skipped'; reason: string };

/**
 * Counts one file's lines from its bytes, as `wc -l` does plus one for a last line without a
 * `\n`. A NUL among the first 8000 bytes makes it binary (git's rule): then `size`, the size
 * the file had when it was opened, is what counts, and its lines do not.
 */
export function countFile(bytes: Buffer, size: number): StatsFileOutcome {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return { status: 'counted', binary: true, bytes: size, lines: 0 };
  let lines = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) lines++;
  return { status: 'counted', binary: false, bytes: bytes.length, lines };
}

/**
 * Counts a file too large to hold at once, from an open descriptor, in chunks of
 * `buffer.length` bytes (at least {@link BINARY_SNIFF_BYTES}): memory stays flat whatever the
 * file's size. Same figures as {@link countFile}.
 */
export function countFileInChunks(fd: number, buffer: Buffer, size: number): StatsFileOutcome {
  let bytes = 0;
  let lines = 0;
  let last = NEWLINE;
  for (;;) {
    const read = readSync(fd, buffer, 0, buffer.length, bytes);
    if (read === 0) break;
    const chunk = buffer.subarray(0, read);
    // A regular file is read in full chunks: the first holds the first 8000 bytes.
    if (bytes === 0 && chunk.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return { status: 'counted', binary: true, bytes: size, lines: 0 };
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) lines++;
    bytes += read;
    last = chunk[read - 1]!;
  }
  if (last !== NEWLINE) lines++;
  return { status: 'counted', binary: false, bytes, lines };
}

/**
 * Adds files up in the order they are given (tree order): per-language totals, binary files
 * apart, the ten largest (biggest first; among equal sizes the first met), and the files that
 * could not be read.
 */
export class StatsTally {
  readonly #languages = new Map<string, LanguageStats>();
  readonly #binary = { files: 0, bytes: 0 };
  readonly #skipped: SkippedFile[] = [];
  // The largest files so far, biggest first; a short sorted list beats a heap for ten.
  readonly #largest: LargestFile[] = [];
  #seen = 0;

  /** Files added so far. */
  get files(): number {
    return this.#seen;
  }

  add(path: string, outcome: StatsFileOutcome): void {
    this.#seen++;
    if (outcome.status === 'skipped') {
      this.#skipped.push({ path, reason: outcome.reason });
      return;
    }
    const largest = this.#largest;
    if (largest.length < LARGEST_FILES || outcome.bytes > largest.at(-1)!.bytes) {
      let at = largest.length;
      while (at > 0 && largest[at - 1]!.bytes < outcome.bytes) at--;
      largest.splice(at, 0, { path, bytes: outcome.bytes, lines: outcome.binary ? 0 : outcome.lines, binary: outcome.binary });
      if (largest.length > LARGEST_FILES) largest.pop();
    }
    if (outcome.binary) {
      this.#binary.files++;
      this.#binary.bytes += outcome.bytes;
      return;
    }
    const language = languageOf(path);
    let stats = this.#languages.get(language);
    if (stats === undefined) {
      stats = { files: 0, lines: 0, bytes: 0 };
      this.#languages.set(language, stats);
    }
    stats.files++;
    stats.lines += outcome.lines;
    stats.bytes += outcome.bytes;
  }

  result(): StatsResult {
    const total = { files: 0, lines: 0, bytes: 0 };
    const byName: Record<string, LanguageStats> = {};
    for (const name of [...this.#languages.keys()].sort()) {
      const stats = this.#languages.get(name)!;
      byName[name] = stats;
      total.files += stats.files;
      total.lines += stats.lines;
      total.bytes += stats.bytes;
    }
    return { analyzer: 'stats', ...total, languages: byName, binary: { ...this.#binary }, largest: [...this.#largest], skipped: [...this.#skipped] };
  }
}
