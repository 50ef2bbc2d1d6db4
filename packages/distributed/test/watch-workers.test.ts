/** `executor.watchWorkers`: the workers serving each kind, counted as they come and go (real Redis, real worker processes). */
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor } from '../src/index.js';
import { adapters } from './fixtures/adapters.mjs';
import { REDIS_URL, startWorkerChild, testPrefix, until } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('watchWorkers', () => {
  it('reports the count of each kind at once, then each change, and nothing after it is stopped', async () => {
    const { prefix, cleanup } = testPrefix();
    cleanups.push(cleanup);
    const executor = createExecutor({ redis: REDIS_URL, prefix, adapters });
    cleanups.push(() => executor.close());
    const seen: Record<string, number>[] = [];
    const stop = executor.watchWorkers(['sum'], (counts) => seen.push(counts), 50);
    await until(() => seen.length === 1);
    expect(seen).toEqual([{ sum: 0 }]);

    const first = await startWorkerChild(prefix);
    cleanups.push(async () => {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
      await first.exited;
    });
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual({ sum: 1 });

    // A worker killed outright: its connections drop, and the count with them.
    first.child.kill('SIGKILL');
    await first.exited;
    await until(() => seen.length === 3);
    expect(seen[2]).toEqual({ sum: 0 });

    stop();
    const second = await startWorkerChild(prefix);
    cleanups.push(async () => {
      if (second.child.exitCode === null && second.child.signalCode === null) second.child.kill('SIGKILL');
      await second.exited;
    });
    // The executor itself sees it (after many of the watch's intervals: starting a worker
    // process takes far longer); the stopped watch says nothing more.
    expect((await executor.workers(['sum'])).length).toBe(1);
    expect(seen.length).toBe(3);
  }, 60_000);

  it('refuses an interval that is not a positive integer', () => {
    const executor = createExecutor({ redis: REDIS_URL, adapters });
    cleanups.push(() => executor.close());
    expect(() => executor.watchWorkers(['sum'], () => undefined, 0)).toThrow(/intervalMs/);
  });
});
