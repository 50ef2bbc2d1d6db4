import type { Report, ReportEntry, ReportGroup } from './report-schema.js';

/**
 * 12,345 (toLocaleString goes through ICU and costs microseconds a call, and its first call in
 * a process loads ICU's locale data: a hundred milliseconds and more).
 */
export function n(x: number): string {
  const s = String(x);
  if (!Number.isInteger(x) || Math.abs(x) < 1000) return s;
  const neg = s.startsWith('-') ? '-' : '';
  const digits = neg === '' ? s : s.slice(1);
  let out = '';
  for (let i = digits.length; i > 0; i -= 3) out = i > 3 ? `,${digits.slice(i - 3, i)}${out}` : `${digits.slice(0, i)}${out}`;
  return neg + out;
}
const plural = (count: number, one: string, many = `${one}s`): string => `${n(count)} ${count === 1 ? one : many}`;

const SPECIAL_IN_CODE = /[`\r\n]/;
const SPECIAL = /[\\`*_[\]<>|#\r\n]/;

/** Inline code that survives backticks inside (CommonMark: a longer fence, padded). */
function code(text: string): string {
  if (!SPECIAL_IN_CODE.test(text)) return `\`${text}\``;
  const flat = text.replace(/[\r\n]+/g, ' ');
  let fence = '`';
  while (flat.includes(fence)) fence += '`';
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** Text that is not read as Markdown syntax. */
function plain(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(/[\r\n]+/g, ' ').replace(/([\\`*_[\]<>|#])/g, '\\$1');
}

function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
}

function link(title: string, url: string): string {
  const target = /[\s()<>]/.test(url) ? `<${url.replace(/[<>]/g, encodeURIComponent)}>` : url;
  return `[${plain(title)}](${target})`;
}

function block(text: string): string[] {
  let fence = '```';
  while (text.includes(fence)) fence += '`';
  return [
    `   ${fence}`,
    ...text
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => `   ${l}`),
    `   ${fence}`,
  ];
}

function bytes(count: number): string {
  return count < 1024 ? `${count} B` : count < 1024 * 1024 ? `${(count / 1024).toFixed(1)} KiB` : `${(count / 1024 / 1024).toFixed(1)} MiB`;
}

function entryLine(group: ReportGroup, e: ReportEntry): string[] {
  const why = `— ${e.explanation}`;
  switch (group.type) {
    case 'url': {
      const head = e.title !== undefined ? `**${link(e.title, e.url ?? e.key)}**` : `<${e.url ?? e.key}>`;
      const extra = [e.status !== undefined ? `HTTP ${e.status}` : undefined, e.finalUrl !== undefined ? `→ ${e.finalUrl}` : undefined].filter(Boolean).join(' ');
      const lines = [`${e.rank}. ${head}${extra === '' ? '' : ` (${extra})`} ${why}`];
      if (e.snippet !== undefined) lines.push(`   ${plain(e.snippet)}`);
      return lines;
    }
    case 'domain':
      return [`${e.rank}. ${code(e.domain ?? e.key)} · ${plural(e.count ?? 0, 'URL')} ${why}`];
    case 'file':
      return [
        `${e.rank}. ${code(e.path ?? e.key)}${e.count !== undefined && e.count > 0 ? ` · ${plural(e.count, 'match', 'matches')}` : ''}${e.markers !== undefined && e.markers > 0 ? ` · ${plural(e.markers, 'marker')}` : ''}${e.bytes !== undefined ? ` · ${bytes(e.bytes)}` : ''} ${why}`,
      ];
    case 'match':
      return [`${e.rank}. ${code(`${e.path}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}`)} ${code(e.text ?? '')} ${why}`];
    case 'marker':
      return [`${e.rank}. **${e.tag ?? 'TODO'}** ${code(`${e.path}:${e.line}:${e.column}`)} ${plain(e.text ?? '')} ${why}`];
    case 'query':
      return [`${e.rank}. "${plain(e.query ?? e.key)}" · ${plural(e.count ?? 0, 'result')}${e.providers !== undefined && e.providers.length > 0 ? ` · ${e.providers.join(', ')}` : ''} ${why}`];
    case 'command': {
      const lines = [`${e.rank}. ${code(e.command ?? e.key)} · exit ${e.exitCode === null || e.exitCode === undefined ? (e.signal ?? '?') : e.exitCode}${e.truncated === true ? ' · output cut' : ''} ${why}`];
      if (e.stdout !== undefined && e.stdout.trim() !== '') lines.push(...block(e.stdout));
      if (e.stderr !== undefined && e.stderr.trim() !== '') lines.push('   stderr:', ...block(e.stderr));
      return lines;
    }
    case 'write':
      return [`${e.rank}. ${code(e.path ?? e.key)}${e.mode !== undefined ? ` · ${e.mode}` : ''}${e.bytes !== undefined ? ` · ${bytes(e.bytes)}` : ''}${e.created === true ? ' · created' : ''} ${why}`];
    case 'stats': {
      const langs = Object.entries(e.languages ?? {})
        .sort((a, b) => b[1].lines - a[1].lines)
        .slice(0, 8)
        .map(([name, f]) => `${name} ${plural(f.files, 'file')} / ${plural(f.lines, 'line')}`)
        .join(', ');
      return [`${e.rank}. ${plural(e.files ?? 0, 'file')}, ${plural(e.lines ?? 0, 'line')}, ${bytes(e.bytes ?? 0)}${langs === '' ? '' : ` — ${langs}`} (${e.agreed[0]?.op ?? e.key})`];
    }
    default:
      return [`${e.rank}. ${plain(e.label ?? e.key)} ${why}`];
  }
}

/** Lines already rendered, per entry object (budget fitting renders one report many times). */
export type LineCache = Map<ReportEntry, string[]>;

function cachedEntryLine(group: ReportGroup, e: ReportEntry, cache: LineCache | undefined): string[] {
  let lines = cache?.get(e);
  if (lines === undefined) {
    lines = entryLine(group, e);
    cache?.set(e, lines);
  }
  return lines;
}

function groupHeading(g: ReportGroup): string {
  if (g.type === 'domain') return `## ${g.title} — ${plural(g.held, 'domain')}`;
  const counts = [`${g.exact ? '' : '≈'}${n(g.distinct)} distinct`, `${n(g.seen)} seen`, g.duplicates > 0 ? plural(g.duplicates, 'duplicate') : undefined].filter(Boolean).join(' · ');
  return `## ${g.title} — ${counts}`;
}

/**
 * The report as Markdown: what ran, what failed and what is missing because of it, then
 * each group's ranked entries with their explanation, notes, operations and kinds. When the
 * report carries a Markdown budget it is honoured: the report was fitted to it, and if even
 * the smallest preview is too long the text is cut, with a pointer to the full report.
 */
export function renderMarkdown(report: Report): string {
  const text = renderFull(report);
  const budget = report.budget;
  if (budget === undefined || budget.format !== 'markdown' || text.length <= budget.limitChars) return text;
  const tail = `\n\n… cut at the output budget (${n(budget.limitChars)} characters)${report.spill !== undefined ? `; the full report is in ${report.spill.path}` : ''}\n`;
  if (tail.length >= budget.limitChars) return tail.slice(0, budget.limitChars);
  const room = budget.limitChars - tail.length;
  const cut = text.lastIndexOf('\n', room);
  return text.slice(0, cut > 0 ? cut : room) + tail;
}

/**
 * The rendering without the last-resort cut (what budget fitting measures). `cache` keeps
 * entry lines between renderings of reports that share entry objects.
 */
export function renderFull(report: Report, cache?: LineCache): string {
  const out: string[] = [`# ${plain(report.title)}`, ''];
  const t = report.totals;
  const states = Object.entries(t.byState)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${n(count)} ${state}`)
    .join(', ');
  const run = report.run;
  out.push(
    `**${plural(t.operations, 'operation')}**${states === '' ? '' : ` (${states})`} · **${plural(t.items, 'result')} → ${n(t.distinct)} distinct** (${plural(t.duplicates, 'duplicate')} removed)` +
      (run === undefined ? '' : ` · ${(run.wallMs / 1000).toFixed(2)} s wall, ${run.speedup.toFixed(1)}× faster than one at a time (${(run.sequentialMs / 1000).toFixed(2)} s, estimated)`),
  );
  out.push('');
  if (report.spill !== undefined) {
    out.push(`> This is a preview within the output budget. The full report (${n(report.spill.chars)} characters, up to ${n(report.spill.perGroup)} entries per group) is in ${code(report.spill.path)}.`, '');
  }
  if (!report.complete) {
    const why = [
      t.operations - t.byState.succeeded > 0 ? `${plural(t.operations - t.byState.succeeded, 'operation')} did not succeed` : undefined,
      t.problems > 0 ? `${plural(t.problems, 'problem')} inside operations that did` : undefined,
      report.groups.some((g) => g.evicted > 0) ? 'weak entries were forgotten to bound memory' : undefined,
    ].filter(Boolean);
    out.push(`**Partial result:** ${why.join('; ')}. What is missing is listed below.`, '');
  }

  if (report.failures.total > 0 || report.problems.total > 0) {
    out.push('## Failures and what is missing', '');
    for (const f of report.failures.listed) {
      out.push(`- ${code(f.op)} (${f.kind}, ${f.state}, ${f.code}${f.path !== undefined ? ` at ${code(f.path)}` : ''}): ${plain(f.message)} — **missing:** ${plain(f.missing)}`);
    }
    if (report.failures.omitted > 0) {
      const codes = Object.entries(report.failures.byCode)
        .map(([c, count]) => `${c} ${n(count)}`)
        .join(', ');
      out.push(`- … ${plural(report.failures.omitted, 'more failure')} (by code: ${codes})`);
    }
    if (report.problems.total > 0) {
      if (report.failures.total > 0) out.push('');
      out.push('In operations that succeeded:', '');
      for (const p of report.problems.listed) {
        out.push(`- ${code(p.op)} (${p.kind}, ${p.code}): ${plain(p.message)}${p.missing !== undefined ? ` — **missing:** ${plain(p.missing)}` : ''}`);
      }
      if (report.problems.omitted > 0) out.push(`- … ${plural(report.problems.omitted, 'more problem')}`);
    }
    out.push('');
  }

  for (const g of report.groups) {
    out.push(groupHeading(g), '');
    if (g.evicted > 0) {
      out.push(`_Memory bound: ${plural(g.evicted, 'weak entry', 'weak entries')} (confidence ≤ ${(g.evictedAtMost ?? 0).toFixed(2)}) forgotten; distinct count estimated._`, '');
    }
    for (const e of g.entries) out.push(...cachedEntryLine(g, e, cache));
    if (g.omitted > 0) out.push(`- … ${n(g.omitted)} more${report.spill !== undefined ? ' in the full report' : ''}`);
    out.push('');
  }

  if (report.notes.total > 0) {
    out.push('## Notes', '');
    for (const note of report.notes.listed) out.push(`- ${plain(note)}`);
    if (report.notes.omitted > 0) out.push(`- … ${plural(report.notes.omitted, 'more note')}`);
    out.push('');
  }

  if (report.operations.listed.length > 0) {
    out.push('## Operations', '', '| id | kind | state | what | items | new | problems |', '| --- | --- | --- | --- | ---: | ---: | ---: |');
    for (const op of report.operations.listed) {
      const what = op.expanded === true ? `fan-out${op.detail === undefined || op.detail === '' ? '' : `; ${op.detail}`}` : (op.detail ?? '');
      out.push(`| ${cell(op.id)} | ${op.kind} | ${op.state} | ${cell(what)} | ${n(op.items)} | ${n(op.fresh)} | ${op.problems} |`);
    }
    if (report.operations.omitted > 0) out.push(`| … ${n(report.operations.omitted)} more | | | | | | |`);
    out.push('');
  }

  if (report.kinds.length > 0) {
    out.push('## By kind', '', '| kind | operations | succeeded | failed | skipped or cancelled | items | new |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const k of report.kinds) out.push(`| ${k.kind} | ${n(k.operations)} | ${n(k.succeeded)} | ${n(k.failed)} | ${n(k.other)} | ${n(k.items)} | ${n(k.fresh)} |`);
    out.push('');
  }
  return out.join('\n');
}
