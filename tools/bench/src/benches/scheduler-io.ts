import { createScheduler, defineAdapter, type OperationSpec } from '@fanout/scheduler';
import pLimit from 'p-limit';
import { z } from 'zod';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

const WAIT_MS = 50;

function size(quick: boolean): number {
  return quick ? 200 : 2_000;
}

/**
 * Waits `ms`, stopping early when aborted. Written with setTimeout and one abort listener:
 * `timers/promises` with a signal adds about 0.4 ms to each wait here (measured while writing
 * this benchmark), which would be the adapter's cost, not the scheduler's.
 */
const wait = defineAdapter({
  kind: 'wait',
  input: z.object({ ms: z.number() }),
  defaults: { maxConcurrency: 64 },
  run: ({ ms }, ctx) =>
    new Promise<void>((resolve, reject) => {
      const signal = ctx.signal;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
});

export function idealMs(n: number, concurrency: number): number {
  return Math.ceil(n / concurrency) * WAIT_MS;
}

export const schedulerIo: Bench = {
  name: 'scheduler-io',
  description: `2,000 operations that each wait ${WAIT_MS} ms, limits 16 and 64 (quick: 200)`,
  subjects: () =>
    [16, 64].flatMap((concurrency) => [
      { name: 'fanout', params: { concurrency } },
      { name: 'p-limit', params: { concurrency } },
      { name: 'ideal', params: { concurrency } },
    ]),
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = size(quick);
    const concurrency = subject.params!.concurrency as number;
    if (subject.name === 'ideal') return { wall_ms: idealMs(n, concurrency) };
    if (subject.name === 'fanout') {
      const scheduler = createScheduler({ adapters: [wait] });
      const operations: OperationSpec[] = Array.from({ length: n }, (_, i) => ({ id: `w${i}`, kind: 'wait', input: { ms: WAIT_MS } }));
      const start = performance.now();
      const result = await scheduler.execute({ operations }, { limits: { wait: { limiter: 'fixed', max: concurrency } } });
      const wall = performance.now() - start;
      if (!result.ok) throw new Error('fanout: some waits failed');
      return { wall_ms: wall, ops_per_s: (n / wall) * 1000 };
    }
    if (subject.name === 'p-limit') {
      const limit = pLimit(concurrency);
      const start = performance.now();
      await Promise.all(Array.from({ length: n }, () => limit(() => new Promise<void>((resolve) => setTimeout(resolve, WAIT_MS)))));
      const wall = performance.now() - start;
      return { wall_ms: wall, ops_per_s: (n / wall) * 1000 };
    }
    throw new Error(`unknown subject ${subject.name}`);
  },
  goals(rows: Row[]): string[] {
    return [16, 64].flatMap((concurrency) => {
      const ours = find(rows, 'scheduler-io', 'fanout', 'wall_ms', { concurrency });
      const ideal = find(rows, 'scheduler-io', 'ideal', 'wall_ms', { concurrency });
      if (ours === undefined || ideal === undefined) return [];
      const over = ours.value / ideal.value - 1;
      return [`goal: makespan within 3% of ideal at ${concurrency}: +${(over * 100).toFixed(2)}% — ${check(over <= 0.03)}`];
    });
  },
};
