import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SCRATCH_ENV } from './scratch.js';
import { median } from './stats.js';
import { METRICS, type Bench, type Measurement, type Row, type Subject } from './types.js';

const run = promisify(execFile);
// Tests import this file from src/; the worker always runs built, from dist/.
const WORKER = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/worker.js' : './worker.js', import.meta.url));

/**
 * Runs one subject once in a fresh Node process (with --expose-gc) and returns its figures.
 * With `scratch`, the run leaves its temporary files there for the caller to remove (scratch.ts).
 */
export async function measure(bench: Bench, subject: Subject, quick: boolean, scratch?: string): Promise<Measurement> {
  const { stdout } = await run(process.execPath, ['--expose-gc', WORKER, bench.name, JSON.stringify(subject), quick ? 'quick' : 'full'], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 10 * 60 * 1000,
    ...(scratch === undefined ? {} : { env: { ...process.env, [SCRATCH_ENV]: scratch } }),
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as Measurement;
  } catch {
    throw new Error(`${bench.name}/${subject.name}: expected a JSON line of figures from the worker, got ${JSON.stringify(last.slice(0, 200))}`);
  }
}

/**
 * Runs every subject of `bench` `runs` times, interleaved (subject A, B, C, then A, B, C …)
 * so that a noisy moment of a shared machine hits all of them alike, and returns median rows.
 */
export async function runBench(bench: Bench, options: { quick: boolean; runs: number; log: (line: string) => void }): Promise<Row[]> {
  const subjects = bench.subjects(options.quick);
  const samples = subjects.map(() => [] as Measurement[]);
  // The runs' temporary files, removed once every round is done (see scratch.ts).
  const scratch = await mkdtemp(join(tmpdir(), `fanout-bench-${bench.name}-`));
  try {
    for (let r = 0; r < options.runs; r++) {
      for (let s = 0; s < subjects.length; s++) {
        const subject = subjects[s]!;
        if (subject.skip !== undefined) continue;
        samples[s]!.push(await measure(bench, subject, options.quick, scratch));
      }
      options.log(`  ${bench.name}: round ${r + 1}/${options.runs} done`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const rows: Row[] = [];
  subjects.forEach((subject, s) => {
    if (subject.skip !== undefined) {
      options.log(`  ${bench.name}/${subject.name}: skipped — ${subject.skip}`);
      return;
    }
    const metrics = new Set(samples[s]!.flatMap((m) => Object.keys(m)));
    for (const metric of metrics) {
      const values = samples[s]!.map((m) => m[metric]).filter((v): v is number => typeof v === 'number');
      rows.push({
        bench: bench.name,
        subject: subject.name,
        metric,
        value: median(values),
        unit: METRICS[metric]?.unit ?? '',
        ...(subject.params === undefined ? {} : { params: subject.params }),
      });
    }
  });
  return rows;
}
