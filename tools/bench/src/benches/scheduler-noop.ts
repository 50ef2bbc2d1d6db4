import { createScheduler, type OperationSpec } from '@fanout/scheduler';
import fastq from 'fastq';
import pLimit from 'p-limit';
import PQueue from 'p-queue';
import { collectGarbage, gcTimer, noop, noopTask, peakRssMb } from '../noop-adapter.js';
import { advantage, check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

const CONCURRENCY = 16;
const WINDOW = 1024;

function size(quick: boolean): number {
  return quick ? 20_000 : 1_000_000;
}

async function timed(n: number, body: () => Promise<void>): Promise<Measurement> {
  const gc = gcTimer();
  gc.start();
  const start = performance.now();
  await body();
  const wall = performance.now() - start;
  return { ops_per_s: (n / wall) * 1000, wall_ms: wall, rss_mb: peakRssMb(), gc_ms: await gc.stop() };
}

/** Submits `n` tasks in windows of 1,024, waiting for each window: how the anchors stay fast. */
async function windowed(n: number, submit: () => Promise<unknown>): Promise<void> {
  const window: Promise<unknown>[] = new Array(WINDOW);
  for (let done = 0; done < n; done += WINDOW) {
    const size = Math.min(WINDOW, n - done);
    window.length = size;
    for (let i = 0; i < size; i++) window[i] = submit();
    await Promise.all(window);
  }
}

async function measureOnce(subject: Subject, n: number): Promise<Measurement> {
  const mode = subject.params?.mode;
  switch (subject.name) {
    case 'fanout': {
      const scheduler = createScheduler({ adapters: [noop] });
      // The plan is the caller's data, built before the clock starts; validating it is timed.
      const operations = new Array<OperationSpec>(n);
      for (let i = 0; i < n; i++) operations[i] = { id: `op-${i}`, kind: 'noop' };
      let validateMs = 0;
      const figures = await timed(n, async () => {
        const start = performance.now();
        const run = scheduler.run({ operations }, { concurrency: CONCURRENCY, limits: { noop: { limiter: 'fixed', max: CONCURRENCY } } });
        validateMs = performance.now() - start;
        const result = await run.result;
        if (result.summary.byState.succeeded !== n) throw new Error(`fanout ran ${result.summary.byState.succeeded} of ${n}`);
      });
      return { ...figures, validate_ms: validateMs };
    }
    case 'fastq': {
      const queue = fastq.promise(noopTask, CONCURRENCY);
      if (mode === 'upfront') {
        return timed(n, async () => {
          const all = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) all[i] = queue.push(undefined);
          await Promise.all(all);
        });
      }
      return timed(n, () => windowed(n, () => queue.push(undefined)));
    }
    case 'p-limit': {
      const limit = pLimit(CONCURRENCY);
      return timed(n, () => windowed(n, () => limit(noopTask)));
    }
    case 'p-queue': {
      const queue = new PQueue({ concurrency: CONCURRENCY });
      return timed(n, () => windowed(n, () => queue.add(noopTask)));
    }
    case 'promise-all-chunks':
      return timed(n, async () => {
        const chunk = new Array<Promise<void>>(CONCURRENCY);
        for (let done = 0; done < n; done += CONCURRENCY) {
          for (let i = 0; i < CONCURRENCY; i++) chunk[i] = noopTask();
          await Promise.all(chunk);
        }
      });
    default:
      throw new Error(`unknown subject ${subject.name}`);
  }
}

export const schedulerNoop: Bench = {
  name: 'scheduler-noop',
  description: '1,000,000 independent no-op operations at concurrency 16 (quick: 20,000); each subject warms up on three runs of a tenth first',
  subjects: () => [
    { name: 'fanout', params: { concurrency: CONCURRENCY, mode: 'plan' } },
    { name: 'fastq', params: { concurrency: CONCURRENCY, mode: 'windowed' } },
    { name: 'p-limit', params: { concurrency: CONCURRENCY, mode: 'windowed' } },
    { name: 'p-queue', params: { concurrency: CONCURRENCY, mode: 'windowed' } },
    { name: 'fastq', params: { concurrency: CONCURRENCY, mode: 'upfront' } },
    { name: 'promise-all-chunks', params: { concurrency: CONCURRENCY, mode: 'chunks' } },
  ],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    // Every subject first runs a tenth of the work three times, so that none is measured cold.
    // Garbage is collected before that, not between: a forced full collection throws away
    // V8's optimised code, and the measured run would start cold again.
    collectGarbage();
    for (let w = 0; w < 3; w++) await measureOnce(subject, Math.ceil(size(quick) / 10));
    return measureOnce(subject, size(quick));
  },
  goals(rows: Row[]): string[] {
    const ours = find(rows, 'scheduler-noop', 'fanout', 'ops_per_s');
    const fastqRow = find(rows, 'scheduler-noop', 'fastq', 'ops_per_s', { concurrency: CONCURRENCY, mode: 'windowed' });
    if (ours === undefined || fastqRow === undefined) return [];
    const ratio = advantage(ours.value, fastqRow.value, 'ops_per_s');
    const rss = find(rows, 'scheduler-noop', 'fanout', 'rss_mb');
    return [
      `goal: fanout ops/s ≥ fastq (windowed) in the same run: ${ratio.toFixed(2)}× — ${check(ratio >= 1)}`,
      ...(rss === undefined ? [] : [`peak RSS of fanout with the whole plan in memory: ${rss.value.toFixed(0)} MB — ${check(rss.value < 1024)} (must not need gigabytes)`]),
    ];
  },
};
