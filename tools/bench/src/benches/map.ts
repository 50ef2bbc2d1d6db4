/**
 * `explore-map`: the codebase map of `fanout explore-codebase` against `cloc`, side by side on
 * real trees (the typescript package always; the directories of `BENCH_TREES` for local runs,
 * e.g. `BENCH_TREES=/work/trees/ripgrep`). Subjects, each a whole process:
 *
 * - `fanout` — `fanout explore-codebase <tree> --json` (the map): wall time, the text report's
 *   size in tokens, and the map's language totals;
 * - `fanout --no-map` — the same exploration without the map analysis and rendering: the
 *   map's overhead is fanout ÷ this;
 * - `cloc` — `cloc --json --skip-uniqueness --list-file` over exactly the files the map
 *   counted (found first, untimed, with the map analysis in this process), so both count the
 *   same tree: wall time, and the map's counts' distance from cloc's per line kind;
 * - `cloc --strip-str-comments` — the same with cloc's own workaround for comment markers
 *   inside strings (without it, cloc takes the `/*` of `"/*\n!/dir"` for a block comment and
 *   counts the next thousand lines of ripgrep's tests as comments; the map skips strings).
 *   The counting goal is measured against this one.
 *
 * Goals (issue 17): counts within 2% of cloc; text ≤ 8,000 tokens; the map ≤ 20% over the
 * exploration's wall time without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { benchTrees, FANOUT, NODE_MODULES, onPath, type RealTree, repeat, requireFanout, timed } from '../whole-process.js';

/** The typescript package (quick too), and BENCH_TREES. */
function trees(quick: boolean): RealTree[] {
  const typescript: RealTree = { tree: 'node_modules/typescript', path: join(NODE_MODULES, 'typescript') };
  return quick ? [typescript] : [typescript, ...benchTrees()];
}

type Lines = { files: number; blank: number; comment: number; code: number };

/** cloc's language names → the map's (see `languageOf`). */
const CLOC_NAMES: Readonly<Record<string, string>> = {
  'Bourne Shell': 'Shell',
  'Bourne Again Shell': 'Shell',
  zsh: 'Shell',
  fish: 'Shell',
  'C/C++ Header': 'C',
  'Fish Shell': 'Shell',
};

/** Per-language totals of cloc's `--json`, under the map's names. */
function clocTotals(json: string): Map<string, Lines> {
  const parsed = JSON.parse(json) as Record<string, { nFiles?: number; blank?: number; comment?: number; code?: number }>;
  const totals = new Map<string, Lines>();
  for (const [name, row] of Object.entries(parsed)) {
    if (name === 'header' || name === 'SUM' || row.nFiles === undefined) continue;
    const ours = CLOC_NAMES[name] ?? name;
    const t = totals.get(ours) ?? { files: 0, blank: 0, comment: 0, code: 0 };
    totals.set(ours, { files: t.files + row.nFiles, blank: t.blank + (row.blank ?? 0), comment: t.comment + (row.comment ?? 0), code: t.code + (row.code ?? 0) });
  }
  return totals;
}

interface MapJson {
  totals: { operations: number; byState: Record<string, number> };
  languages: { rows: (Lines & { language: string })[] };
  text: { tokens: number; omitted: string[] };
}

/** The files the map analysis counts under `dir` (text files, the walk's rules), absolute. */
async function mapFiles(dir: string): Promise<{ files: string[]; languages: Map<string, Lines> }> {
  const { adaptersFromConfig } = await import('@fanout/profiles');
  const { createScheduler } = await import('@fanout/scheduler');
  const configured = await adaptersFromConfig({ roots: [dir] }, ['analyze']);
  try {
    const result = await createScheduler({ adapters: configured.adapters }).execute({ operations: [{ id: 'map', kind: 'analyze', input: { analyzer: 'map', paths: [dir] } }] });
    const op = result.get('map')!;
    if (op.state !== 'succeeded') throw new Error(`expected the map analysis of ${dir} to succeed, got ${op.state}: ${(op.error as Error | undefined)?.message}`);
    const output = op.output as { files: { path: string }[]; languages: Record<string, Lines & { bytes: number }> };
    return { files: output.files.map((f) => f.path), languages: new Map(Object.entries(output.languages)) };
  } finally {
    await configured.close();
  }
}

/** |ours − cloc| / cloc over the languages both name, in percent, per line kind; and the worst language's code. */
function distances(ours: ReadonlyMap<string, Lines>, cloc: ReadonlyMap<string, Lines>): Measurement {
  const sum = { ours: { files: 0, blank: 0, comment: 0, code: 0 }, cloc: { files: 0, blank: 0, comment: 0, code: 0 } };
  let worst = 0;
  for (const [language, c] of cloc) {
    const o = ours.get(language);
    if (o === undefined) continue;
    for (const kind of ['files', 'blank', 'comment', 'code'] as const) {
      sum.ours[kind] += o[kind];
      sum.cloc[kind] += c[kind];
    }
    if (c.code >= 1000) worst = Math.max(worst, (Math.abs(o.code - c.code) / c.code) * 100);
  }
  const pct = (kind: keyof Lines): number => (sum.cloc[kind] === 0 ? 0 : (Math.abs(sum.ours[kind] - sum.cloc[kind]) / sum.cloc[kind]) * 100);
  return { files_diff_pct: pct('files'), blank_diff_pct: pct('blank'), comment_diff_pct: pct('comment'), code_diff_pct: pct('code'), worst_language_code_diff_pct: worst, cloc_code_lines: sum.cloc.code };
}

