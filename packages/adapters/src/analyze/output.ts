import type { FileFacts } from './facts.js';

/** The markers the `markers` analyzer finds, upper case, as whole words. */
export const MARKER_KINDS = ['TODO', 'FIXME', 'HACK', 'XXX'] as const;

/** One of {@link MARKER_KINDS}. */
export type MarkerKind = (typeof MARKER_KINDS)[number];

/** Files, lines and bytes of one language (or of all text files). */
export interface LanguageStats {
  files: number;
  /** Newline characters, plus one when the file ends without one (like `wc -l`, counting a last unterminated line). */
  lines: number;
  bytes: number;
}

/** A file that was found but not analysed, and why (unreadable, vanished, too large). */
export interface SkippedFile {
  path: string;
  reason: string;
}

/**
 * Output of `analyzer: 'stats'`. `files`, `lines` and `bytes` are the totals over text files
 * (the sum of `languages`); binary files are counted apart in `binary`, never in a language.
 */
export interface StatsOutput extends LanguageStats {
  analyzer: 'stats';
  /** By language name (see `languageOf`), keys in alphabetical order. */
  languages: Record<string, LanguageStats>;
  /** Files with a NUL byte in their first 8000 bytes (git's rule): counted apart, lines not counted. */
  binary: { files: number; bytes: number };
  /** The largest files (at most ten), biggest first, binary ones included. */
  largest: LargestFile[];
  skipped: SkippedFile[];
  /** True when discovery stopped at `maxFiles`: the figures cover only the files found before. */
  truncated: boolean;
}

/** One of the largest files `stats` saw. */
export interface LargestFile {
  /** Absolute path. */
  path: string;
  bytes: number;
  /** 0 for a binary file. */
  lines: number;
  binary: boolean;
}

/** One marker found by the `markers` analyzer. */
export interface Marker {
  /** Absolute path. */
  path: string;
  /** 1-based line. */
  line: number;
  /** 1-based column of the marker's first letter, in UTF-16 code units (as editors and LSP count). */
  column: number;
  kind: MarkerKind;
  /**
   * The line from the marker to its end, without the line ending and trailing white space
   * (`"TODO: handle EOF"`); cut at 500 code units on very long lines (minified code).
   */
  text: string;
}

/** Output of `analyzer: 'markers'`: markers in file order (see `files`), then by position. */
export interface MarkersOutput {
  analyzer: 'markers';
  markers: Marker[];
  /** True when markers passed `maxMarkers` (the rest are dropped) or discovery stopped at `maxFiles`. */
  truncated: boolean;
  /** Text files scanned. */
  files: number;
  /** Binary files passed over. */
  binary: number;
  skipped: SkippedFile[];
}

/** Output of `analyzer: 'module'`: what the user analyzer returned, and what it was given. */
export interface ModuleOutput {
  analyzer: 'module';
  /** Absolute path of the analyzer module. */
  module: string;
  /** How many files it was given. */
  files: number;
  /** True when discovery stopped at `maxFiles` (the analyzer was told, through its input). */
  truncated: boolean;
  /** The analyzer's return value, as copied out of the worker (structured clone). */
  result: unknown;
}

/** Files and blank / comment / code lines of one language, as `cloc` reports them. */
export interface LanguageLines {
  files: number;
  blank: number;
  comment: number;
  code: number;
  bytes: number;
}

/**
 * Output of `analyzer: 'map'`: the facts of every text file (see `FileFacts`: line kinds,
 * imports, outline, environment variables, `main`, tests, manifests' text) in tree order, and
 * the line kinds added up per language.
 */
export interface MapOutput {
  analyzer: 'map';
  files: FileFacts[];
  /** By language name (see `languageOf`), keys in alphabetical order. */
  languages: Record<string, LanguageLines>;
  /** Files with a NUL byte in their first 8000 bytes: counted apart. */
  binary: { files: number; bytes: number };
  skipped: SkippedFile[];
  /** True when discovery stopped at `maxFiles`. */
  truncated: boolean;
}

/** What an analysis produces, by `analyzer`. */
export type AnalyzeOutput = StatsOutput | MarkersOutput | ModuleOutput | MapOutput;
