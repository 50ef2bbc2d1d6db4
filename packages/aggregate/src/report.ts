import type { TerminalState } from '@fanout/scheduler';
import { fitToBudget, type ReportView } from './budget.js';
import { GROUP_ORDER } from './collector.js';
import type { Entry, EntryFields } from './entry.js';
import { AggregationError, check } from './errors.js';
import type { Group } from './group.js';
import { resolveRealPaths } from './paths.js';
import { topEntries } from './rank.js';
import type { Agreement, Report, ReportEntry, ReportGroup } from './report-schema.js';
import type { AggregationState } from './state.js';

/** An output budget: characters, or approximate tokens (≈ characters / 4). */
export type Budget = { chars: number; tokens?: never } | { tokens: number; chars?: never };

/** Options of a report. */
export interface ReportOptions {
  /** @default the run's name, else "fanout report" */
  title?: string;
  /** Most entries listed per group (and operations listed). @default 50 */
  limit?: number;
  /**
   * The most the rendering may take. What does not fit is written to a file in `spillDir`
   * and referenced, and the report keeps a preview: the best entries of each group, the
   * first failures. `false`: no budget.
   * @default { tokens: 20_000 } (under the ~25k-token cut of common MCP clients)
   */
  budget?: Budget | false;
  /** Which rendering the budget measures. @default "markdown" */
  format?: 'markdown' | 'json';
  /** Where the full report goes when it does not fit. @default os.tmpdir() */
  spillDir?: string;
  /** Most entries per group in the full report written to the spill file. @default 500 */
  spillLimit?: number;
  /**
   * Resolve file paths to real paths before ranking (symlinks: two paths to one file become
   * one entry). Asynchronous and off the hot path; a path that cannot be resolved keeps its
   * lexical form.
   * @default false
   */
  realPaths?: boolean;
  /** Aborts real-path resolution. */
  signal?: AbortSignal;
}

/** Approximate characters per token, the usual rule of thumb for English and code. */
export const CHARS_PER_TOKEN = 4;

const TITLES: Record<string, string> = {
  url: 'URLs',
  domain: 'Domains',
  file: 'Files',
  match: 'Matches',
  marker: 'Markers',
  query: 'Queries',
  command: 'Commands',
  write: 'Files written',
  stats: 'Statistics',
};

const PATH_KEYS: Record<string, (f: EntryFields) => string> = {
  file: (f) => f.path!,
  write: (f) => f.path!,
  match: (f) => `${f.path}:${f.line}`,
  marker: (f) => `${f.path}:${f.line}:${f.column}`,
};

