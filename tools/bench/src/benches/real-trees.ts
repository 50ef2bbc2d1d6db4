/**
 * Real trees, whole processes: what a user runs, against what the user would do instead.
 *
 * - `explore-real`: `fanout explore-codebase <tree>` on real trees (the typescript package and
 *   the workspace's node_modules, always there after `npm ci`; more with BENCH_TREES,
 *   e.g. repositories checked out for a local run), three ways: in parallel (the default),
 *   at `-j 1`, and the same listings and searches of its plan run one after another with
 *   ripgrep. Goals: parallel ≤ 1.5× the ripgrep sequence; the parallel run's estimate of its
 *   one-at-a-time time within 25% of the `-j 1` run; a tree of more than 20,000 files
 *   explored with exit 0 in under 3 s.
 * - `estimate-io`: an I/O-bound plan (fetches of a loopback server answering after 50 ms,
 *   and `sleep 0.1` commands) in parallel and at `-j 1`: the same 25% goal for the estimate.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adaptersFromConfig, exploreCodebase } from '@fanout/profiles';
import { createScheduler, type Plan } from '@fanout/scheduler';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { benchTrees, FANOUT, NODE_MODULES, onPath, type RealTree, repeat, requireFanout, timed, type Finished } from '../whole-process.js';

/** What the benches read of `fanout … --json` (the aggregated report). */
interface JsonReport {
  title: string;
  run: { wallMs: number; busyMs: number; sequentialMs: number; speedup: number };
  totals: { operations: number; byState: Record<string, number> };
}

function parseReport(finished: Finished, what: string): JsonReport {
  let report: JsonReport;
  try {
    report = JSON.parse(finished.stdout) as JsonReport;
  } catch {
    throw new Error(`expected ${what} --json to print the report as JSON, got ${JSON.stringify(finished.stdout.slice(0, 200))}; stderr: ${finished.stderr.slice(-400)}`);
  }
  const notOk = report.totals.operations - (report.totals.byState.succeeded ?? 0);
  if (notOk !== 0) throw new Error(`expected every operation of "${report.title}" to succeed, got ${notOk} of ${report.totals.operations} that did not: ${finished.stderr.slice(-800)}`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// explore-real

/** The trees: the typescript package (quick too), the workspace's node_modules, and BENCH_TREES. */
function trees(quick: boolean): RealTree[] {
  const typescript: RealTree = { tree: 'node_modules/typescript', path: join(NODE_MODULES, 'typescript') };
  return quick ? [typescript] : [typescript, { tree: 'node_modules', path: NODE_MODULES }, ...benchTrees()];
}

/**
 * The plan `fanout explore-codebase` makes of a tree, built the way the command builds it (the
 * same profile code, the files counted by the same glob), so its listings and searches can be
 * replayed with ripgrep.
 */
export async function explorePlan(dir: string): Promise<Plan> {
  const configured = await adaptersFromConfig({ roots: [dir] }, ['glob']);
  try {
    const countFiles = async (root: string, limit: number): Promise<number> => {
      const result = await createScheduler({ adapters: configured.adapters }).execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**', cwd: root, maxResults: limit } }] });
      return (result.get('count')!.output as { count: number }).count;
    };
    // As the CLI plans it: with the map, which on a large tree keeps only what the map reads.
    return (await exploreCodebase(dir, { countFiles, mapOnly: true })).plan;
  } finally {
    await configured.close();
  }
}

/**
 * The plan's listings and searches as ripgrep commands, as a user would type them one after
 * another: each glob operation a `rg --files -g …` in its directory, each search a
 * `rg -n -m <maxCount> -e <pattern> <paths>` (fanout's patterns are ripgrep syntax).
 */
export function ripgrepCommands(plan: Plan): { args: string[]; cwd: string }[] {
  const commands: { args: string[]; cwd: string }[] = [];
  for (const op of plan.operations) {
    const input = op.input as Record<string, unknown>;
    if (op.kind === 'glob') {
      const patterns = (input.patterns as string[] | undefined) ?? [input.pattern as string];
      commands.push({ cwd: input.cwd as string, args: ['--files', ...(input.dot === true ? ['--hidden'] : []), ...patterns.flatMap((p) => ['-g', p])] });
    } else if (op.kind === 'grep') {
      const maxCount = input.maxCount as number | undefined;
      commands.push({ cwd: tmpdir(), args: ['-n', ...(maxCount === undefined ? [] : ['-m', String(maxCount)]), '-e', input.pattern as string, '--', ...(input.paths as string[])] });
    }
  }
  return commands;
}

export const exploreReal: Bench = {
  name: 'explore-real',
  description: 'fanout explore-codebase on real trees, whole processes: in parallel, at -j 1, and its listings and searches one after another with ripgrep (trees: node_modules/typescript, node_modules, BENCH_TREES)',
  subjects(quick: boolean): Subject[] {
    const rg = onPath('rg') === undefined ? { skip: 'ripgrep is not installed (apt-get install -y ripgrep)' } : {};
    return trees(quick).flatMap((tree) => [
      { name: 'fanout', params: { ...tree } },
      { name: 'fanout -j 1', params: { ...tree } },
      { name: 'rg, one after another', params: { ...tree }, ...rg },
    ]);
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const { path } = subject.params as unknown as RealTree;
    if (subject.name === 'rg, one after another') {
      const commands = ripgrepCommands(await explorePlan(path));
      const runs = await repeat(quick, async () => {
        const start = performance.now();
        // rg exits 1 when a search finds nothing: not a failure here.
        for (const command of commands) await timed('rg', command.args, { cwd: command.cwd, okCodes: [0, 1] });
        return { wallMs: performance.now() - start, stdout: '', stderr: '', code: 0 };
      });
      return { wall_ms: median(runs.map((r) => r.wallMs)), commands: commands.length };
    }
    requireFanout();
    const args = [FANOUT, 'explore-codebase', path, '--json', ...(subject.name === 'fanout -j 1' ? ['-j', '1'] : [])];
    const runs = await repeat(quick, async () => {
      const finished = await timed(process.execPath, args);
      return { ...finished, report: parseReport(finished, 'fanout explore-codebase') };
    });
    const middle = [...runs].sort((a, b) => a.wallMs - b.wallMs)[runs.length >> 1]!;
    return {
      wall_ms: middle.wallMs,
      run_ms: middle.report.run.wallMs,
      estimate_ms: middle.report.run.sequentialMs,
      speedup: middle.report.run.speedup,
      operations: middle.report.totals.operations,
      large_tree: middle.report.title.includes('(large)') ? 1 : 0,
    };
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    for (const row of rows.filter((r) => r.bench === 'explore-real' && r.subject === 'fanout' && r.metric === 'wall_ms')) {
      const tree = row.params as unknown as RealTree;
      const params = row.params;
      const rg = find(rows, 'explore-real', 'rg, one after another', 'wall_ms', params);
      const j1 = find(rows, 'explore-real', 'fanout -j 1', 'run_ms', params);
      const estimate = find(rows, 'explore-real', 'fanout', 'estimate_ms', params);
      if (rg !== undefined) {
        const ratio = row.value / rg.value;
        lines.push(`goal: explore-codebase ${tree.tree} ≤ 1.5× its searches and listings one after another with rg (${row.value.toFixed(0)} vs ${rg.value.toFixed(0)} ms): ${ratio.toFixed(2)}× — ${check(ratio <= 1.5)}`);
      }
      if (j1 !== undefined && estimate !== undefined) {
        const off = estimate.value / j1.value - 1;
        lines.push(
          `goal: ${tree.tree}: the parallel run's one-at-a-time estimate within 25% of a -j 1 run (${estimate.value.toFixed(0)} vs ${j1.value.toFixed(0)} ms): ${off >= 0 ? '+' : ''}${(off * 100).toFixed(0)}% — ${check(Math.abs(off) <= 0.25)}`,
        );
      }
      // "large" is the profile's size for more than 10,000 files (the goal names a 27,000-file repository).
      if (find(rows, 'explore-real', 'fanout', 'large_tree', params)?.value === 1) {
        lines.push(`goal: a large tree (${tree.tree}) explored with exit 0 in under 3 s: ${(row.value / 1000).toFixed(2)} s — ${check(row.value < 3000)}`);
      }
    }
    return lines;
  },
};

// ---------------------------------------------------------------------------------------------
// estimate-io

const DELAY_MS = 50;

function ioPlan(quick: boolean, url: string): Plan {
  const fetches = quick ? 10 : 100;
  const sleeps = quick ? 2 : 20;
  return {
    name: 'estimate-io',
    operations: [
      ...Array.from({ length: fetches }, (_, i) => ({ id: `fetch-${i}`, kind: 'fetch', input: { url: `${url}/${i}` } })),
      ...Array.from({ length: sleeps }, (_, i) => ({ id: `sleep-${i}`, kind: 'bash', input: { command: ['sleep', '0.1'] } })),
    ],
  };
}

/** A loopback server answering every request after DELAY_MS. */
async function slowServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    setTimeout(() => response.end('ok'), DELAY_MS);
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, server };
}

