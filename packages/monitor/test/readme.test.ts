import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler, defineAdapter } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMonitor, MetricsRecorder } from '../src/index.js';

describe('the README example', () => {
  it('runs as written, and the monitor stops by itself after the run', async () => {
    const fetchLike = defineAdapter({
      kind: 'fetch',
      input: z.object({ ms: z.number() }),
      defaults: { maxConcurrency: 16, idempotent: true },
      run: ({ ms }, { signal }) => sleep(ms, 'done', { signal }),
    });
    const monitor = createMonitor();
    const scheduler = createScheduler({ adapters: [fetchLike], pressure: monitor });
    const metrics = new MetricsRecorder({ monitor });
    const run = scheduler.run({ operations: Array.from({ length: 100 }, (_, i) => ({ id: `f${i}`, kind: 'fetch', input: { ms: 20 } })) });
    monitor.watch(run);
    metrics.attach(run);
    await sleep(1); // the run subscribes when it starts, on the next microtask
    expect(monitor.running).toBe(true);
    await run.result;
    expect(metrics.snapshot().kinds.fetch?.succeeded).toBe(100);
    expect(metrics.prometheus()).toMatch(/^fanout_limit\{kind="fetch"\} \d+$/m);
    expect(monitor.running).toBe(false);
  });
});
