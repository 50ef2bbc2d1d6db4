import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { GrepOutput } from '@fanout/adapters/grep';
import { grepAdapterFromConfig } from '@fanout/profiles';
import { createScheduler } from '@fanout/scheduler';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { benchTrees, FANOUT, MEASURED, NODE_MODULES, onPath, requireFanout, timed, WARM_UP, warmUps } from '../whole-process.js';

const PATTERN = 'export';

/** A tree to search: a real one, as a user would point the command at it. */
interface Tree {
  name: string;
  dir: string;
  /** node_modules trees are searched with --no-ignore (a .gitignore above them names node_modules). */
  noIgnore: boolean;
}

/**
 * The trees: the typescript package and the workspace's node_modules (always there after
 * `npm ci`, so CI has them), plus any directory listed in BENCH_TREES (separated like
 * PATH) for local runs on real repositories, e.g. `BENCH_TREES=/work/trees/query` (not a
 * `FANOUT_` name: fanout reads those as its configuration and refuses unknown ones).
 * Quick mode: the typescript package only.
 */
function trees(quick: boolean): Tree[] {
  const typescript = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));
  const list: Tree[] = [{ name: 'node_modules/typescript', dir: typescript, noIgnore: true }];
  if (quick) return list;
  list.push({ name: 'node_modules', dir: NODE_MODULES, noIgnore: true });
  for (const { path } of benchTrees()) if (existsSync(path)) list.push({ name: path, dir: path, noIgnore: false });
  return list;
}

/** The command line of one subject over one tree, run inside it as a user would (fanout's roots default to the working directory). */
function command(subject: Subject): { file: string; args: string[]; cwd?: string } {
  const params = subject.params as { tree?: string; dir?: string; noIgnore?: boolean; engine?: string; command?: string };
  const noIgnore = params.noIgnore === true ? ['--no-ignore'] : [];
  switch (subject.name) {
    case 'fanout':
      if (params.command === 'version') return { file: process.execPath, args: [FANOUT, '--version'] };
      return { file: process.execPath, args: [FANOUT, 'grep', '--engine', params.engine!, '-c', ...noIgnore, PATTERN, '.'], cwd: params.dir! };
    case 'ripgrep':
      return { file: 'rg', args: ['-c', ...noIgnore, PATTERN, '.'], cwd: params.dir! };
    case 'grep':
      return { file: 'grep', args: ['-rc', PATTERN, '.'], cwd: params.dir! };
    default:
      throw new Error(`unknown subject ${subject.name}`);
  }
}

/**
 * The same search through the library, as a server runs it: one process, the grep adapter
 * configured as `fanout grep` configures it (`grepAdapterFromConfig`, roots = the tree),
 * the input `fanout grep -c` sends; after warm-up searches (JIT, worker threads, the page
 * cache), each search timed from `execute` to its result. Matching lines from the stats.
 */
async function library(subject: Subject, quick: boolean): Promise<Measurement> {
  const params = subject.params as { dir: string; noIgnore: boolean; engine: 'auto' | 'builtin' };
  const adapter = await grepAdapterFromConfig({ roots: [params.dir], grep: { engine: params.engine } });
  const scheduler = createScheduler({ adapters: [adapter] });
  const input = { pattern: PATTERN, paths: ['.'], mode: 'count', ignore: !params.noIgnore, gitignore: !params.noIgnore, maxOutputBytes: 1024 * 1024 * 1024 };
  const search = async (): Promise<{ wallMs: number; matches: number }> => {
    const start = performance.now();
    const result = await scheduler.execute({ operations: [{ id: 'grep', kind: 'grep', input }] });
    const wallMs = performance.now() - start;
    const op = result.get('grep')!;
    if (op.state !== 'succeeded') throw new Error(`grep-cli: the library's grep ${op.state}: ${String((op.error as Error | undefined)?.message)}`);
    return { wallMs, matches: (op.output as GrepOutput).stats.matchedLines };
  };
  try {
    for (let i = warmUps(quick, WARM_UP + 1); i > 0; i--) await search();
    const runs = [];
    for (let i = 0; i < (quick ? 1 : MEASURED); i++) runs.push(await search());
    return { wall_ms: median(runs.map((run) => run.wallMs)), matches: runs.at(-1)!.matches };
  } finally {
    await adapter.close?.();
  }
}

/** Sums `path:count` lines (`rg -c`, `grep -rc`, `fanout grep -c`). */
function sumCounts(text: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line !== '') total += Number(line.slice(line.lastIndexOf(':') + 1));
  return total;
}

/**
 * `grep-cli`: whole processes on real trees, side by side in one run: `fanout grep -c export`
 * with the engine chosen by `auto` (ripgrep when rg is on PATH) and with the built-in engine,
 * `rg -c`, `grep -rc`, and `fanout --version` (the start-up floor every fanout command pays).
 * Figures: wall time, from spawn to the end of the output, and the number of matching lines.
 * The same search through the library (`library`: one process, the engine warm) shows what a
 * server pays, without the process start.
 * Goals (the real-repositories issue): (fanout's wall − fanout --version's) at most 2× rg's
 * with `auto`, at most 5× with `builtin`; through the library, warm, at most 1.5× rg's whole
 * process; counts identical to rg's.
 */
