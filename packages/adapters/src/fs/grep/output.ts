import type { RipgrepMessage } from './messages.js';
import type { GrepFileError } from './walk.js';

/**
 * Totals of a grep: what its messages hold. `filesWithMatches`, `matches` and `matchedLines`
 * are the same with either engine. The others need every file searched to be seen: the
 * built-in engine reads them all and counts them; ripgrep's `--json` stream shows only the
 * files that matched, so the ripgrep engine leaves them out rather than guess.
 */
export interface GrepStats {
  /** Files searched (read and scanned). Built-in engine only. */
  files?: number;
  filesWithMatches: number;
  /** Matches (submatches), all lines together. */
  matches: number;
  matchedLines: number;
  /** Bytes of the files searched. Built-in engine only. */
  bytesSearched?: number;
  /** Files skipped as binary: a NUL byte in the first 8 KiB, or further in a file that matched. Built-in engine only. */
  binaryFiles?: number;
  /** Files skipped for being over `maxFileSize`. Built-in engine only. */
  largeFiles?: number;
}

/**
 * The output of a grep operation. `messages` are ripgrep's `--json` messages in walk order
 * (`rg --sort path`'s): per matching file `begin`, its `match`/`context` lines (content
 * mode), `end` with its stats; then one `summary`. Paths are absolute. `truncated` says a cap
 * (`maxMatches`, `maxOutputBytes`) stopped the search: the stats count what the messages hold.
 */
export interface GrepOutput {
  messages: RipgrepMessage[];
  stats: GrepStats;
  truncated: boolean;
  /** Files and directories that could not be read (the search went on without them), at most 100. */
  errors: GrepFileError[];
}

/**
 * What a grep reports through `ctx.progress` while it runs (an `op-progress` event): the
 * messages of the files merged since the last report, in walk order (`begin` … `end` of
 * each matching file, never the `summary`), and the running totals.
 */
export interface GrepProgress {
  type: 'grep-results';
  messages: RipgrepMessage[];
  stats: GrepStats;
}

/**
 * Prints the messages one per line, as `rg --json` does.
 *
 * @example
 * process.stdout.write(toNdjson(result.get('find')!.output as GrepOutput));
 */
export function toNdjson(output: Pick<GrepOutput, 'messages'>): string {
  let text = '';
  for (const message of output.messages) text += `${JSON.stringify(message)}\n`;
  return text;
}
