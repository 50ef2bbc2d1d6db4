/**
 * The codebase map as text, within a token budget: sections in the order a newcomer reads
 * them, each heading naming the operations its facts come from (by id; no pattern is
 * repeated). Every list is cut to a share of its cap; the largest share that fits the budget
 * is found by bisection, and key files keep their outlines while the budget lasts. What was
 * cut is counted at the end (and returned, so `--json` can say it).
 */
import { CHARS_PER_TOKEN, formatCount } from '@fanout/aggregate';
import type { CodebaseMap } from './build.js';

/** The text report's budget when none is given, in tokens (≈ characters / 4). */
export const DEFAULT_MAP_BUDGET_TOKENS = 8000;

/** Options of {@link renderCodebaseMap}. */
export interface RenderMapOptions {
  /** Most tokens the text may take (≈ characters / 4). @default 8000 */
  budgetTokens?: number;
}

/** A rendered map. */
export interface RenderedMap {
  text: string;
  /** Its size in tokens (characters / 4, rounded up). */
  tokens: number;
  /** What the text left out, one line per list that was cut (empty when nothing was). */
  omitted: string[];
}

/** The most of each list a full rendering shows. */
const CAPS = {
  languages: 16,
  workspaces: 8,
  members: 40,
  layout: 16,
  entries: 24,
  keyFiles: 30,
  outlines: 30,
  symbols: 14,
  frameworks: 8,
  testDirs: 8,
  scripts: 16,
  makeTargets: 20,
  ci: 10,
  env: 30,
  envFiles: 3,
  configFiles: 14,
  markerFiles: 8,
  markerExamples: 6,
  heads: 6,
  headLines: 30,
  patternMatches: 20,
} as const;

type View = { -readonly [K in keyof typeof CAPS]: number };

function viewOf(share: number): View {
  const view = {} as View;
  for (const key of Object.keys(CAPS) as (keyof typeof CAPS)[]) view[key] = Math.ceil(CAPS[key] * share);
  // Outlines go before anything else is cut below half: they are the map's own contribution.
  view.outlines = Math.ceil(CAPS.outlines * share * share);
  return view;
}

// Not toLocaleString: its first call loads ICU's locale data, 100 ms and more of a map's cost.
const n = formatCount;

