import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globAdapter } from '@fanout/adapters/fs';
import { createScheduler } from '@fanout/scheduler';
import fg from 'fast-glob';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { warmUps } from '../whole-process.js';

const PATTERN = '**/*';
const FILES_PER_DIR = 20;
const EXTENSIONS = ['ts', 'js', 'json', 'md'];
/** Unmeasured listings first: JIT, and the kernel's dentry cache, warm for every subject alike. */
const WARM_UP = 3;
/** Measured listings per process; the run reports their median, so one noisy moment of a shared machine does not decide. */
const MEASURED = 5;

function fileCount(quick: boolean): number {
  return quick ? 1_000 : 10_000;
}

/**
 * Builds a source-like tree in a new temporary directory: directories ten wide and three
 * deep (src/m3/m7/…), twenty files each. Built by the bench, never committed.
 */
function buildTree(files: number): string {
  const root = mkdtempSync(join(tmpdir(), 'fanout-bench-glob-'));
  let made = 0;
  for (let d = 0; made < files; d++) {
    const dir = join(root, 'src', `m${d % 10}`, `m${Math.floor(d / 10) % 10}`, `m${Math.floor(d / 100)}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES_PER_DIR && made < files; f++, made++) writeFileSync(join(dir, `file${f}.${EXTENSIONS[f % EXTENSIONS.length]}`), 'x');
  }
  return root;
}

/** One listing of the whole tree by `subject`; resolves the number of paths found. */
function lister(subject: Subject, root: string): () => Promise<number> {
  if (subject.name === 'fast-glob') {
    // "defaults": as most callers use it. "as fanout": the walk options fanout's glob passes it
    // (four directories read at once, no symlink followed, absolute paths), to show what
    // fanout itself costs on top.
    const options: fg.Options = subject.params?.options === 'as fanout' ? { cwd: root, concurrency: 4, followSymbolicLinks: false, absolute: true } : { cwd: root };
    return async () => (await fg(PATTERN, options)).length;
  }
  if (subject.name === 'fanout') {
    // As a user would: the adapter's defaults (gitignore on, sorted absolute paths, root checks), one operation through the scheduler.
    const scheduler = createScheduler({ adapters: [globAdapter({ roots: [root] })] });
    return async () => {
      const result = await scheduler.execute({ operations: [{ id: 'glob', kind: 'glob', input: { pattern: PATTERN } }] });
      const op = result.get('glob')!;
      if (op.state !== 'succeeded') throw new Error(`fanout: glob ${op.state}: ${String((op.error as Error | undefined)?.message)}`);
      return (op.output as { count: number }).count;
    };
  }
  throw new Error(`unknown subject ${subject.name}`);
}

/** `glob-tree`: fanout's glob against fast-glob called directly, on the same fresh tree, same run. */
export const globTree: Bench = {
  name: 'glob-tree',
  description: `"${PATTERN}" over a 10,000-file tree built in a temporary directory (quick: 1,000): fanout's glob through the scheduler, fast-glob 3 called directly`,
  subjects: () => [
    { name: 'fanout', params: { options: 'defaults' } },
    { name: 'fast-glob', params: { options: 'defaults' } },
    { name: 'fast-glob', params: { options: 'as fanout' } },
  ],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const files = fileCount(quick);
    const root = buildTree(files);
    try {
      const list = lister(subject, root);
      for (let i = warmUps(quick, WARM_UP); i > 0; i--) await list();
      const walls: number[] = [];
      for (let i = 0; i < (quick ? 1 : MEASURED); i++) {
        const start = performance.now();
        const found = await list();
        walls.push(performance.now() - start);
        if (found !== files) throw new Error(`${subject.name}: listed ${found} paths, expected ${files}`);
      }
      const wall = median(walls);
      return { wall_ms: wall, ops_per_s: (files / wall) * 1000 };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  goals(rows: Row[]): string[] {
    const ours = find(rows, 'glob-tree', 'fanout', 'wall_ms');
    const anchor = find(rows, 'glob-tree', 'fast-glob', 'wall_ms', { options: 'defaults' });
    const tuned = find(rows, 'glob-tree', 'fast-glob', 'wall_ms', { options: 'as fanout' });
    if (ours === undefined || anchor === undefined) return [];
    const ratio = ours.value / anchor.value;
    const lines = [`goal: fanout's glob at most 1.1× fast-glob's wall time: ${ratio.toFixed(2)}× — ${check(ratio <= 1.1)}`];
    if (tuned !== undefined) lines.push(`(fanout vs fast-glob given the same walk options: ${(ours.value / tuned.value).toFixed(2)}×)`);
    return lines;
  },
};

/** Benchmarks of the fs work, registered in ./index.ts. */
export const fsBenches: Bench[] = [globTree];