export const grepCli: Bench = {
  name: 'grep-cli',
  description: `fanout grep -c ${PATTERN} (engine auto, engine builtin), rg -c, grep -rc and fanout --version, whole processes, on node_modules/typescript, the workspace's node_modules and BENCH_TREES (quick: typescript only)`,
  subjects(quick: boolean): Subject[] {
    const rg = onPath('rg') === undefined ? { skip: 'ripgrep (rg) is not installed (apt-get install ripgrep)' } : {};
    const gnu = onPath('grep') === undefined ? { skip: 'GNU grep is not installed' } : {};
    const subjects: Subject[] = [{ name: 'fanout', params: { command: 'version' } }];
    for (const tree of trees(quick)) {
      const params = { tree: tree.name, dir: tree.dir, noIgnore: tree.noIgnore };
      subjects.push(
        { name: 'fanout', params: { ...params, engine: 'auto' } },
        { name: 'fanout', params: { ...params, engine: 'builtin' } },
        { name: 'library', params: { ...params, engine: 'auto' } },
        { name: 'library', params: { ...params, engine: 'builtin' } },
        { name: 'ripgrep', params, ...rg },
        { name: 'grep', params, ...gnu },
      );
    }
    return subjects;
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    if (subject.name === 'library') return library(subject, quick);
    if (subject.name === 'fanout') requireFanout();
    const { file, args, cwd } = command(subject);
    const options = cwd === undefined ? {} : { cwd };
    for (let i = warmUps(quick); i > 0; i--) await timed(file, args, options);
    const runs = [];
    for (let i = 0; i < (quick ? 1 : MEASURED); i++) runs.push(await timed(file, args, options));
    const wall = median(runs.map((run) => run.wallMs));
    if (subject.params?.command === 'version') return { wall_ms: wall };
    return { wall_ms: wall, matches: sumCounts(runs.at(-1)!.stdout) };
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    const version = find(rows, 'grep-cli', 'fanout', 'wall_ms', { command: 'version' })?.value;
    const treeNames = [...new Set(rows.map((row) => row.params?.tree).filter((tree): tree is string => typeof tree === 'string'))];
    for (const tree of treeNames) {
      const at = (subject: string, metric: string, engine?: string) =>
        rows.find((row) => row.bench === 'grep-cli' && row.subject === subject && row.metric === metric && row.params?.tree === tree && (engine === undefined || row.params?.engine === engine))?.value;
      const rg = at('ripgrep', 'wall_ms');
      const rgCount = at('ripgrep', 'matches');
      for (const [engine, limit] of [
        ['auto', 2],
        ['builtin', 5],
      ] as const) {
        const wall = at('fanout', 'wall_ms', engine);
        const count = at('fanout', 'matches', engine);
        if (wall === undefined) continue;
        if (rg !== undefined && version !== undefined) {
          const ratio = (wall - version) / rg;
          lines.push(
            `goal: ${tree}, engine ${engine}: (fanout ${wall.toFixed(0)} ms − fanout --version ${version.toFixed(0)} ms) at most ${limit}× rg's ${rg.toFixed(0)} ms: ${ratio.toFixed(2)}× — ${check(ratio <= limit)}`,
          );
        }
        if (count !== undefined && rgCount !== undefined) lines.push(`goal: ${tree}, engine ${engine}: counts identical to rg's (${count} vs ${rgCount}) — ${check(count === rgCount)}`);
        const warm = at('library', 'wall_ms', engine);
        const warmCount = at('library', 'matches', engine);
        if (warm !== undefined && rg !== undefined) {
          const ratio = warm / rg;
          lines.push(
            `goal: ${tree}, engine ${engine}, through the library with the engine warm: ${warm.toFixed(0)} ms at most 1.5× rg's whole process (${rg.toFixed(0)} ms): ${ratio.toFixed(2)}× — ${check(ratio <= 1.5)}`,
          );
        }
        if (warmCount !== undefined && rgCount !== undefined && warmCount !== rgCount) lines.push(`goal: ${tree}, engine ${engine}, library: counts identical to rg's (${warmCount} vs ${rgCount}) — ${check(false)}`);
      }
      const grep = at('grep', 'wall_ms');
      const auto = at('fanout', 'wall_ms', 'auto');
      if (grep !== undefined && auto !== undefined) lines.push(`(${tree}: fanout grep -c, engine auto, ${(auto / grep).toFixed(2)}× grep -rc's wall time; rg ${rg === undefined ? '—' : `${(rg / grep).toFixed(2)}×`})`);
    }
    return lines;
  },
};

/** Benchmarks of `fanout grep` as a command, registered in ./index.ts. */
export const grepCliBenches: Bench[] = [grepCli];
