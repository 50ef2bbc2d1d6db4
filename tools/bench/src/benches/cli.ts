import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { FANOUT, NODE_MODULES, onPath, repeat, requireFanout, timed } from '../whole-process.js';

// ---------------------------------------------------------------------------------------------
// cli-exec

const PROGRAM = '/usr/bin/true';
const JOBS_AT_ONCE = 16;

function execJobs(quick: boolean): number {
  return quick ? 20 : 200;
}

/** The command line of each subject for `n` jobs: the arguments 1…n, one job each. */
function execCommand(subject: Subject, n: number): { file: string; args: string[]; input?: string; env?: Record<string, string> } {
  const numbers = Array.from({ length: n }, (_, i) => String(i + 1));
  switch (subject.name) {
    case 'fanout': {
      // The default spawner of `fanout exec` is the spawn server; `spawner: 'direct'` is the
      // row that shows what it saves.
      const spawner = subject.params?.spawner;
      return { file: process.execPath, args: [FANOUT, 'exec', '-j', String(JOBS_AT_ONCE), PROGRAM, ':::', ...numbers], ...(typeof spawner === 'string' ? { env: { FANOUT_SHELL__SPAWNER: spawner } } : {}) };
    }
    case 'xargs':
      // -n 1: one argument per command, as the others run it.
      return { file: 'xargs', args: ['-P', String(JOBS_AT_ONCE), '-n', '1', PROGRAM], input: `${numbers.join('\n')}\n` };
    case 'parallel':
      // --will-cite: GNU parallel otherwise prints its citation notice (and reads the terminal).
      return { file: 'parallel', args: ['--will-cite', `-j${JOBS_AT_ONCE}`, PROGRAM, ':::', ...numbers] };
    default:
      throw new Error(`unknown subject ${subject.name}`);
  }
}

/**
 * `cli-exec`: 200 × `/usr/bin/true`, 16 at a time, through the whole `fanout exec` command
 * against `xargs -P 16` and GNU parallel `-j16`: each a whole process spawned by the bench
 * worker and timed end to end (start-up included: it is most of a short run), same run.
 * GNU parallel is skipped, with a note, when it is not installed. Goal: fanout at most half of
 * GNU parallel's wall time.
 */
export const cliExec: Bench = {
  name: 'cli-exec',
  description: `${execJobs(false)} × ${PROGRAM}, ${JOBS_AT_ONCE} at a time, whole processes: fanout exec -j ${JOBS_AT_ONCE}, xargs -P ${JOBS_AT_ONCE} -n 1, GNU parallel -j${JOBS_AT_ONCE} (quick: ${execJobs(true)})`,
  subjects(quick: boolean): Subject[] {
    const params = { jobs: execJobs(quick), concurrency: JOBS_AT_ONCE };
    const missing = (command: string, install: string): Pick<Subject, 'skip'> => (onPath(command) === undefined ? { skip: `${command} is not installed (${install})` } : {});
    return [
      { name: 'fanout', params },
      { name: 'fanout', params: { ...params, spawner: 'direct' } },
      { name: 'xargs', params, ...missing('xargs', 'apt-get install -y findutils') },
      { name: 'parallel', params, ...missing('parallel', 'apt-get install -y parallel') },
    ];
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    if (subject.name === 'fanout') requireFanout();
    const n = execJobs(quick);
    const { file, args, input, env } = execCommand(subject, n);
    const runs = await repeat(quick, () => timed(file, args, { ...(input === undefined ? {} : { input }), ...(env === undefined ? {} : { env }) }));
    if (subject.name === 'fanout') {
      // What fanout says it ran: every job, or the figure would be of a run that did less.
      const said = /(\d+)\/(\d+) jobs succeeded/.exec(runs.at(-1)!.stderr);
      if (said?.[1] !== String(n) || said[2] !== String(n)) throw new Error(`expected fanout exec to report ${n}/${n} jobs succeeded, got ${JSON.stringify(runs.at(-1)!.stderr.trim())}`);
    }
    const wall = median(runs.map((r) => r.wallMs));
    return { wall_ms: wall, ops_per_s: (n / wall) * 1000 };
  },
  goals(rows: Row[]): string[] {
    const ours = rows.find((row) => row.bench === 'cli-exec' && row.subject === 'fanout' && row.metric === 'wall_ms' && row.params?.spawner === undefined);
    if (ours === undefined) return [];
    const lines: string[] = [];
    const parallel = find(rows, 'cli-exec', 'parallel', 'wall_ms');
    if (parallel === undefined) lines.push('goal: fanout exec at most 0.5× GNU parallel’s wall time: not measured (GNU parallel is not installed)');
    else {
      const ratio = ours.value / parallel.value;
      lines.push(`goal: fanout exec at most 0.5× GNU parallel’s wall time (${ours.value.toFixed(0)} ms vs ${parallel.value.toFixed(0)} ms): ${ratio.toFixed(2)}× — ${check(ratio <= 0.5)}`);
    }
    const xargs = find(rows, 'cli-exec', 'xargs', 'wall_ms');
    if (xargs !== undefined) lines.push(`(fanout exec vs xargs -P, the floor of a process per job: ${(ours.value / xargs.value).toFixed(2)}× its wall time)`);
    const direct = rows.find((row) => row.bench === 'cli-exec' && row.subject === 'fanout' && row.metric === 'wall_ms' && row.params?.spawner === 'direct');
    if (direct !== undefined)
      lines.push(`(fanout exec with the spawn server vs Node spawning each job: ${(ours.value / direct.value).toFixed(2)}× its wall time, ${ours.value.toFixed(0)} vs ${direct.value.toFixed(0)} ms)`);
    return lines;
  },
};

