import type { EntryFields, Entry } from './entry.js';
import { AggregationError } from './errors.js';
import type { CustomItem, ItemSink, Problem, UrlSighting } from './extractor.js';
import type { FileLines, Group, LineGroup } from './group.js';
import { normalizePath } from './paths.js';
import { normalizeQuery } from './query.js';
import type { AggregationState, OpRecord } from './state.js';
import { normalizeUrl, urlDomain } from './url.js';
import { clampWeight, rankWeight, type Weights } from './weights.js';

/** Most providers and queries listed on one URL or query entry. */
const MAX_NAMES = 8;

/** Group names of the built-in item types, in the order the report shows them. */
export const GROUP_ORDER = ['url', 'domain', 'file', 'match', 'marker', 'query', 'command', 'write', 'stats'] as const;

function clip(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function addName(list: string[] | undefined, name: string | undefined): void {
  if (list !== undefined && name !== undefined && list.length < MAX_NAMES && !list.includes(name)) list.push(name);
}

/**
 * The {@link ItemSink} extractors write to: it normalises keys, deduplicates into the groups,
 * records each sighting as evidence from the current operation, and follows relations (a
 * match is a sighting of its file, a URL of its domain). One collector serves the whole
 * aggregation; `begin` points it at the operation being read.
 */
export class Collector implements ItemSink {
  readonly #state: AggregationState;
  readonly #w: Weights;
  readonly #max: number;
  readonly #files: Group;
  readonly #matches: LineGroup;
  readonly #urls: Group;
  readonly #domains: Group;
  readonly #markers: Group;
  readonly #queries: Group;
  #op!: OpRecord;
  #source = -1;
  #fileWeight = 0;
  #fetch = false;
  #lastRaw: string | undefined = undefined;
  #lastPath = '';
  #lastFile: Entry | undefined = undefined;
  #lastEpoch = -1;
  #lastLines: FileLines | undefined = undefined;
  #lastLinesEpoch = -1;

  constructor(state: AggregationState) {
    this.#state = state;
    this.#w = state.weights;
    this.#max = state.maxText;
    this.#files = state.group('file');
    this.#matches = state.group('match') as LineGroup;
    this.#urls = state.group('url');
    this.#domains = state.group('domain');
    this.#markers = state.group('marker');
    this.#queries = state.group('query');
  }

  /** Points the collector at operation `source` (its index in the state's ops). */
  begin(source: number): void {
    const op = this.#state.ops[source]!;
    this.#op = op;
    this.#source = source;
    const w = this.#w;
    this.#fileWeight = op.kind === 'glob' ? w.globFile : op.kind === 'read' ? w.readFile : op.kind === 'grep' ? w.grepFile : w.other;
    this.#fetch = op.kind === 'fetch';
  }

  /**
   * Counts a direct sighting of `key` in `group` and returns its entry, or undefined when
   * the key is new (the caller creates it: no closure, no fields object for duplicates).
   */
  #found(group: Group, key: string): Entry | undefined {
    group.seen++;
    this.#op.items++;
    const entry = group.get(key);
    if (entry === undefined) this.#op.fresh++;
    else group.duplicates++;
    return entry;
  }

  /**
   * The file entry of a path reached through a related item (a match, a marker). Items of
   * one file come together in an output, so the last path and its entry are kept: most
   * calls cost one string comparison.
   */
  #fileOf(path: string): Entry {
    const files = this.#files;
    if (path !== this.#lastRaw) {
      this.#lastRaw = path;
      this.#lastPath = normalizePath(path);
      this.#lastFile = undefined;
      this.#lastLines = undefined;
    }
    let file = this.#lastFile;
    if (file === undefined || this.#lastEpoch !== files.epoch) {
      const p = this.#lastPath;
      file = files.get(p) ?? files.create(p, { path: p, count: 0, markers: 0 });
      this.#lastFile = file;
      this.#lastEpoch = files.epoch;
    }
    return file;
  }

  file(path: string, extra?: { bytes?: number | undefined; weight?: number | undefined }): void {
    const p = normalizePath(path);
    const files = this.#files;
    const entry = this.#found(files, p) ?? files.create(p, { path: p, count: 0, markers: 0 });
    if (extra?.bytes !== undefined) entry.fields.bytes = extra.bytes;
    entry.hit(this.#source, clampWeight(extra?.weight ?? this.#fileWeight), 0);
  }

  match(path: string, line: number, text: string, column?: number): void {
    const file = this.#fileOf(path);
    const matches = this.#matches;
    let lines = this.#lastLines;
    if (lines === undefined || this.#lastLinesEpoch !== matches.epoch) {
      lines = matches.file(file.fields.path!);
      this.#lastLines = lines;
      this.#lastLinesEpoch = matches.epoch;
    }
    matches.seen++;
    const op = this.#op;
    op.items++;
    let entry = lines.lines.get(line);
    if (entry === undefined) {
      op.fresh++;
      // The line is kept as given, end of line included (the report drops it): a copy per
      // entry would be one more object for the garbage collector. Only long lines are cut.
      const max = this.#max;
      entry = matches.createLine(lines, line, text.length > max ? `${text.slice(0, max)}…` : text, column);
    } else {
      matches.duplicates++;
    }
    entry.hit(this.#source, this.#w.grepMatch, 0);
    file.fields.count!++;
    file.hit(this.#source, this.#w.grepFile, 0);
  }

  url(url: string, sighting?: UrlSighting): void {
    const key = normalizeUrl(url);
    const max = this.#max;
    const urls = this.#urls;
    let entry = this.#found(urls, key);
    if (entry === undefined) {
      const domain = urlDomain(key);
      const fields: EntryFields = { url: key, providers: [], queries: [] };
      if (domain !== undefined) fields.domain = domain;
      entry = urls.create(key, fields);
    }
    const f = entry.fields;
    const s = sighting;
    if (s !== undefined) {
      if (f.title === undefined && s.title !== undefined && s.title !== '') f.title = clip(s.title, max)!;
      if (f.snippet === undefined && s.snippet !== undefined && s.snippet !== '') f.snippet = clip(s.snippet, max)!;
      if (s.rank !== undefined && (f.bestRank === undefined || s.rank < f.bestRank)) f.bestRank = s.rank;
      if (s.status !== undefined) f.status = s.status;
      if (s.finalUrl !== undefined) f.finalUrl = normalizeUrl(s.finalUrl);
      addName(f.providers, s.provider);
      addName(f.queries, s.query);
    }
    const w = this.#w;
    const weight = s?.weight ?? (this.#fetch ? w.fetchOk : s?.rank !== undefined ? rankWeight(w, s.rank) : w.searchResult);
    const fresh = entry.hit(this.#source, clampWeight(weight), s?.rank ?? s?.status ?? 0);
    const domain = f.domain;
    if (domain !== undefined) {
      const domains = this.#domains;
      const d = domains.get(domain) ?? domains.create(domain, { domain, count: 0 });
      if (entry.hits === 1) d.fields.count = (d.fields.count ?? 0) + 1;
      if (fresh) d.hit(this.#source, w.domain, 0);
    }
  }

  query(query: string, provider: string | undefined, results: number): void {
    const key = normalizeQuery(query);
    if (key === '') return;
    const queries = this.#queries;
    const entry = this.#found(queries, key) ?? queries.create(key, { query, providers: [], count: 0 });
    const f = entry.fields;
    f.count = (f.count ?? 0) + results;
    if (provider !== undefined && f.providers!.includes(provider) && entry.lastSource !== this.#source) {
      this.note(`query "${query}" ran more than once on ${provider} (again in ${this.#op.id}): dedupQueries() before running avoids it`);
    }
    addName(f.providers, provider);
    entry.hit(this.#source, this.#w.query, 0);
  }

  marker(path: string, line: number, column: number, tag: string, text: string): void {
    const file = this.#fileOf(path);
    const p = file.fields.path!;
    const key = `${p}:${line}:${column}`;
    const markers = this.#markers;
    const entry = this.#found(markers, key) ?? markers.create(key, { path: p, line, column, tag, text: clip(text, this.#max)! });
    entry.hit(this.#source, this.#w.marker, 0);
    file.fields.markers!++;
    file.hit(this.#source, this.#w.markerFile, 0);
  }

  command(command: string, fields: EntryFields): void {
    const group = this.#state.group('command');
    const entry = this.#found(group, command) ?? group.create(command, { command, ...fields });
    entry.hit(this.#source, this.#w.other, 0);
  }

  write(path: string, fields: EntryFields): void {
    const p = normalizePath(path);
    const group = this.#state.group('write');
    const entry = this.#found(group, p) ?? group.create(p, { path: p, ...fields });
    entry.hit(this.#source, this.#w.other, 0);
  }

  stats(fields: EntryFields): void {
    const group = this.#state.group('stats');
    const entry = this.#found(group, this.#op.id) ?? group.create(this.#op.id, fields);
    entry.hit(this.#source, this.#w.other, 0);
  }

  item(item: CustomItem): void {
    if ((GROUP_ORDER as readonly string[]).includes(item.type)) {
      throw new AggregationError('FANOUT_AGGREGATE_EXTRACTOR_INVALID', `expected a custom item type, got the built-in "${item.type}" (use the sink's ${item.type}() instead)`, { path: 'type' });
    }
    const group = this.#state.group(item.type);
    const entry = this.#found(group, item.key) ?? group.create(item.key, { label: item.label, ...(item.data === undefined ? {} : { data: item.data }) });
    entry.hit(this.#source, clampWeight(item.weight ?? this.#w.other), 0);
  }

  problem(problem: Problem): void {
    this.#op.problems++;
    this.#state.problems.push({ op: this.#op.id, kind: this.#op.kind, code: problem.code, message: problem.message, ...(problem.missing === undefined ? {} : { missing: problem.missing }) });
  }

  note(message: string): void {
    this.#state.notes.push(`${this.#op.id}: ${message}`);
  }
}