export const exploreMap: Bench = {
  name: 'explore-map',
  description: 'the codebase map (fanout explore-codebase) vs the exploration without it (--no-map) vs cloc over the same files, whole processes, on real trees',
  subjects(quick: boolean): Subject[] {
    const cloc = onPath('cloc');
    return trees(quick).flatMap((t) => [
      { name: 'fanout', params: { ...t } },
      { name: 'fanout --no-map', params: { ...t } },
      { name: 'cloc', params: { ...t }, ...(cloc === undefined ? { skip: 'cloc is not installed (apt-get install cloc)' } : {}) },
      { name: 'cloc --strip-str-comments', params: { ...t }, ...(cloc === undefined ? { skip: 'cloc is not installed (apt-get install cloc)' } : {}) },
    ]);
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const { path } = subject.params as unknown as RealTree;
    if (subject.name.startsWith('cloc')) {
      const { files, languages } = await mapFiles(path);
      const dir = mkdtempSync(join(tmpdir(), 'fanout-bench-cloc-'));
      try {
        const list = join(dir, 'files.txt');
        writeFileSync(list, `${files.join('\n')}\n`);
        const strip = subject.name.endsWith('--strip-str-comments') ? ['--strip-str-comments'] : [];
        const runs = await repeat(quick, () => timed('cloc', ['--json', '--quiet', '--skip-uniqueness', ...strip, `--list-file=${list}`]));
        const middle = [...runs].sort((a, b) => a.wallMs - b.wallMs)[runs.length >> 1]!;
        return { wall_ms: middle.wallMs, ...distances(languages, clocTotals(middle.stdout)) };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    requireFanout();
    const noMap = subject.name === 'fanout --no-map';
    const runs = await repeat(quick, async () => {
      const finished = await timed(process.execPath, [FANOUT, 'explore-codebase', path, '--json', ...(noMap ? ['--no-map'] : [])]);
      const json = JSON.parse(finished.stdout) as MapJson;
      const notOk = json.totals.operations - (json.totals.byState.succeeded ?? 0);
      if (notOk !== 0) throw new Error(`expected every operation to succeed, got ${notOk} that did not: ${finished.stderr.slice(-600)}`);
      return { ...finished, json };
    });
    const middle = [...runs].sort((a, b) => a.wallMs - b.wallMs)[runs.length >> 1]!;
    return noMap ? { wall_ms: middle.wallMs } : { wall_ms: middle.wallMs, tokens: middle.json.text.tokens, code_lines: middle.json.languages.rows.reduce((s, r) => s + r.code, 0) };
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    const names = [...new Set(rows.map((r) => (r.params as { tree?: string } | undefined)?.tree).filter((t): t is string => t !== undefined))];
    for (const tree of names) {
      const at = (subject: string, metric: string): number | undefined => rows.find((r) => r.subject === subject && r.metric === metric && (r.params as { tree?: string } | undefined)?.tree === tree)?.value;
      const map = at('fanout', 'wall_ms');
      const bare = at('fanout --no-map', 'wall_ms');
      const cloc = at('cloc', 'wall_ms');
      const clocStrip = at('cloc --strip-str-comments', 'wall_ms');
      const tokens = at('fanout', 'tokens');
      const strip = 'cloc --strip-str-comments';
      const code = at(strip, 'code_diff_pct');
      const worst = at(strip, 'worst_language_code_diff_pct');
      const kinds = (subject: string): string => ['files', 'blank', 'comment', 'code'].map((k) => `${k} ${at(subject, `${k}_diff_pct`)?.toFixed(2) ?? '?'}%`).join(', ');
      if (map !== undefined && bare !== undefined)
        lines.push(`goal: ${tree}: the map ≤ 20% over the exploration without it: ${map.toFixed(0)} ms vs ${bare.toFixed(0)} ms = +${((map / bare - 1) * 100).toFixed(1)}% — ${check(map <= bare * 1.2)}`);
      if (map !== undefined && cloc !== undefined)
        lines.push(
          `      ${tree}: whole exploration with the map ${map.toFixed(0)} ms vs cloc over the same files ${cloc.toFixed(0)} ms = ${(map / cloc).toFixed(2)}× cloc's time${clocStrip === undefined ? '' : ` (cloc --strip-str-comments: ${clocStrip.toFixed(0)} ms)`}`,
        );
      if (tokens !== undefined) lines.push(`goal: ${tree}: text ≤ 8,000 tokens: ${tokens} — ${check(tokens <= 8000)}`);
      if (code !== undefined) {
        lines.push(
          `goal: ${tree}: line counts within 2% of cloc --strip-str-comments (same files, languages both name): ${kinds(strip)}; worst language's code ${worst?.toFixed(2) ?? '?'}% — ${check(['files', 'blank', 'comment', 'code'].every((k) => (at(strip, `${k}_diff_pct`) ?? 100) <= 2))}`,
        );
        lines.push(`      ${tree}: against plain cloc (it takes comment markers inside strings for comments): ${kinds('cloc')}`);
      }
    }
    return lines;
  },
};

/** Benchmarks of the codebase map, registered in ./index.ts. */
export const mapBenches: Bench[] = [exploreMap];
