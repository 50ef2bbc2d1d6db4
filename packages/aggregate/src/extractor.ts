import type { EntryFields } from './entry.js';

/** What an extractor is told about the operation whose output it reads. */
export interface OperationInfo {
  id: string;
  kind: string;
  /** The operation's input as the plan wrote it, when the plan was given. */
  input: unknown;
  /** For a fan-out child, the position of its item. */
  item?: number;
}

/** A URL sighting's details. */
export interface UrlSighting {
  title?: string | undefined;
  snippet?: string | undefined;
  /** Search rank, from 1. */
  rank?: number | undefined;
  provider?: string | undefined;
  query?: string | undefined;
  /** HTTP status (fetch). */
  status?: number | undefined;
  /** Where a fetch ended, when it was redirected. */
  finalUrl?: string | undefined;
  /** @default the weight of the sighting's kind */
  weight?: number | undefined;
}

/** A custom item, for extractors of kinds this package does not know. */
export interface CustomItem {
  /** The group it belongs to, e.g. `"symbol"`. */
  type: string;
  /** Its identity within the group, already normalised by the extractor. */
  key: string;
  /** One line shown in the report. */
  label: string;
  data?: Record<string, unknown>;
  /** @default the `other` weight */
  weight?: number;
}

/** Something an operation produced but that is incomplete, or something to know about it. */
export interface Problem {
  /** Stable code, e.g. `FANOUT_TRUNCATED`, `FANOUT_NOT_FOUND`. */
  code: string;
  message: string;
  /** What the aggregated result lacks because of it ("matches past the cap"). */
  missing?: string;
}

/**
 * Where an extractor puts what it reads. The typed calls normalise and deduplicate (URLs,
 * paths, queries) and record correlations (a match is also a sighting of its file, a URL of
 * its domain); `item` takes anything else.
 */
export interface ItemSink {
  /** A file the operation reached. */
  file(path: string, extra?: { bytes?: number | undefined; weight?: number | undefined }): void;
  /** A matching line (1-based line, 1-based column); a trailing end of line is dropped. */
  match(path: string, line: number, text: string, column?: number): void;
  /** A URL the operation reached (a search result, a fetched page). */
  url(url: string, sighting?: UrlSighting): void;
  /** A query that ran, with the provider that answered and how many results it gave. */
  query(query: string, provider: string | undefined, results: number): void;
  /** A TODO / FIXME / HACK / XXX marker. */
  marker(path: string, line: number, column: number, tag: string, text: string): void;
  /** A command that ran. */
  command(command: string, fields: EntryFields): void;
  /** A file written. */
  write(path: string, fields: EntryFields): void;
  /** Figures of an analysis (not deduplicated: one entry per operation). */
  stats(fields: EntryFields): void;
  /** Any other result. */
  item(item: CustomItem): void;
  /** Part of the output failed or was cut: kept beside the results. */
  problem(problem: Problem): void;
  /** Something worth knowing that is not a failure (a provider fallback, an empty search). */
  note(message: string): void;
}

/**
 * Turns one kind's outputs into items. The package has one for each adapter kind of
 * `@fanout/adapters` (written against its output contract); register one for any other kind.
 *
 * @example
 * const symbols: Extractor = {
 *   kind: 'ctags',
 *   extract(output, sink) {
 *     for (const s of (output as { symbols: { name: string; path: string }[] }).symbols)
 *       sink.item({ type: 'symbol', key: `${s.path}#${s.name}`, label: `${s.name} in ${s.path}` });
 *   },
 * };
 */
export interface Extractor {
  kind: string;
  /**
   * Reads one successful operation's output. Throw {@link UnexpectedOutputError} (or any
   * error) when it is not the expected shape: the report then says the operation's results
   * are missing and why, and the aggregation goes on.
   */
  extract(output: unknown, sink: ItemSink, op: OperationInfo): void;
  /** A few words on what the operation did, from its input or output: `/TODO/ in src`. */
  describe?(input: unknown, output: unknown): string | undefined;
  /**
   * What the result lacks when the operation did not succeed, from its input (undefined
   * when the plan was not given): `matches of /TODO/ in src`.
   */
  missing?(input: unknown): string | undefined;
}