function stripEol(line: string): string {
  const n = line.length;
  if (n > 0 && line.charCodeAt(n - 1) === 10) return n > 1 && line.charCodeAt(n - 2) === 13 ? line.slice(0, n - 2) : line.slice(0, n - 1);
  return line;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Builds the report of an aggregation's state (see {@link ReportOptions}). */
export async function buildReport(state: AggregationState, options: ReportOptions): Promise<Report> {
  const limit = check.integer(options.limit, 'limit', 50, { min: 0, infinite: true });
  const spillLimit = Math.max(limit, check.integer(options.spillLimit, 'spillLimit', 500, { min: 0, infinite: true }));
  const format = options.format ?? 'markdown';
  if (format !== 'markdown' && format !== 'json') throw new AggregationError('FANOUT_OPTION_INVALID', `expected format "markdown" or "json", got ${JSON.stringify(format)}`, { path: 'format' });
  const budget = options.budget === undefined ? { tokens: 20_000 } : options.budget;
  let limitChars: number | undefined;
  if (budget !== false) {
    const value = budget.tokens ?? budget.chars;
    if (typeof value !== 'number' || !(value >= 0) || (budget.tokens !== undefined && budget.chars !== undefined)) {
      throw new AggregationError('FANOUT_OPTION_INVALID', `expected budget to be { chars: n } or { tokens: n } with n ≥ 0, got ${JSON.stringify(budget)}`, { path: 'budget' });
    }
    limitChars = Math.floor(budget.tokens !== undefined ? budget.tokens * CHARS_PER_TOKEN : value);
  }
  if (options.realPaths === true) await resolvePaths(state, options.signal);

  const builder = new ReportBuilder(state, options.title ?? state.summary?.name ?? 'fanout report', budget === false ? limit : spillLimit);
  const full: ReportView = builder.view(limit);
  if (budget === false || limitChars === undefined) return builder.make(full);
  return fitToBudget(builder, {
    full,
    spill: builder.view(spillLimit),
    format,
    unit: budget.tokens !== undefined ? 'tokens' : 'chars',
    limit: budget.tokens ?? budget.chars!,
    limitChars,
    spillDir: options.spillDir,
    stamp: state.summary?.runId,
  });
}

/** Re-keys path entries by real path, merging those that turn out to be one file. */
async function resolvePaths(state: AggregationState, signal: AbortSignal | undefined): Promise<void> {
  const paths: string[] = [];
  for (const type of Object.keys(PATH_KEYS)) {
    for (const entry of state.groups.get(type)?.values() ?? []) paths.push(entry.fields.path!);
  }
  const real = await resolveRealPaths(paths, 32, signal);
  for (const [type, keyOf] of Object.entries(PATH_KEYS)) {
    const group = state.groups.get(type);
    if (group === undefined) continue;
    for (const entry of [...group.values()]) {
      const path = real.get(entry.fields.path!);
      if (path === undefined || path === entry.fields.path) continue;
      const fields = { ...entry.fields, path };
      group.rekey(entry, fields, keyOf(fields));
    }
  }
}

/**
 * Turns the state into report objects at any level of detail. Ranked entries and their
 * explanations are computed once, for the deepest view asked, and sliced for smaller ones.
 */
export class ReportBuilder {
  readonly state: AggregationState;
  readonly title: string;
  readonly #createdAt = new Date().toISOString();
  /** The most entries any view will list: groups are ranked once, to this depth. */
  readonly #depth: number;
  readonly #ranked = new Map<string, Entry[]>();
  /** Report entries made so far, per group: a prefix of the ranked entries. */
  readonly #built = new Map<string, ReportEntry[]>();

  constructor(state: AggregationState, title: string, depth: number) {
    this.state = state;
    this.title = title;
    this.#depth = depth;
  }

  /** The view listing `perGroup` entries per group, and as many operations and failures. */
  view(perGroup: number): ReportView {
    const s = this.state;
    return {
      perGroup,
      failures: Math.min(perGroup, s.failures.items.length),
      problems: Math.min(perGroup, s.problems.items.length),
      notes: Math.min(perGroup, s.notes.items.length),
      operations: Math.min(perGroup, s.ops.length),
    };
  }

  #groups(): Group[] {
    const groups = [...this.state.groups.values()].filter((g) => g.seen > 0 || g.size > 0);
    const order = (type: string): number => {
      const i = (GROUP_ORDER as readonly string[]).indexOf(type);
      return i === -1 ? GROUP_ORDER.length : i;
    };
    return groups.sort((a, b) => order(a.type) - order(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  #entries(group: Group, n: number): ReportEntry[] {
    let ranked = this.#ranked.get(group.type);
    if (ranked === undefined) {
      ranked = topEntries(group.list(), this.#depth);
      this.#ranked.set(group.type, ranked);
    }
    let built = this.#built.get(group.type);
    if (built === undefined) {
      built = [];
      this.#built.set(group.type, built);
    }
    const want = Math.min(n, ranked.length);
    for (let i = built.length; i < want; i++) built.push(this.#entry(ranked[i]!, i + 1));
    return built.length > want ? built.slice(0, want) : built.slice();
  }

  #entry(entry: Entry, rank: number): ReportEntry {
    const ops = this.state.ops;
    const agreed: Agreement[] = [];
    for (const { source, weight, aux, count } of entry.sightings()) {
      const op = ops[source]!;
      const extra = aux > 0 ? (op.kind === 'search' ? `#${aux}` : op.kind === 'fetch' ? `HTTP ${aux}` : undefined) : undefined;
      const detail = [op.detail, extra].filter((d) => d !== undefined).join(', ');
      agreed.push({ op: op.id, kind: op.kind, weight: round(weight), count, ...(detail === '' ? {} : { detail }) });
    }
    const fields = entry.fields;
    return {
      rank,
      key: entry.key,
      confidence: round(entry.confidence),
      sources: entry.sources,
      hits: entry.hits,
      explanation: explain(entry, agreed),
      agreed,
      ...fields,
      ...(fields.text === undefined ? {} : { text: stripEol(fields.text) }),
      // Copies: the aggregation may go on after the report is made.
      ...(fields.providers === undefined ? {} : { providers: fields.providers.slice() }),
      ...(fields.queries === undefined ? {} : { queries: fields.queries.slice() }),
    };
  }

  /** The report object of a view. */
  make(view: ReportView, extra: Pick<Report, 'budget' | 'spill'> = {}): Report {
    const s = this.state;
    const byState: Record<TerminalState, number> = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0, 'timed-out': 0 };
    const kinds = new Map<string, { kind: string; operations: number; succeeded: number; failed: number; other: number; items: number; fresh: number }>();
    for (const op of s.ops) {
      byState[op.state]++;
      let k = kinds.get(op.kind);
      if (k === undefined) {
        k = { kind: op.kind, operations: 0, succeeded: 0, failed: 0, other: 0, items: 0, fresh: 0 };
        kinds.set(op.kind, k);
      }
      k.operations++;
      if (op.state === 'succeeded') k.succeeded++;
      else if (op.state === 'failed' || op.state === 'timed-out') k.failed++;
      else k.other++;
      k.items += op.items;
      k.fresh += op.fresh;
    }
    let items = 0;
    let duplicates = 0;
    let evicted = false;
    const groups: ReportGroup[] = this.#groups().map((group) => {
      items += group.seen;
      duplicates += group.duplicates;
      if (group.evicted > 0) evicted = true;
      const entries = this.#entries(group, view.perGroup);
      return {
        type: group.type,
        title: TITLES[group.type] ?? group.type,
        seen: group.seen,
        distinct: group.distinct,
        exact: group.exact,
        duplicates: group.duplicates,
        held: group.size,
        evicted: group.evicted,
        ...(group.evicted > 0 ? { evictedAtMost: round(group.evictedAtMost) } : {}),
        omitted: group.size - entries.length,
        entries,
      };
    });
    const failures = s.failures.items.slice(0, view.failures);
    const problems = s.problems.items.slice(0, view.problems);
    const notes = s.notes.items.slice(0, view.notes);
    const operations = s.ops.slice(0, view.operations).map((op) => ({
      id: op.id,
      kind: op.kind,
      state: op.state,
      ...(op.detail === undefined ? {} : { detail: op.detail }),
      items: op.items,
      fresh: op.fresh,
      problems: op.problems,
      attempts: op.attempts,
      durationMs: op.durationMs,
      ...(op.parent === undefined ? {} : { parent: op.parent }),
      ...(op.expanded ? { expanded: true } : {}),
    }));
    const summary = s.summary;
    return {
      version: 1,
      title: this.title,
      createdAt: this.#createdAt,
      complete: byState.succeeded === s.ops.length && s.problems.total === 0 && !evicted,
      ...(summary === undefined
        ? {}
        : { run: { runId: summary.runId, ...(summary.name === undefined ? {} : { name: summary.name }), wallMs: summary.wallMs, busyMs: summary.busyMs, sequentialMs: summary.sequentialMs, speedup: summary.speedup } }),
      totals: { operations: s.ops.length, byState, items, distinct: items - duplicates, duplicates, failures: s.failures.total, problems: s.problems.total },
      kinds: [...kinds.values()],
      groups,
      failures: { total: s.failures.total, omitted: s.failures.total - failures.length, listed: failures, byCode: Object.fromEntries(s.failuresByCode) },
      problems: { total: s.problems.total, omitted: s.problems.total - problems.length, listed: problems },
      notes: { total: s.notes.total, omitted: s.notes.total - notes.length, listed: notes },
      operations: { total: s.ops.length, omitted: s.ops.length - operations.length, listed: operations },
      ...extra,
    };
  }
}

/** "0.75: 2 operations agreed — g1 (grep /TODO/ in src, ×3); g2 (grep /export/)". */
function explain(entry: Entry, agreed: Agreement[]): string {
  const parts = agreed.map((a) => `${a.op} (${[a.kind, a.detail].filter(Boolean).join(' ')}${a.count > 1 ? `, ×${a.count}` : ''})`);
  const more = entry.sources - agreed.length;
  const who = parts.join('; ') + (more > 0 ? `; and ${more} more` : '');
  const c = round(entry.confidence).toFixed(2);
  return entry.sources === 1 ? `${c}: found by ${who}` : `${c}: ${entry.sources} operations agreed — ${who}`;
}
