import { createScheduler, type OperationSpec } from '@fanout/scheduler';
import PQueue from 'p-queue';
import { collectGarbage, gcTimer, noop, noopTask, peakRssMb, seeded } from '../noop-adapter.js';
import { advantage, check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

const CONCURRENCY = 16;
const LEVELS = 10;

function size(quick: boolean): number {
  return quick ? 5_000 : 100_000;
}

/** Operation i gets priority 0–9 and up to 3 dependencies among the 1,000 before it. */
export function dagPlan(n: number): OperationSpec[] {
  const random = seeded(42);
  const operations = new Array<OperationSpec>(n);
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const count = i === 0 ? 0 : Math.floor(random() * 4);
    for (let d = 0; d < count; d++) deps.add(`op-${Math.max(0, i - 1 - Math.floor(random() * 1000))}`);
    operations[i] = { id: `op-${i}`, kind: 'noop', priority: Math.floor(random() * LEVELS), ...(deps.size > 0 ? { after: [...deps] } : {}) };
  }
  return operations;
}

async function measureOnce(subject: Subject, n: number): Promise<Measurement> {
  if (subject.name === 'fanout') {
    const scheduler = createScheduler({ adapters: [noop] });
    const operations = dagPlan(n);
    const gc = gcTimer();
    gc.start();
    const start = performance.now();
    const run = scheduler.run({ operations }, { concurrency: CONCURRENCY, limits: { noop: { limiter: 'fixed', max: CONCURRENCY } } });
    const validateMs = performance.now() - start;
    const result = await run.result;
    const wall = performance.now() - start;
    if (result.summary.byState.succeeded !== n) throw new Error(`fanout ran ${result.summary.byState.succeeded} of ${n}`);
    return { ops_per_s: (n / wall) * 1000, wall_ms: wall, rss_mb: peakRssMb(), validate_ms: validateMs, gc_ms: await gc.stop() };
  }
  if (subject.name === 'p-queue') {
    // The anchor's figure: the whole backlog added up front with priorities (no DAG: p-queue has none).
    const random = seeded(42);
    const queue = new PQueue({ concurrency: CONCURRENCY });
    const start = performance.now();
    const all = new Array<Promise<void>>(n);
    for (let i = 0; i < n; i++) all[i] = queue.add(noopTask, { priority: Math.floor(random() * LEVELS) });
    await Promise.all(all);
    const wall = performance.now() - start;
    return { ops_per_s: (n / wall) * 1000, wall_ms: wall, rss_mb: peakRssMb() };
  }
  throw new Error(`unknown subject ${subject.name}`);
}

export const schedulerDag: Bench = {
  name: 'scheduler-dag',
  description: '100,000 operations, 10 priority levels, each after up to 3 earlier ones (quick: 5,000); each subject warms up on three runs of a tenth first',
  subjects: () => [
    { name: 'fanout', params: { concurrency: CONCURRENCY, levels: LEVELS, mode: 'dag' } },
    { name: 'p-queue', params: { concurrency: CONCURRENCY, levels: LEVELS, mode: 'backlog' } },
  ],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    // Every subject first runs a tenth of the work three times, so that none is measured cold.
    // Garbage is collected before that, not between: a forced full collection throws away
    // V8's optimised code, and the measured run would start cold again.
    collectGarbage();
    for (let w = 0; w < 3; w++) await measureOnce(subject, Math.ceil(size(quick) / 10));
    return measureOnce(subject, size(quick));
  },
  goals(rows: Row[], all: Row[]): string[] {
    const ours = find(rows, 'scheduler-dag', 'fanout', 'ops_per_s');
    const pq = find(rows, 'scheduler-dag', 'p-queue', 'ops_per_s');
    const lines: string[] = [];
    if (ours !== undefined && pq !== undefined) {
      const ratio = advantage(ours.value, pq.value, 'ops_per_s');
      lines.push(`goal: fanout DAG ≥ 20× p-queue with priorities: ${ratio.toFixed(1)}× — ${check(ratio >= 20)}`);
    }
    const noopRow = find(all, 'scheduler-noop', 'fanout', 'ops_per_s');
    if (ours !== undefined && noopRow !== undefined) {
      const share = ours.value / noopRow.value;
      lines.push(`goal: fanout DAG ≥ half of fanout's scheduler-noop rate: ${(share * 100).toFixed(0)}% — ${check(share >= 0.5)}`);
    } else if (ours !== undefined) {
      lines.push('goal vs fanout scheduler-noop: run both benchmarks together to compare');
    }
    return lines;
  },
};