// ---------------------------------------------------------------------------------------------
// explore-10k

const EXPLORE_FILES = 10_000;
const QUICK_FILES = 200;
const GOAL_MS = 3_000;

/** Regular files under `dir`, symbolic links not followed (as fanout's glob walks). */
function countFiles(dir: string): number {
  let files = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) pending.push(join(current, entry.name));
      else if (entry.isFile()) files++;
    }
  }
  return files;
}

/** Files of a generated project, by kind: most are source, as in a real codebase. */
const KINDS = ['ts', 'ts', 'ts', 'ts', 'ts', 'js', 'test', 'json', 'md', 'ts'] as const;

/** One generated file's name and text: imports, exports, a TODO now and then, ~1–2 KB. */
function generatedFile(i: number, total: number): { path: string; text: string } {
  const pkg = `pkg${i % 25}`;
  const dir = `m${Math.floor(i / 25) % 20}`;
  const kind = KINDS[i % KINDS.length]!;
  const peer = (i * 7 + 3) % total;
  const body: string[] = [];
  for (let f = 0; f < 8; f++) {
    body.push(
      `/** Computes part ${f} of the value of item ${i}. */`,
      `export function compute${i}_${f}(input: number, scale = ${f + 1}): number {`,
      `  const base = input * scale + ${i % 97};`,
      `  return base > ${f * 10} ? base - ${f} : helper(base, ${f});`,
      '}',
    );
  }
  if (i % 13 === 0) body.push(`// TODO: handle the overflow of compute${i}_0`);
  if (i % 29 === 0) body.push(`// FIXME: item ${i} is slow on large inputs`);
  switch (kind) {
    case 'ts':
      return {
        path: join('packages', pkg, 'src', dir, `module${i}.ts`),
        text: `import { helper } from '../util/helper.js';\nimport { compute${peer}_0 } from '../../../pkg${peer % 25}/src/m${Math.floor(peer / 25) % 20}/module${peer}.js';\n\n${body.join('\n')}\n\nexport default compute${peer}_0;\n`,
      };
    case 'js':
      return {
        path: join('packages', pkg, 'lib', dir, `module${i}.js`),
        text: `'use strict';\nconst { helper } = require('../util/helper.js');\n\n${body
          .join('\n')
          .replace(/: number/g, '')
          .replace(/export /g, '')}\nmodule.exports = { compute${i}_0 };\n`,
      };
    case 'test':
      return {
        path: join('packages', pkg, 'test', dir, `module${i}.test.ts`),
        text: `import { describe, expect, it } from 'vitest';\nimport { compute${i}_0 } from '../../src/${dir}/module${i}.js';\n\ndescribe('module ${i}', () => {\n  it('computes', () => {\n    expect(compute${i}_0(1)).toBeGreaterThan(0);\n  });\n});\n`,
      };
    case 'json':
      return {
        path: join('packages', pkg, 'config', dir, `settings${i}.json`),
        text: `${JSON.stringify({ name: `settings-${i}`, version: `1.${i % 10}.0`, limits: { max: i % 64, optimal: i % 16 }, tags: ['generated', pkg, dir] }, null, 2)}\n`,
      };
    case 'md':
      return { path: join('packages', pkg, 'docs', dir, `note${i}.md`), text: `# Note ${i}\n\nHow item ${i} of ${pkg} works, and why compute${i}_0 scales its input.\n\n- part one\n- part two\n` };
  }
}

/**
 * Builds a source-like project of `files` files in a new temporary directory: 25 packages of
 * TypeScript and JavaScript modules, tests, JSON settings and Markdown notes, deterministic.
 * Built by the bench, removed after, never committed.
 */
