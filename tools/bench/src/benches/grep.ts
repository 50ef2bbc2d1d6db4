import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { grepAdapter, type GrepOutput } from '@fanout/adapters/fs';
import { createScheduler } from '@fanout/scheduler';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { warmUps } from '../whole-process.js';

/** Unmeasured searches first (page cache, JIT, fanout's worker threads), alike for every subject. */
const WARM_UP = 1;
/** Measured searches per process; the run reports their median. */
const MEASURED = 3;

interface Corpus {
  dir: string;
  bytes: number;
}

/**
 * The corpus: the `typescript` package of the workspace (5.9.3: 23.6 MB, all text), copied into
 * a temporary directory once (`x1`), and ten copies side by side (`x10`, 236 MB). Built by the
 * bench on first use and kept in the system's temporary directory for the next runs (a
 * `.json` marker beside it records that it is complete); never committed.
 */
async function corpus(copies: number): Promise<Corpus> {
  const source = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));
  const version = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }).version;
  const base = join(tmpdir(), `fanout-bench-grep-typescript-${version}`);
  const dir = join(base, `x${copies}`);
  const marker = join(base, `x${copies}.json`);
  if (existsSync(marker)) return { dir, bytes: (JSON.parse(readFileSync(marker, 'utf8')) as Corpus).bytes };
  await rm(dir, { recursive: true, force: true });
  for (let i = 0; i < copies; i++) await cp(source, copies === 1 ? dir : join(dir, `copy${i}`), { recursive: true });
  const bytes = await sizeOf(dir);
  writeFileSync(marker, JSON.stringify({ dir, bytes }));
  return { dir, bytes };
}

async function sizeOf(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return bytes;
}

/** Two patterns: a literal, and a case-insensitive regular expression (the two paths of the engine). */
const PATTERNS = {
  literal: { pattern: 'function', ignoreCase: false },
  regex: { pattern: 'interface\\s+\\w+', ignoreCase: true },
} as const;
type PatternName = keyof typeof PATTERNS;

function installed(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs a command, resolves its stdout; exit 1 (no match) is fine for grep tools. */
function output(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || code === 1) resolve(Buffer.concat(chunks).toString());
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(0, 500)}`));
    });
  });
}

/** Sums `path:count` lines (`rg -c`, `grep -rc`). */
function sumCounts(text: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line !== '') total += Number(line.slice(line.lastIndexOf(':') + 1));
  return total;
}

/** One search of the whole corpus by `subject`; resolves the number of matching lines. */
function searcher(subject: Subject, name: PatternName, dir: string): () => Promise<number> {
  const { pattern, ignoreCase } = PATTERNS[name];
  if (subject.name === 'fanout') {
    // As a user would: one grep operation through the scheduler, count mode, the adapter's defaults.
    const scheduler = createScheduler({ adapters: [grepAdapter({ roots: [dir] })] });
    return async () => {
      const result = await scheduler.execute({ operations: [{ id: 'grep', kind: 'grep', input: { pattern, ignoreCase, mode: 'count' } }] });
      const op = result.get('grep')!;
      if (op.state !== 'succeeded') throw new Error(`fanout: grep ${op.state}: ${String((op.error as Error | undefined)?.message)}`);
      return (op.output as GrepOutput).stats.matchedLines;
    };
  }
  if (subject.name === 'ripgrep') return async () => sumCounts(await output('rg', ['-c', ...(ignoreCase ? ['-i'] : []), pattern, dir]));
  if (subject.name === 'grep') return async () => sumCounts(await output('grep', [ignoreCase ? '-rciE' : '-rc', pattern, dir]));
  throw new Error(`unknown subject ${subject.name}`);
}

function grepBench(name: PatternName): Bench {
  const bench = `grep-${name}`;
  const { pattern, ignoreCase } = PATTERNS[name];
  return {
    name: bench,
    description: `count the lines matching ${ignoreCase ? 'case-insensitive ' : ''}"${pattern}" in the typescript package (23.6 MB) and 10 copies of it (236 MB; quick: the single copy only): fanout's grep through the scheduler (warm: after one search in the process; cold: the process's first), ripgrep -c, GNU grep -rc`,
    subjects(quick: boolean): Subject[] {
      const rg = installed('rg') ? {} : { skip: 'ripgrep (rg) is not installed' };
      const gnu = installed('grep') ? {} : { skip: 'GNU grep is not installed' };
      // Quick mode: the single copy and no cold start, a smoke test of a few seconds.
      return (quick ? [1] : [1, 10]).flatMap((copies) => [
        { name: 'fanout', params: { copies, start: 'warm' } },
        ...(quick ? [] : [{ name: 'fanout', params: { copies, start: 'cold' } }]),
        { name: 'ripgrep', params: { copies }, ...rg },
        { name: 'grep', params: { copies }, ...gnu },
      ]);
    },
    async run(subject: Subject, quick: boolean): Promise<Measurement> {
      const { dir, bytes } = await corpus(subject.params!.copies as number);
      const search = searcher(subject, name, dir);
      const cold = subject.params!.start === 'cold';
      const walls: number[] = [];
      let matches = 0;
      for (let i = cold ? 0 : warmUps(quick, WARM_UP); i > 0; i--) await search();
      for (let i = 0; i < (cold ? 1 : quick ? 1 : MEASURED); i++) {
        const start = performance.now();
        matches = await search();
        walls.push(performance.now() - start);
      }
      const wall = median(walls);
      return { wall_ms: wall, mb_per_s: bytes / 1e6 / (wall / 1000), matches };
    },
    goals(rows: Row[]): string[] {
      const copies = rows.some((row) => row.params?.copies === 10) ? 10 : 1;
      const at = (subject: string, metric: string, params: Record<string, unknown> = {}) => find(rows, bench, subject, metric, { copies, ...params })?.value;
      const lines: string[] = [];
      const ours = at('fanout', 'matches', { start: 'warm' });
      const theirs = at('ripgrep', 'matches');
      if (ours !== undefined && theirs !== undefined) lines.push(`goal: ${bench} ×${copies}: as many matching lines as ripgrep (${ours} vs ${theirs}) — ${check(ours === theirs)}`);
      const speed = at('fanout', 'mb_per_s', { start: 'warm' });
      const gnu = at('grep', 'mb_per_s');
      if (speed !== undefined && gnu !== undefined)
        lines.push(`goal: ${bench} ×${copies}: at least GNU grep's throughput: ${speed.toFixed(0)} vs ${gnu.toFixed(0)} MB/s (${(speed / gnu).toFixed(2)}×) — ${check(speed >= gnu)}`);
      const wall = at('fanout', 'wall_ms', { start: 'warm' });
      const rg = at('ripgrep', 'wall_ms');
      if (wall !== undefined && rg !== undefined) lines.push(`goal: ${bench} ×${copies}: within 4× of ripgrep's wall time: ${(wall / rg).toFixed(2)}× — ${check(wall <= 4 * rg)}`);
      const coldWall = at('fanout', 'wall_ms', { start: 'cold' });
      if (coldWall !== undefined && rg !== undefined) lines.push(`(a process's first grep, thread start-up included: ${(coldWall / rg).toFixed(2)}× ripgrep)`);
      return lines;
    },
  };
}

/** `grep-literal` and `grep-regex`: fanout's grep against ripgrep and GNU grep, same corpus, same run. */
export const grepBenches: Bench[] = [grepBench('literal'), grepBench('regex')];
