/**
 * ripgrep's `--json` wire format (grep-printer's JSON printer), one type per message. Field
 * names and order are ripgrep's so that tools written for `rg --json` read ours unchanged.
 */

/** Text when it is valid UTF-8, otherwise the raw bytes in base64. */
export type RipgrepData = { text: string } | { bytes: string };

/** A duration as ripgrep prints it. */
export interface RipgrepElapsed {
  secs: number;
  nanos: number;
  /** Seconds with six decimals and an `s`, e.g. `"0.000941s"`. */
  human: string;
}

/** The statistics of an `end` or `summary` message. */
export interface RipgrepStats {
  elapsed: RipgrepElapsed;
  searches: number;
  searches_with_match: number;
  bytes_searched: number;
  bytes_printed: number;
  matched_lines: number;
  matches: number;
}

/** One match inside a line; `start` and `end` are byte offsets into the line, half-open. */
export interface RipgrepSubmatch {
  match: RipgrepData;
  start: number;
  end: number;
}

/**
 * Most submatches a `match` message lists; the line's further matches are counted (in the
 * `end` and `summary` stats) but not listed. ripgrep lists them all, which for a line of
 * 10 MB matching `x` means ten million objects (550 MB of JSON from `rg --json`); both of
 * fanout's engines stop listing here.
 */
export const SUBMATCH_LIMIT = 1000;

/** The data of a `match` or `context` message. */
export interface RipgrepLine {
  path: RipgrepData;
  /** The whole line, with its line terminator. */
  lines: RipgrepData;
  /** 1-based. */
  line_number: number;
  /** Byte offset of the start of the line in the file. */
  absolute_offset: number;
  /** Empty for context lines; at most {@link SUBMATCH_LIMIT}. */
  submatches: RipgrepSubmatch[];
}

/** A file with matches starts. */
export interface RipgrepBegin {
  type: 'begin';
  data: { path: RipgrepData };
}

/** A matching line. */
export interface RipgrepMatch {
  type: 'match';
  data: RipgrepLine;
}

/** A line of context around a match. */
export interface RipgrepContext {
  type: 'context';
  data: RipgrepLine;
}

/**
 * A file with matches ends: its statistics. `binary_offset` is where the first NUL byte is in
 * a binary file named as a search path (searched as text, as ripgrep does), else null: binary
 * files found by the walk are skipped.
 */
export interface RipgrepEnd {
  type: 'end';
  data: { path: RipgrepData; binary_offset: number | null; stats: RipgrepStats };
}

/** The last message: the search's totals. */
export interface RipgrepSummary {
  type: 'summary';
  data: { elapsed_total: RipgrepElapsed; stats: RipgrepStats };
}

/** Exactly one of ripgrep's `--json` messages. */
export type RipgrepMessage = RipgrepBegin | RipgrepMatch | RipgrepContext | RipgrepEnd | RipgrepSummary;

/** A duration in nanoseconds as ripgrep prints it. */
export function elapsed(nanoseconds: number): RipgrepElapsed {
  const ns = Math.max(0, Math.round(nanoseconds));
  return { secs: Math.floor(ns / 1e9), nanos: ns % 1e9, human: `${(ns / 1e9).toFixed(6)}s` };
}

/** The bytes `message` takes as one NDJSON line (what ripgrep counts as printed). */
export function printedBytes(message: RipgrepMessage): number {
  return Buffer.byteLength(JSON.stringify(message)) + 1;
}