function ids(ops: readonly string[]): string {
  return ops.length === 0 ? '' : ` [${ops.join(', ')}]`;
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function fenceFor(lines: readonly string[]): string {
  let fence = '```';
  while (lines.some((l) => l.includes(fence))) fence += '`';
  return fence;
}

/** Renders `map` for a view; `omitted` collects what the view cut. */
function render(map: CodebaseMap, view: View, omitted: string[]): string {
  const out: string[] = [];
  const cut = <T>(list: readonly T[], cap: number, what: string): readonly T[] => {
    if (list.length > cap) omitted.push(`${what}: ${n(list.length - cap)} of ${n(list.length)} not shown`);
    return list.slice(0, cap);
  };

  const o = map.overview;
  out.push(`# ${map.name} — codebase map`);
  if (o.description !== undefined) out.push('', `${o.description} (from ${o.descriptionFrom ?? 'the manifests'})`);
  out.push('', `Size: ${n(o.files)} files, ${n(o.lines)} lines, ${size(o.bytes)}${o.binaryFiles > 0 ? `; ${n(o.binaryFiles)} binary files apart` : ''}${o.truncated ? ' (file cap reached: partial)' : ''}.${ids(o.ops)}`);

  const rows = map.languages.rows;
  if (rows.length > 0) {
    out.push('', `## Languages${ids(map.languages.ops)}`, '', '| language | files | blank | comment | code |', '| --- | ---: | ---: | ---: | ---: |');
    for (const r of cut(rows, view.languages, 'languages')) out.push(`| ${r.language} | ${n(r.files)} | ${n(r.blank)} | ${n(r.comment)} | ${n(r.code)} |`);
  }

  const s = map.structure;
  out.push('', `## Structure${ids(s.ops)}`);
  if (s.workspaces.length === 0) out.push('', 'No workspace or package manifest found.');
  for (const w of cut(s.workspaces, view.workspaces, 'workspaces')) {
    out.push('', `${w.kind} (${w.manifest}): ${w.members.length} ${w.members.length === 1 ? 'member' : 'members'}`);
    for (const m of cut(w.members, view.members, `${w.kind} members`)) {
      const label = m.name === m.path ? m.path : `${m.path} — ${m.name}`;
      out.push(`- ${label}${m.version === undefined ? '' : ` ${m.version}`}${m.description === undefined ? '' : `: ${m.description.length > 90 ? `${m.description.slice(0, 89)}…` : m.description}`}`);
    }
  }
  if (s.layout.length > 0)
    out.push(
      '',
      `Layout: ${cut(s.layout, view.layout, 'top-level entries')
        .map((l) => `${l.path} (${n(l.files)}${l.language === undefined ? '' : `, ${l.language}`})`)
        .join(' · ')}`,
    );

  const e = map.entryPoints;
  out.push('', `## Entry points${ids(e.ops)}`, '');
  if (e.items.length === 0) out.push('None declared or found.');
  for (const item of cut(e.items, view.entries, 'entry points')) out.push(`- ${item.path} — ${item.kind}${item.name === undefined ? '' : ` \`${item.name}\``}${item.from === item.path ? '' : ` (${item.from})`}`);

  const k = map.keyFiles;
  out.push('', `## Key files${ids(k.ops)}`, '', `Ranked by ${k.method}; ${n(k.edges)} import edges.`);
  const keyFiles = cut(k.items, view.keyFiles, 'key files');
  keyFiles.forEach((f, i) => {
    const facts = [`${f.language}`, `${n(f.lines)} lines`, `imported by ${n(f.importedBy)}`, ...(f.exportMatches === undefined ? [] : [`${n(f.exportMatches)} export matches`])];
    out.push(`${i + 1}. ${f.path} — ${facts.join(', ')}`);
    if (i >= view.outlines) return;
    const symbols = f.symbols.filter((sym) => sym.exported).length > 0 ? f.symbols.filter((sym) => sym.exported || sym.kind === 'impl') : f.symbols;
    for (const sym of symbols.slice(0, view.symbols)) out.push(`   - L${sym.line} \`${sym.signature}\``);
    if (symbols.length > view.symbols) out.push(`   - … ${n(symbols.length - view.symbols)} more`);
  });
  if (k.items.length > 0 && Math.min(view.outlines, keyFiles.length) < Math.min(k.items.length, CAPS.keyFiles)) omitted.push(`outlines: shown for the first ${Math.min(view.outlines, keyFiles.length)} key files`);

  const t = map.tests;
  const b = map.build;
  out.push('', `## Tests, build and CI${ids([...new Set([...t.ops, ...b.ops])])}`, '');
  out.push(
    `- Tests: ${n(t.files)} files, ${n(t.cases)} test cases${
      t.frameworks.length === 0
        ? ''
        : `; ${cut(t.frameworks, view.frameworks, 'test frameworks')
            .map((f) => `${f.name} (${f.from})`)
            .join(', ')}`
    }`,
  );
  if (t.dirs.length > 0)
    out.push(
      `- Where: ${cut(t.dirs, view.testDirs, 'test directories')
        .map((d) => `${d.path} (${n(d.files)})`)
        .join(', ')}`,
    );
  if (b.scripts.length > 0)
    out.push(
      `- Scripts: ${cut(b.scripts, view.scripts, 'scripts')
        .map((sc) => `\`${sc.name}\`: ${sc.command.length > 70 ? `${sc.command.slice(0, 69)}…` : sc.command}`)
        .join('; ')} (${b.scripts[0]!.manifest})`,
    );
  if (b.makeTargets.length > 0) out.push(`- Make targets: ${cut(b.makeTargets, view.makeTargets, 'make targets').join(', ')}`);
  out.push(`- CI: ${b.ci.length === 0 ? 'none found' : cut(b.ci, view.ci, 'CI files').join(', ')}`);

  const c = map.configuration;
  out.push('', `## Configuration${ids(c.ops)}`, '');
  if (c.env.length === 0) out.push('- Environment variables: none read by name');
  else
    out.push(
      `- Environment variables: ${cut(c.env, view.env, 'environment variables')
        .map((v) => `${v.name} (${v.files.slice(0, view.envFiles).join(', ')}${v.files.length > view.envFiles ? ` +${v.files.length - view.envFiles}` : ''})`)
        .join('; ')}`,
    );
  if (c.files.length > 0) out.push(`- Config files: ${cut(c.files, view.configFiles, 'config files').join(', ')}`);

  const m = map.markers;
  out.push('', `## Markers${ids(m.ops)}`, '');
  if (m.total === 0) out.push('None.');
  else {
    out.push(
      `${Object.entries(m.counts)
        .map(([kind, count]) => `${kind} ${n(count)}`)
        .join(', ')}${m.truncated ? ' (capped)' : ''}; most in ${cut(m.top, view.markerFiles, 'files with markers')
        .map((f) => `${f.path} (${f.count})`)
        .join(', ')}`,
    );
    for (const x of cut(m.examples, view.markerExamples, 'marker examples')) out.push(`- ${x.path}:${x.line} ${x.text}`);
  }

  for (const pattern of map.patterns) {
    out.push('', `## Your pattern [${pattern.id}]`, '', `${n(pattern.total)} matching lines`);
    for (const match of cut(pattern.matches, view.patternMatches, `${pattern.id} matches`)) out.push(`- ${match.path}:${match.line} ${match.text}`);
  }

  const h = map.heads;
  if (h.items.length > 0) {
    out.push('', `## Heads${ids(h.ops)}`);
    for (const head of cut(h.items, view.heads, 'heads')) {
      const lines = head.lines.slice(0, view.headLines);
      if (lines.length === 0) continue;
      const fence = fenceFor(lines);
      out.push('', `${head.path}${head.lines.length > lines.length ? ` (first ${lines.length} lines)` : ''}:`, fence, ...lines, fence);
    }
  }
  if (map.problems.length > 0) out.push('', `## Problems`, '', ...map.problems.map((p) => `- ${p.id}: ${p.state}`));
  return out.join('\n');
}