function buildProject(files: number): string {
  const root = mkdtempSync(join(tmpdir(), 'fanout-bench-explore-'));
  writeFileSync(join(root, 'package.json'), `${JSON.stringify({ name: 'generated-project', private: true, workspaces: ['packages/*'] }, null, 2)}\n`);
  writeFileSync(join(root, 'README.md'), '# generated project\n\nA tree built by the explore-10k benchmark.\n');
  const made = new Set<string>();
  for (let i = 0; i < files - 2; i++) {
    const { path, text } = generatedFile(i, files);
    const full = join(root, path);
    const parent = join(full, '..');
    if (!made.has(parent)) {
      mkdirSync(parent, { recursive: true });
      made.add(parent);
    }
    writeFileSync(full, text);
  }
  return root;
}

/** The tree to explore: the workspace's node_modules when it holds enough files, else a generated one. */
function exploreTree(quick: boolean): { tree: 'node_modules' | 'generated'; files: number } {
  if (quick) return { tree: 'generated', files: QUICK_FILES };
  const installed = existsSync(NODE_MODULES) ? countFiles(NODE_MODULES) : 0;
  return installed >= EXPLORE_FILES ? { tree: 'node_modules', files: installed } : { tree: 'generated', files: EXPLORE_FILES };
}

/** What `fanout explore-codebase --json` prints that this bench reads (the aggregated report). */
interface ExploreReport {
  title: string;
  run: { wallMs: number; busyMs: number; speedup: number };
  totals: { operations: number; byState: Record<string, number> };
}

/**
 * `explore-10k`: the whole `fanout explore-codebase <dir> --json` command on a tree of 10,000
 * files, a fresh process timed end to end, its report parsed. The tree is the workspace's
 * node_modules when it holds at least 10,000 files (explored as the root itself: from the
 * workspace root, .gitignore would hide it), otherwise a generated project of exactly 10,000
 * (the "medium" size, whose original target was 3 minutes). Figures: wall time and the run's
 * speedup (the sum of the attempts' times over the wall time, from the report). Goal: under 3 s.
 */
export const explore10k: Bench = {
  name: 'explore-10k',
  description: `fanout explore-codebase --json on a ${EXPLORE_FILES.toLocaleString('en')}-file tree (the workspace's node_modules if it has that many, else a generated project; quick: ${QUICK_FILES} files), whole process`,
  subjects: (quick: boolean): Subject[] => [{ name: 'fanout', params: exploreTree(quick) }],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    if (subject.name !== 'fanout') throw new Error(`unknown subject ${subject.name}`);
    requireFanout();
    const { tree, files } = subject.params as ReturnType<typeof exploreTree>;
    const dir = tree === 'node_modules' ? NODE_MODULES : buildProject(files);
    try {
      const runs = await repeat(quick, async () => {
        const finished = await timed(process.execPath, [FANOUT, 'explore-codebase', dir, '--json']);
        let report: ExploreReport;
        try {
          report = JSON.parse(finished.stdout) as ExploreReport;
        } catch {
          throw new Error(`expected fanout explore-codebase --json to print the report as JSON, got ${JSON.stringify(finished.stdout.slice(0, 200))}`);
        }
        const notOk = report.totals.operations - (report.totals.byState.succeeded ?? 0);
        if (notOk !== 0) throw new Error(`expected every operation of "${report.title}" to succeed, got ${notOk} of ${report.totals.operations} that did not: ${finished.stderr.slice(-800)}`);
        return { ...finished, report };
      });
      const middle = [...runs].sort((a, b) => a.wallMs - b.wallMs)[runs.length >> 1]!;
      return { wall_ms: middle.wallMs, speedup: middle.report.run.speedup };
    } finally {
      if (tree === 'generated') rmSync(dir, { recursive: true, force: true });
    }
  },
  goals(rows: Row[]): string[] {
    const ours = find(rows, 'explore-10k', 'fanout', 'wall_ms');
    if (ours === undefined) return [];
    const speedup = find(rows, 'explore-10k', 'fanout', 'speedup');
    const params = ours.params as ReturnType<typeof exploreTree> | undefined;
    const what = params === undefined ? '' : ` (${params.files.toLocaleString('en')} files, ${params.tree})`;
    return [
      `goal: explore-codebase under ${GOAL_MS / 1000} s wall${what}, against the explore profile's target of 3 min: ${(ours.value / 1000).toFixed(2)} s${speedup === undefined ? '' : `, speedup ${speedup.value.toFixed(1)}×`} — ${check(ours.value < GOAL_MS)}`,
    ];
  },
};

/** Benchmarks of the fanout command, registered in ./index.ts. */
export const cliBenches: Bench[] = [cliExec, explore10k];
