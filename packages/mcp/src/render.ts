/**
 * The text a model reads: the aggregated report of a run (`@fanout/aggregate`: deduplicated,
 * correlated, ranked), written for a model rather than a person. Paths are relative to the
 * root, the evidence for an entry is the ids of the operations that found it (each
 * operation's pattern or path is said once, in the operations list, not on every line), the
 * heads of the files read and pages fetched are there, and whatever a smaller view leaves
 * out is counted and pointed to. How much of each list is shown is a {@link TextView}; the
 * budget fitting (`fit.ts`) chooses it.
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { Report, ReportEntry, ReportGroup } from '@fanout/aggregate';
import type { TerminalState } from '@fanout/scheduler';

/** One operation of the run as the result lists it. */
export interface OperationEntry {
  id: string;
  kind: string;
  state: TerminalState | 'pending';
  attempts: number;
  durationMs: number;
  parent?: string;
  error?: { code: string; message: string; path?: string };
  output?: unknown;
}

/** Everything a renderer may draw on. */
export interface RenderInput {
  /** The tool that ran, e.g. `fanout_read`. */
  tool: string;
  /** What ran, in a few words (the plan's name). */
  title: string;
  handle: string;
  /** Every operation has ended. */
  done: boolean;
  /** The allowed roots; paths are shown relative to the first. */
  roots: readonly string[];
  /** Where the roots came from, and anything worth saying about them. */
  rootsSource: string;
  rootsNote?: string | undefined;
  counts: Record<TerminalState | 'pending', number>;
  total: number;
  wallMs: number;
  /** One-at-a-time estimate (the run's summary when done, else the attempts added up). */
  sequentialMs: number;
  /** Plan operations that have not ended. */
  pending: readonly string[];
  report: Report;
  /** Every operation, plan order then fan-out children, with outputs. */
  operations: readonly OperationEntry[];
  /**
   * Operations whose outputs the structured result carries beside this text: a rendering for
   * it leaves their contents out (a model shown both would read every file twice).
   */
  outputsShown?: ReadonlySet<string>;
}

/** How much of each list a rendering shows. */
export interface TextView {
  /** Entries per group (files, matches, URLs…). */
  entries: number;
  /** File heads, fetched pages and command outputs shown. */
  heads: number;
  /** Lines of each of them. */
  headLines: number;
  /** Operations listed. */
  operations: number;
  /** Failures and problems listed. */
  problems: number;
}

/** Where the full rendering and every output went when the text is a preview. */
export interface SpillPaths {
  dir: string;
  report: string;
  results: string;
}

/**
 * Renders a result's text for a view. The default is {@link renderRunText};
 * `fanout_explore_codebase` takes its own (see `render-explore.ts`), so a codebase map can
 * replace it without touching the rest.
 */
export type TextRenderer = (input: RenderInput, view: TextView, spill: SpillPaths | undefined) => string;

// ─── Small helpers ─────────────────────────────────────────────────────────────────────