/**
 * The map as text within `budgetTokens`: the full view when it fits, else the largest share
 * of every list that does (ten bisection steps), with the cuts listed at the end.
 *
 * @example
 * const { text, omitted } = renderCodebaseMap(buildCodebaseMap(root, operations), { budgetTokens: 4000 });
 */
export function renderCodebaseMap(map: CodebaseMap, options: RenderMapOptions = {}): RenderedMap {
  const budget = (options.budgetTokens ?? DEFAULT_MAP_BUDGET_TOKENS) * CHARS_PER_TOKEN;
  const attempt = (share: number): { text: string; omitted: string[] } => {
    const omitted: string[] = [];
    const body = render(map, viewOf(share), omitted);
    const tail = omitted.length === 0 ? '' : `\n\n## Left out (budget ${n(Math.floor(budget / CHARS_PER_TOKEN))} tokens; --json has everything)\n\n${omitted.map((line) => `- ${line}`).join('\n')}`;
    return { text: `${body}${tail}\n`, omitted };
  };
  let best = attempt(1);
  if (best.text.length > budget) {
    let lo = 0;
    let hi = 1;
    best = attempt(0);
    for (let i = 0; i < 10; i++) {
      const mid = (lo + hi) / 2;
      const next = attempt(mid);
      if (next.text.length <= budget) {
        lo = mid;
        best = next;
      } else hi = mid;
    }
    // Even the smallest view is over: cut at a line end, and say so.
    if (best.text.length > budget) {
      const note = '\n… (cut at the budget)\n';
      const room = Math.max(0, budget - note.length);
      const at = best.text.lastIndexOf('\n', room);
      best = { text: `${best.text.slice(0, at > 0 ? at : room)}${note}`, omitted: [...best.omitted, 'the text was cut at the budget'] };
    }
  }
  return { text: best.text, tokens: Math.ceil(best.text.length / CHARS_PER_TOKEN), omitted: best.omitted };
}