export const estimateIo: Bench = {
  name: 'estimate-io',
  description: `fanout run of an I/O-bound plan (100 fetches of a loopback server answering after ${DELAY_MS} ms, 20 × sleep 0.1; quick: 10 and 2), in parallel and at -j 1: is the estimate of one at a time right?`,
  subjects: (): Subject[] => [{ name: 'fanout' }, { name: 'fanout -j 1' }],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    requireFanout();
    const { url, server } = await slowServer();
    const dir = mkdtempSync(join(tmpdir(), 'fanout-bench-io-'));
    try {
      const planFile = join(dir, 'plan.json');
      writeFileSync(planFile, JSON.stringify(ioPlan(quick, url)));
      const args = [FANOUT, 'run', planFile, '--json', ...(subject.name === 'fanout -j 1' ? ['-j', '1'] : [])];
      // The server lives in this process: the command must not block its event loop.
      const finished = await timed(process.execPath, args, { cwd: dir });
      const report = parseReport(finished, 'fanout run');
      return { wall_ms: finished.wallMs, run_ms: report.run.wallMs, estimate_ms: report.run.sequentialMs, speedup: report.run.speedup };
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  goals(rows: Row[]): string[] {
    const estimate = find(rows, 'estimate-io', 'fanout', 'estimate_ms');
    const j1 = find(rows, 'estimate-io', 'fanout -j 1', 'run_ms');
    if (estimate === undefined || j1 === undefined) return [];
    const off = estimate.value / j1.value - 1;
    return [
      `goal: I/O-bound plan: the parallel run's one-at-a-time estimate within 25% of a -j 1 run (${estimate.value.toFixed(0)} vs ${j1.value.toFixed(0)} ms): ${off >= 0 ? '+' : ''}${(off * 100).toFixed(0)}% — ${check(Math.abs(off) <= 0.25)}`,
    ];
  },
};

export const realTreeBenches: Bench[] = [exploreReal, estimateIo];