/** 12,345 (toLocaleString goes through ICU: microseconds a call, and reports make thousands). */
export function n(x: number): string {
  const s = String(x);
  if (!Number.isInteger(x) || Math.abs(x) < 1000) return s;
  const sign = x < 0 ? '-' : '';
  const digits = sign === '' ? s : s.slice(1);
  let out = '';
  for (let i = digits.length; i > 0; i -= 3) out = i > 3 ? `,${digits.slice(i - 3, i)}${out}` : `${digits.slice(0, i)}${out}`;
  return sign + out;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${n(count)} ${count === 1 ? one : many}`;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function bytes(count: number): string {
  return count < 1024 ? `${count} B` : count < 1024 * 1024 ? `${(count / 1024).toFixed(1)} KiB` : `${(count / 1024 / 1024).toFixed(1)} MiB`;
}

/** Inline code that survives backticks and newlines inside. */
export function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  let fence = '`';
  while (flat.includes(fence)) fence += '`';
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** The shortest run of backticks (three or more) that `text` does not hold. */
function fenceFor(text: string): string {
  let fence = '```';
  while (text.includes(fence)) fence += '`';
  return fence;
}

/** Paths relative to the first root, in paths and in free text (messages, descriptions). */
export class Paths {
  readonly root: string;
  readonly #prefix: string;

  constructor(roots: readonly string[]) {
    this.root = roots[0] ?? process.cwd();
    this.#prefix = this.root.endsWith(sep) ? this.root : this.root + sep;
  }

  /** `src/a.ts` for `/root/src/a.ts`; `.` for the root; other paths as they are. */
  rel(path: string): string {
    if (path === this.root) return '.';
    // Adapters give absolute, normalised paths: below the root, the rest is the relative path.
    if (path.startsWith(this.#prefix) && !path.includes(`${sep}..${sep}`) && !path.includes(`${sep}.${sep}`)) return path.slice(this.#prefix.length);
    if (isAbsolute(path) && path.startsWith(this.#prefix)) return relative(this.root, path);
    return path;
  }

  /** Free text with every `/root/…` made relative. */
  text(text: string): string {
    if (!text.includes(this.root)) return text;
    return text
      .split(this.#prefix)
      .join('')
      .replace(new RegExp(`${escapeRegExp(this.root)}(?![\\w.-])`, 'g'), '.');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `← g1 g2 +3` : the ids of the operations that found an entry. */
function evidence(entry: ReportEntry): string {
  const ids = entry.agreed.map((a) => (a.kind === 'search' && /#\d+/.test(a.detail ?? '') ? `${a.op}${/#\d+/.exec(a.detail!)![0]}` : a.op));
  const more = entry.sources - entry.agreed.length;
  return `← ${ids.join(' ')}${more > 0 ? ` +${more}` : ''}`;
}

// ─── Sections ──────────────────────────────────────────────────────────────────────────

/** The first lines: what ran, how it went, where paths start, and what is still running. */
export function header(input: RenderInput, paths: Paths, heading: string): string[] {
  const states = (['succeeded', 'failed', 'timed-out', 'skipped', 'cancelled', 'pending'] as const)
    .filter((state) => input.counts[state] > 0)
    .map((state) => `${n(input.counts[state])} ${state === 'pending' ? 'still running' : state}`)
    .join(', ');
  const speedup = input.wallMs > 0 ? input.sequentialMs / input.wallMs : 0;
  const lines = [
    `# ${heading}: ${plural(input.total, 'operation')} — ${states === '' ? 'none' : states}`,
    `${seconds(input.wallMs)} wall${input.sequentialMs > 0 ? ` (≈ ${seconds(input.sequentialMs)} one at a time, ${speedup.toFixed(1)}×)` : ''} · paths relative to ${paths.root} (roots from the ${input.rootsSource}${input.roots.length > 1 ? `; others: ${input.roots.slice(1).join(', ')}` : ''}) · handle ${input.handle}`,
  ];
  if (input.rootsNote !== undefined) lines.push(`Note on roots: ${input.rootsNote}.`);
  if (!input.done) {
    const ids = input.pending.slice(0, 20).join(', ') + (input.pending.length > 20 ? `, … ${input.pending.length - 20} more` : '');
    lines.push(
      `**Not finished:** ${plural(input.counts.pending, 'operation')} still running or queued (${ids}); they carry on. Call fanout_status {"handle": "${input.handle}"} for the rest, or fanout_cancel to stop them.`,
    );
  }
  lines.push('');
  return lines;
}

/** Failures first, each with what the result lacks because of it; then problems inside successes. */
export function failures(input: RenderInput, paths: Paths, view: TextView): string[] {
  const { failures: f, problems: p } = input.report;
  if (f.total === 0 && p.total === 0) return [];
  const out = [`## Failures and what is missing (${n(f.total + p.total)})`];
  const listed = f.listed.slice(0, view.problems);
  for (const x of listed) {
    out.push(`- ${code(x.op)} ${x.kind} ${x.state} ${x.code}${x.path === undefined ? '' : ` at ${x.path}`}: ${paths.text(x.message)} — missing: ${paths.text(x.missing)}`);
  }
  const moreFailures = f.total - listed.length;
  if (moreFailures > 0)
    out.push(
      `- … ${plural(moreFailures, 'more failure')} (by code: ${Object.entries(f.byCode)
        .map(([c, k]) => `${c} ${n(k)}`)
        .join(', ')})`,
    );
  const problems = p.listed.slice(0, Math.max(0, view.problems - listed.length));
  if (problems.length > 0) out.push('Inside operations that succeeded:');
  for (const x of problems) out.push(`- ${code(x.op)} ${x.kind} ${x.code}: ${paths.text(x.message)}${x.missing === undefined ? '' : ` — missing: ${paths.text(x.missing)}`}`);
  if (p.total > problems.length) out.push(`- … ${plural(p.total - problems.length, 'more problem')}`);
  out.push('');
  return out;
}

/** One line per operation: its id, what it was (said once here), and what it gave. */
export function operationsList(input: RenderInput, paths: Paths, view: TextView): string[] {
  // Plan order (the report lists them in the order they ended).
  const order = new Map(input.operations.map((op, i) => [op.id, i]));
  const ops = [...input.report.operations.listed].sort((a, b) => (order.get(a.id) ?? order.size) - (order.get(b.id) ?? order.size));
  if (ops.length === 0 && input.pending.length === 0) return [];
  const out = ['## Operations (evidence below names them by id)'];
  for (const op of ops.slice(0, view.operations)) {
    const what = op.detail === undefined || op.detail === '' ? '' : ` ${paths.text(op.detail)}`;
    const gave = op.expanded === true ? 'fan-out' : op.state === 'succeeded' ? `${plural(op.items, 'result')}${op.problems > 0 ? `, ${plural(op.problems, 'problem')}` : ''}` : op.state;
    out.push(`- ${code(op.id)} ${op.kind}${what} → ${gave}`);
  }
  const more = input.report.operations.total - Math.min(ops.length, view.operations);
  if (more > 0) out.push(`- … ${plural(more, 'more operation')}`);
  out.push('');
  return out;
}

/** Lines of each entry, rendered once: a fitting renders the same report a dozen times. */
const entryLines = new WeakMap<ReportEntry, string[]>();

function entryLine(group: ReportGroup, e: ReportEntry, paths: Paths): string[] {
  let lines = entryLines.get(e);
  if (lines === undefined) {
    lines = renderEntry(group, e, paths);
    entryLines.set(e, lines);
  }
  return lines;
}

function renderEntry(group: ReportGroup, e: ReportEntry, paths: Paths): string[] {
  const ev = evidence(e);
  switch (group.type) {
    case 'file': {
      const facts = [
        e.count !== undefined && e.count > 0 ? plural(e.count, 'match', 'matches') : undefined,
        e.markers ? plural(e.markers, 'marker') : undefined,
        e.bytes !== undefined ? bytes(e.bytes) : undefined,
      ].filter(Boolean);
      return [`- ${paths.rel(e.path ?? e.key)}${facts.length > 0 ? ` · ${facts.join(' · ')}` : ''} ${ev}`];
    }
    case 'match':
      return [`- ${paths.rel(e.path ?? '')}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}: ${code((e.text ?? '').trim())} ${ev}`];
    case 'marker':
      return [`- ${e.tag ?? 'TODO'} ${paths.rel(e.path ?? '')}:${e.line}:${e.column}: ${(e.text ?? '').trim()} ${ev}`];
    case 'url': {
      const title = e.title === undefined ? '' : `${e.title} — `;
      const extra = [e.status !== undefined ? `HTTP ${e.status}` : undefined, e.finalUrl !== undefined ? `→ ${e.finalUrl}` : undefined].filter(Boolean).join(' ');
      const lines = [`- ${title}${e.url ?? e.key}${extra === '' ? '' : ` (${extra})`} ${ev}`];
      if (e.snippet !== undefined) lines.push(`  ${e.snippet.replace(/\s+/g, ' ').trim()}`);
      return lines;
    }
    case 'domain':
      return [`- ${e.domain ?? e.key} · ${plural(e.count ?? 0, 'URL')} ${ev}`];
    case 'query':
      return [`- "${e.query ?? e.key}" · ${plural(e.count ?? 0, 'result')} ${ev}`];
    case 'command':
      return [`- ${code(e.command ?? e.key)} exit ${e.exitCode ?? e.signal ?? '?'}${e.truncated === true ? ' (output cut)' : ''} ${ev}`];
    case 'write':
      return [`- ${paths.rel(e.path ?? e.key)}${e.mode !== undefined ? ` · ${e.mode}` : ''}${e.bytes !== undefined ? ` · ${bytes(e.bytes)}` : ''}${e.created === true ? ' · created' : ''} ${ev}`];
    case 'stats': {
      const langs = Object.entries(e.languages ?? {})
        .sort((a, b) => b[1].lines - a[1].lines)
        .slice(0, 8)
        .map(([name, f]) => `${name} ${n(f.files)} files / ${n(f.lines)} lines`)
        .join(', ');
      return [`- ${plural(e.files ?? 0, 'file')}, ${plural(e.lines ?? 0, 'line')}, ${bytes(e.bytes ?? 0)}${langs === '' ? '' : ` — ${langs}`} ${ev}`];
    }
    default:
      return [`- ${paths.text(e.label ?? e.key)} ${ev}`];
  }
}

/** The aggregated groups, each cut to `view.entries` entries (commands are shown with their outputs, in `heads`). */
export function groups(input: RenderInput, paths: Paths, view: TextView, order?: readonly string[]): string[] {
  const out: string[] = [];
  const list = order === undefined ? input.report.groups : [...input.report.groups].sort((a, b) => rankOf(order, a.type) - rankOf(order, b.type));
  for (const g of list) {
    if (g.entries.length === 0 && g.held === 0) continue;
    const shown = g.entries.slice(0, view.entries);
    out.push(`## ${g.title} — ${g.exact ? '' : '≈'}${n(g.distinct)} distinct${g.duplicates > 0 ? `, ${n(g.duplicates)} duplicates merged` : ''}`);
    for (const e of shown) out.push(...entryLine(g, e, paths));
    const more = g.held - shown.length;
    if (more > 0) out.push(`- … ${n(more)} more`);
    out.push('');
  }
  return out;
}

function rankOf(order: readonly string[], type: string): number {
  const i = order.indexOf(type);
  return i === -1 ? order.length : i;
}

/** A head worth showing: a file read, a page fetched, a command's output. */
interface Head {
  title: string;
  text: string;
  /** `text` without its trailing white space: what is shown when the head is whole. */
  body?: string;
  /** Lines of `body`, counted once (a fitting renders many times). */
  lineCount?: number;
  /**
   * `body` in lines, made only when a view cuts the head (a whole head is shown as `body`:
   * splitting every file read into lines only to join them again was most of the work and
   * garbage of a rendering).
   */
  lines?: string[];
  fence?: string;
  /** The operations whose outputs hold it (the structured result may carry them). */
  ops: string[];
  /** Lines of the whole thing when known (a read's `lines.total`). */
  totalLines?: number;
  firstLine: number;
  /** How to get more, said when the head is cut. */
  more: string;
}

/**
 * Every head in the run's outputs, in operation order. A file read by several operations is
 * shown once, from the read that returned most of it, under the ids of all of them.
 */
export function collectHeads(input: RenderInput, paths: Paths): Head[] {
  const cached = headsCache.get(input);
  if (cached !== undefined) return cached;
  // One list per run's operations: a result renders them for its structured text (without
  // the contents beside it) and for its text content (with them), 200 heads for 200 files.
  let all = allHeads.get(input.operations);
  if (all === undefined || all.root !== paths.root) {
    all = { root: paths.root, heads: everyHead(input.operations, paths) };
    allHeads.set(input.operations, all);
  }
  const shown = input.outputsShown;
  const kept = shown === undefined ? all.heads : all.heads.filter((head) => !head.ops.every((id) => shown.has(id)));
  for (const head of kept) {
    if (head.body !== undefined) continue;
    head.body = head.text.trimEnd();
    head.lineCount = countLines(head.body);
    head.fence = fenceFor(head.text);
  }
  headsCache.set(input, kept);
  return kept;
}

const headsCache = new WeakMap<RenderInput, Head[]>();
const allHeads = new WeakMap<readonly OperationEntry[], { root: string; heads: Head[] }>();

/** The heads of {@link collectHeads}, before the ones whose outputs are shown elsewhere are left out. */
function everyHead(operations: readonly OperationEntry[], paths: Paths): Head[] {
  const heads: Head[] = [];
  const files = new Map<string, { head: Head; ids: string[] }>();
  for (const op of operations) {
    if (op.state !== 'succeeded' || op.output === null || typeof op.output !== 'object') continue;
    const o = op.output as Record<string, unknown>;
    if (op.kind === 'read' && Array.isArray(o.files)) {
      for (const f of o.files as Record<string, unknown>[]) {
        if (f?.ok !== true || typeof f.text !== 'string' || f.binary === true) continue;
        const lines = f.lines as { from?: number; to?: number; total?: number } | undefined;
        const from = lines?.from ?? 1;
        const path = paths.rel(String(f.path));
        const head: Head = { title: path, text: f.text, ops: [op.id], ...(lines?.total === undefined ? {} : { totalLines: lines.total }), firstLine: from, more: `read ${path} with from/to` };
        const key = `${path}:${from}`;
        const seen = files.get(key);
        if (seen === undefined) {
          files.set(key, { head, ids: [op.id] });
          heads.push(head);
        } else {
          seen.ids.push(op.id);
          seen.head.ops.push(op.id);
          if (f.text.length > seen.head.text.length) Object.assign(seen.head, { ...head, ops: seen.head.ops });
        }
      }
    } else if (op.kind === 'fetch' && typeof o.text === 'string') {
      heads.push({
        title: `${String(o.url)} (${op.id}) HTTP ${String(o.status)}${typeof o.contentType === 'string' ? ` ${o.contentType}` : ''}`,
        text: o.text,
        ops: [op.id],
        firstLine: 1,
        more: 'the page is whole in the results file',
      });
    } else if (op.kind === 'bash') {
      const out = [typeof o.stdout === 'string' ? o.stdout : '', typeof o.stderr === 'string' && o.stderr.trim() !== '' ? `--- stderr ---\n${o.stderr}` : ''].filter((part) => part !== '').join('\n');
      if (out.trim() !== '') heads.push({ title: `output of ${op.id} (exit ${String(o.exitCode ?? o.signal)})`, text: out, ops: [op.id], firstLine: 1, more: 'the output is whole in the results file' });
    }
  }
  for (const { head, ids } of files.values()) head.title = `${head.title} (${ids.join(', ')})`;
  return heads;
}

/** Lines of `text` as `text.split('\n')` would make them, counted without making them. */
function countLines(text: string): number {
  let count = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** The longest head, in lines (the full view shows them whole). */
export function longestHead(heads: readonly Head[]): number {
  let most = 0;
  for (const h of heads) most = Math.max(most, h.lineCount ?? 0);
  return most;
}

/** The heads, `view.heads` of them at `view.headLines` lines each. */
export function headsSection(heads: readonly Head[], view: TextView, title = 'Contents', input?: RenderInput): string[] {
  const elsewhere = input?.outputsShown === undefined ? [] : input.operations.filter((op) => input.outputsShown!.has(op.id) && (op.kind === 'read' || op.kind === 'fetch' || op.kind === 'bash')).map((op) => op.id);
  if (heads.length === 0 && elsewhere.length === 0) return [];
  const out = [`## ${title}`];
  if (elsewhere.length > 0)
    out.push(
      `(What ${elsewhere.slice(0, 20).join(', ')}${elsewhere.length > 20 ? `, … ${elsewhere.length - 20} more` : ''} returned is whole in ${elsewhere.length === 1 ? 'its entry' : 'their entries'}' output, not repeated here.)`,
    );
  for (const h of heads.slice(0, view.heads)) {
    const all = h.lineCount ?? 0;
    const whole = all <= view.headLines;
    const shown = whole ? all : view.headLines;
    const last = h.firstLine + shown - 1;
    const of = h.totalLines === undefined ? '' : ` of ${n(h.totalLines)}`;
    const fence = h.fence ?? '```';
    // A whole head is its body: the same text its lines joined would give.
    out.push(`### ${h.title} — lines ${h.firstLine}–${last}${of}`, fence, ...(whole ? [h.body ?? ''] : (h.lines ??= (h.body ?? '').split('\n')).slice(0, shown)), fence);
    if (shown < all) out.push(`(${plural(all - shown, 'more line')} here: ${h.more})`);
  }
  if (heads.length > view.heads) out.push(`(${plural(heads.length - view.heads, 'more head')} not shown)`);
  out.push('');
  return out;
}

/** What a preview left out, and where all of it is. */
export function cutNotice(input: RenderInput, view: TextView, heads: readonly Head[], spill: SpillPaths | undefined): string[] {
  if (spill === undefined) return [];
  const parts: string[] = [];
  for (const g of input.report.groups) if (g.held > view.entries) parts.push(`${n(view.entries)} of ${n(g.held)} ${g.title.toLowerCase()}`);
  if (heads.length > 0 && (heads.length > view.heads || view.headLines < longestHead(heads)))
    parts.push(`${n(Math.min(view.heads, heads.length))} of ${n(heads.length)} contents at most ${plural(view.headLines, 'line')} each`);
  if (input.report.operations.total > view.operations) parts.push(`${n(view.operations)} of ${n(input.report.operations.total)} operations`);
  return [
    '## Cut to the output budget',
    `Shown: ${parts.length > 0 ? parts.join('; ') : 'a shortened view'}.`,
    `The full text is ${spill.report}; every operation's output is in ${spill.results}. Read them with fanout_read, e.g. {"operations": [{"id": "more", "kind": "read", "input": {"path": "${spill.report}", "from": 1, "to": 400}}]}.`,
    '',
  ];
}

/**
 * The default rendering of a run: header, failures, the operations (each said once), the
 * aggregated groups with the ids that found each entry, then the contents read.
 */
export const renderRunText: TextRenderer = (input, view, spill) => {
  const paths = new Paths(input.roots);
  const heads = collectHeads(input, paths);
  return endWithNewline(
    [
      ...header(input, paths, `${input.tool} ${input.title}`.trim()),
      ...failures(input, paths, view),
      ...operationsList(input, paths, view),
      ...groups(input, paths, view),
      ...headsSection(heads, view, 'Contents', input),
      ...cutNotice(input, view, heads, spill),
    ].join('\n'),
  );
};

/**
 * `text.trimEnd()` and one newline. A text that already ends so is returned as it is: the
 * trimmed text joined with a newline would be a string made of two, which the SDK's
 * `JSON.stringify` must copy whole into one before it writes it (a text holding 200 files
 * read is 670 KB in memory), and a rendering usually ends with exactly one newline already.
 */
export function endWithNewline(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.length === text.length - 1 && text.endsWith('\n') ? text : `${trimmed}\n`;
}
