import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BINARY_SNIFF_BYTES } from './binary.js';
import { languageOf } from './languages.js';
import type { LanguageStats, LargestFile, SkippedFile, StatsOutput } from './output.js';

/** What the worker computes; the adapter adds discovery's part (`truncated`, its skipped entries). */
export type StatsResult = Omit<StatsOutput, 'truncated'>;

const CHUNK_BYTES = 64 * 1024;
/** How many of the largest files stats reports. */
export const LARGEST_FILES = 10;
const NEWLINE = 0x0a;
/** Progress is reported every this many files. */
export const PROGRESS_EVERY = 1000;

/**
 * Counts files, lines and bytes per language, reading each file in 64 KiB chunks (one buffer
 * for the whole run, so memory stays flat whatever the file sizes). Synchronous on purpose: it
 * runs in a worker, one task at a time, and an abort terminates the worker.
 */
export function countStats(files: readonly string[], progress?: (data: unknown) => void): StatsResult {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const languages = new Map<string, LanguageStats>();
  const binary = { files: 0, bytes: 0 };
  const skipped: SkippedFile[] = [];
  // The largest files so far, biggest first; a short sorted list beats a heap for ten.
  const largest: LargestFile[] = [];
  for (let n = 0; n < files.length; n++) {
    const path = files[n]!;
    if (progress !== undefined && n > 0 && n % PROGRESS_EVERY === 0) progress({ analyzer: 'stats', done: n, total: files.length });
    let counted: { binary: boolean; bytes: number; lines: number };
    try {
      counted = countFile(path, buffer);
    } catch (error) {
      skipped.push({ path, reason: (error as Error).message });
      continue;
    }
    if (largest.length < LARGEST_FILES || counted.bytes > largest.at(-1)!.bytes) {
      let at = largest.length;
      while (at > 0 && largest[at - 1]!.bytes < counted.bytes) at--;
      largest.splice(at, 0, { path, bytes: counted.bytes, lines: counted.binary ? 0 : counted.lines, binary: counted.binary });
      if (largest.length > LARGEST_FILES) largest.pop();
    }
    if (counted.binary) {
      binary.files++;
      binary.bytes += counted.bytes;
      continue;
    }
    const language = languageOf(path);
    const stats = languages.get(language) ?? { files: 0, lines: 0, bytes: 0 };
    stats.files++;
    stats.lines += counted.lines;
    stats.bytes += counted.bytes;
    languages.set(language, stats);
  }
  const total = { files: 0, lines: 0, bytes: 0 };
  const byName: Record<string, LanguageStats> = {};
  for (const name of [...languages.keys()].sort()) {
    const stats = languages.get(name)!;
    byName[name] = stats;
    total.files += stats.files;
    total.lines += stats.lines;
    total.bytes += stats.bytes;
  }
  return { analyzer: 'stats', ...total, languages: byName, binary, largest, skipped };
}

function countFile(path: string, buffer: Buffer): { binary: boolean; bytes: number; lines: number } {
  const fd = openSync(path, 'r');
  try {
    let bytes = 0;
    let lines = 0;
    let last = NEWLINE;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      const chunk = buffer.subarray(0, read);
      // The first chunk holds the first 8000 bytes (a regular file is read in full chunks).
      if (bytes === 0 && chunk.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
        return { binary: true, bytes: fstatSync(fd).size, lines: 0 };
      }
      for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) lines++;
      bytes += read;
      last = chunk[read - 1]!;
    }
    if (last !== NEWLINE) lines++;
    return { binary: false, bytes, lines };
  } finally {
    closeSync(fd);
  }
}
