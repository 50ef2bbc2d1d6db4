import { createScheduler, type RunResult, serializeError } from '@fanout/scheduler';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecutor, distribute, type DistributedExecutor, QUEUED_PER_LIMIT, schedulerLimit, startWorker } from '../src/index.js';
import { adapters } from './fixtures/adapters.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, HAS_REDIS_SERVER, loadWorkerChild, REDIS_URL, removeDir, startRedisServer, runCounts, startWorkerChild, starts, tempDir, testPrefix, until, type WorkerChild } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup(): { prefix: string; dir: string } {
  const { prefix, cleanup } = testPrefix();
  const dir = tempDir();
  cleanups.push(cleanup, () => removeDir(dir));
  return { prefix, dir };
}

function executorFor(prefix: string, options: Partial<Parameters<typeof createExecutor>[0]> = {}): DistributedExecutor {
  const executor = createExecutor({ redis: REDIS_URL, prefix, adapters, ...options });
  cleanups.push(() => executor.close());
  return executor;
}

function workerChild<T extends WorkerChild>(child: T): T {
  cleanups.push(async () => {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exited;
    }
  });
  return child;
}

/** What a result says, independent of timing and of where it ran. */
function outcome(result: RunResult): unknown[] {
  return [...result.operations()].map((op) => ({
    id: op.id,
    kind: op.kind,
    state: op.state,
    attempts: op.attempts,
    output: op.output,
    error: op.error === undefined ? undefined : serializeError(op.error),
    parent: op.parent,
  }));
}

/** A plan with dependencies, `$ref`s, a fan-out, an effect, a failure and what it skips. */
function plan(dir: string): unknown {
  return {
    operations: [
      { id: 'a', kind: 'sum', input: { dir, values: [1, 2, 3] } },
      { id: 'b', kind: 'sum', input: { dir, values: [10] } },
      {
        id: 'c',
        kind: 'sum',
        input: {
          dir,
          values: [
            { $ref: 'a', path: 'sum' },
            { $ref: 'b', path: 'sum' },
          ],
        },
      },
      { id: 'd', kind: 'effect', input: { dir, label: 'after-c' }, after: ['c'] },
      { id: 'each', kind: 'sum', forEach: { $ref: 'a', path: 'items' }, input: { dir, values: [{ $item: 'v' }, { $ref: 'c', path: 'sum' }] } },
      { id: 'broken', kind: 'blob', input: { bytes: 1, fail: 'EBADTHING' } },
      { id: 'never', kind: 'sum', input: { dir, values: [] }, after: ['broken'] },
    ],
  };
}

describe('@fanout/distributed against a real Redis', () => {
  it('runs a plan across 2 worker processes with the results of an in-process run', async () => {
    const local = setup();
    const remote = setup();
    const inProcess = await createScheduler({ adapters }).execute(plan(local.dir), { runId: 'same' });

    const workers = await Promise.all([startWorkerChild(remote.prefix), startWorkerChild(remote.prefix)]);
    for (const w of workers) workerChild(w);
    const executor = executorFor(remote.prefix);
    await executor.ready();
    const distributed = await createScheduler({ adapters: executor.adapters }).execute(plan(remote.dir), { runId: 'same' });

    // Same outcomes, with the directory of each run replaced.
    expect(JSON.parse(JSON.stringify(outcome(distributed)).replaceAll(remote.dir, 'DIR'))).toEqual(JSON.parse(JSON.stringify(outcome(inProcess)).replaceAll(local.dir, 'DIR')));
    expect(distributed.get('c')!.output).toMatchObject({ sum: 16 });
    expect(distributed.get('broken')!.error).toMatchObject({ code: 'EBADTHING' });
    expect(distributed.get('never')!.state).toBe('skipped');
    // Every operation that ran, ran once, and both workers ran some.
    expect(runCounts(remote.dir)).toEqual(runCounts(local.dir));
    expect(Object.values(runCounts(remote.dir)).every((n) => n === 1)).toBe(true);
    expect((distributed.get('broken')!.error as { worker?: string }).worker).toMatch(/^test-worker-\d+$/);
    expect(await executor.workers(['sum'])).toHaveLength(2);
  });

  it('after kill -9 of a worker mid-run: finished operations are not rerun, idempotent ones run again elsewhere, non-idempotent ones end FANOUT_WORKER_LOST', async () => {
    const { prefix, dir } = setup();
    const first = workerChild(await startWorkerChild(prefix, 8));
    const executor = executorFor(prefix);
    await executor.ready();
    // The second worker is loaded now and started at the kill: a cold start (3.4 s seen at load
    // 20) could outlast the operations it is meant to take over.
    const second = workerChild(await loadWorkerChild(prefix, 8));
    const long = ['p1', 'p2', 'p3'].map((id) => ({ id, kind: 'sum', input: { dir, values: [1], ms: 3000 } }));
    const effects = ['e1', 'e2'].map((id) => ({ id, kind: 'effect', input: { dir, label: id, ms: 3000 } }));
    const quick = [
      { id: 'q1', kind: 'sum', input: { dir, values: [2] } },
      { id: 'q2', kind: 'effect', input: { dir, label: 'q2' } },
    ];
    const finished = new Set<string>();
    const run = createScheduler({ adapters: executor.adapters }).run({ operations: [...quick, ...long, ...effects] }, { onEvent: (e) => e.type === 'op-finished' && finished.add(e.id) });
    await until(() => finished.has('q1') && finished.has('q2') && starts(dir).length === 5);
    expect(new Set(starts(dir).map((s) => s.pid))).toEqual(new Set([first.child.pid]));

    await second.start();
    first.child.kill('SIGKILL');
    await first.exited;
    const result = await run.result;

    for (const id of ['q1', 'q2', 'p1', 'p2', 'p3']) expect(result.get(id)!.state).toBe('succeeded');
    for (const id of ['e1', 'e2']) expect(serializeError(result.get(id)!.error)).toMatchObject({ code: 'FANOUT_WORKER_LOST' });
    // Each idempotent long operation started twice (once per worker) and ran to its end once; the
    // quick ones ran once; the effects started once and never ran again.
    expect(runCounts(dir)).toEqual({ q1: 1, q2: 1, p1: 1, p2: 1, p3: 1 });
    const byId = new Map<string, { id: string; pid: number }[]>();
    for (const s of starts(dir)) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
    for (const id of ['p1', 'p2', 'p3']) expect(byId.get(id)!.map((s) => s.pid)).toEqual([first.child.pid, second.child.pid]);
    for (const id of ['e1', 'e2']) expect(byId.get(id)!.map((s) => s.pid)).toEqual([first.child.pid]);
  }, 60_000);

  it('queues an attempt sent twice (the same run id, operation and attempt) once', async () => {
    const { prefix, dir } = setup();
    const worker = startWorker({ redis: REDIS_URL, prefix, adapters, concurrency: 4 });
    cleanups.push(() => worker.close());
    await worker.ready;
    const one = executorFor(prefix);
    const two = executorFor(prefix);
    const ops = { operations: ['x', 'y', 'z'].map((id) => ({ id, kind: 'effect', input: { dir, label: id, ms: 200 } })) };
    const [a, b] = await Promise.all([createScheduler({ adapters: one.adapters }).execute(ops, { runId: 'twice' }), createScheduler({ adapters: two.adapters }).execute(ops, { runId: 'twice' })]);
    expect(outcome(a)).toEqual(outcome(b));
    expect(a.ok).toBe(true);
    expect(runCounts(dir)).toEqual({ x: 1, y: 1, z: 1 });
    // Sent again after they ended (a resumed run): the outcomes are found, nothing runs.
    const three = executorFor(prefix);
    const c = await createScheduler({ adapters: three.adapters }).execute(ops, { runId: 'twice' });
    expect(outcome(c)).toEqual(outcome(a));
    expect(runCounts(dir)).toEqual({ x: 1, y: 1, z: 1 });
    // Another run id is another job.
    await createScheduler({ adapters: one.adapters }).execute(ops, { runId: 'other' });
    expect(runCounts(dir)).toEqual({ x: 2, y: 2, z: 2 });
  });

  it('caps what goes back through Redis: a larger output ends FANOUT_OUTPUT_TOO_LARGE', async () => {
    const { prefix } = setup();
    const worker = startWorker({ redis: REDIS_URL, prefix, adapters, kinds: ['blob'], concurrency: 2 });
    cleanups.push(() => worker.close());
    await worker.ready;
    const executor = executorFor(prefix, { maxOutputBytes: 1000 });
    const result = await createScheduler({ adapters: executor.adapters }).execute({
      operations: [
        { id: 'small', kind: 'blob', input: { bytes: 900 } },
        { id: 'large', kind: 'blob', input: { bytes: 5000 } },
      ],
    });
    expect(result.get('small')).toMatchObject({ state: 'succeeded', output: 'x'.repeat(900) });
    expect(result.get('large')).toMatchObject({ state: 'failed', attempts: 1 });
    expect(serializeError(result.get('large')!.error)).toMatchObject({ code: 'FANOUT_OUTPUT_TOO_LARGE' });
    expect(serializeError(result.get('large')!.error).message).toMatch(/5\d\d\d bytes serialised, over the 1000-byte cap/);
  });

  it('says when no worker serves a kind instead of waiting', async () => {
    const { prefix, dir } = setup();
    const executor = executorFor(prefix, { noWorkerTimeoutMs: 0, workerCheckIntervalMs: 50 });
    const result = await createScheduler({ adapters: executor.adapters }).execute({ operations: [{ id: 'lonely', kind: 'sum', input: { dir, values: [1] } }] });
    expect(serializeError(result.get('lonely')!.error)).toMatchObject({ code: 'FANOUT_NO_WORKER' });
    expect(serializeError(result.get('lonely')!.error).message).toContain('fanout worker --redis URL --kinds sum');
  });

  it('finishes what it holds on SIGTERM before exiting', async () => {
    const { prefix, dir } = setup();
    const worker = workerChild(await startWorkerChild(prefix, 4));
    const executor = executorFor(prefix);
    const run = createScheduler({ adapters: executor.adapters }).run({ operations: [{ id: 'slow', kind: 'effect', input: { dir, label: 'slow', ms: 500 } }] });
    await until(() => starts(dir).length === 1);
    worker.child.kill('SIGTERM');
    const result = await run.result;
    expect(result.get('slow')).toMatchObject({ state: 'succeeded', output: { label: 'SLOW' } });
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output()).toMatch(/closed .*"completed":1/);
  });

  it('after its grace period, a stopping worker hands idempotent attempts back and reports the others FANOUT_WORKER_LOST', async () => {
    const { prefix, dir } = setup();
    const first = workerChild(await startWorkerChild(prefix, 4, 100));
    const second = workerChild(await loadWorkerChild(prefix, 4));
    const executor = executorFor(prefix);
    const run = createScheduler({ adapters: executor.adapters }).run({
      operations: [
        { id: 'pure', kind: 'sum', input: { dir, values: [5], ms: 2000 } },
        { id: 'effect', kind: 'effect', input: { dir, label: 'e', ms: 2000 } },
      ],
    });
    await until(() => starts(dir).length === 2);
    await second.start();
    first.child.kill('SIGTERM');
    const result = await run.result;
    expect(result.get('pure')).toMatchObject({ state: 'succeeded', attempts: 1, output: { sum: 5 } });
    expect(serializeError(result.get('effect')!.error)).toMatchObject({ code: 'FANOUT_WORKER_LOST' });
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/"handedBack":1/);
    // The idempotent one started on both workers and ran to its end once; the effect never ended.
    expect(starts(dir).map((s) => [s.id, s.pid])).toEqual([
      ...starts(dir)
        .slice(0, 2)
        .map((s) => [s.id, first.child.pid]),
      ['pure', second.child.pid],
    ]);
    expect(runCounts(dir)).toEqual({ pure: 1 });
  }, 60_000);

  it.skipIf(!HAS_REDIS_SERVER)(
    'after Redis restarts without its data mid-run: idempotent attempts are queued again, the others end FANOUT_JOB_LOST, nothing waits forever',
    async () => {
      const dir = tempDir();
      cleanups.push(() => removeDir(dir));
      const port = await freePort();
      const url = `redis://127.0.0.1:${port}`;
      let redis = await startRedisServer(port);
      cleanups.push(() => redis.stop());
      const worker = workerChild(await startWorkerChild('restart', 8, 30_000, url));
      const executor = createExecutor({ redis: url, prefix: 'restart', adapters, workerCheckIntervalMs: 100 });
      cleanups.push(() => executor.close());
      await executor.ready();
      const run = createScheduler({ adapters: executor.adapters }).run({
        operations: [
          { id: 'p1', kind: 'sum', input: { dir, values: [1], ms: 1000 } },
          { id: 'p2', kind: 'sum', input: { dir, values: [2], ms: 1000 } },
          { id: 'e1', kind: 'effect', input: { dir, label: 'e1', ms: 1000 } },
          {
            id: 'after',
            kind: 'sum',
            input: {
              dir,
              values: [
                { $ref: 'p1', path: 'sum' },
                { $ref: 'p2', path: 'sum' },
              ],
            },
          },
        ],
      });
      await until(() => starts(dir).length === 3);
      await redis.stop();
      redis = await startRedisServer(port);
      const result = await run.result;
      expect(result.get('p1')).toMatchObject({ state: 'succeeded', output: { sum: 1 } });
      expect(result.get('p2')).toMatchObject({ state: 'succeeded', output: { sum: 2 } });
      expect(result.get('after')).toMatchObject({ state: 'succeeded', output: { sum: 3 } });
      expect(serializeError(result.get('e1')!.error)).toMatchObject({ code: 'FANOUT_JOB_LOST' });
      // The idempotent ones started again on the same worker once Redis was back.
      const again = starts(dir).filter((s) => s.pid === worker.child.pid && (s.id === 'p1' || s.id === 'p2'));
      expect(again).toHaveLength(4);
    },
    60_000,
  );

  it("sets each kind's limit and rate across workers, and follows the run's limit changes", async () => {
    const { prefix, dir } = setup();
    const worker = startWorker({ redis: REDIS_URL, prefix, adapters, kinds: ['sum'], concurrency: 2 });
    cleanups.push(() => worker.close());
    await worker.ready;
    const executor = executorFor(prefix, { limits: { sum: 5 }, rates: { sum: { max: 100, durationMs: 1000 } } });
    const run = createScheduler({ adapters: executor.adapters }).run({ operations: [{ id: 'slow', kind: 'sum', input: { dir, values: [1], ms: 300 } }] });
    executor.follow(run);
    await until(() => starts(dir).length === 1);
    const queue = new Queue('sum', { connection: { url: REDIS_URL }, prefix });
    cleanups.push(() => queue.close());
    expect(await queue.getGlobalConcurrency()).toBe(5);
    expect(await queue.getGlobalRateLimit()).toMatchObject({ max: 100, duration: 1000 });
    run.setLimit('sum', 3);
    await (async () => {
      while ((await queue.getGlobalConcurrency()) !== 3) await new Promise((resolve) => setTimeout(resolve, 20));
    })();
    expect((await run.result).ok).toBe(true);
  });

  it("runs at most its share of a kind's limit across workers, ⌈limit ÷ workers⌉, and takes the whole of it when the other leaves", async () => {
    const { prefix } = setup();
    const queue = new Queue('sum', { connection: { url: REDIS_URL }, prefix });
    cleanups.push(() => queue.close());
    await queue.setGlobalConcurrency(5);
    const options = { redis: REDIS_URL, prefix, adapters, kinds: ['sum'], concurrency: 8, stalledIntervalMs: 100 };
    const first = startWorker(options);
    const second = startWorker(options);
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    await Promise.all([first.ready, second.ready]);
    await until(() => first.concurrency('sum') === 3 && second.concurrency('sum') === 3);
    expect(first.concurrency('grep')).toBeUndefined();
    await second.close();
    await until(() => first.concurrency('sum') === 5);
    // Without a limit across workers, the configured concurrency.
    await queue.removeGlobalConcurrency();
    await until(() => first.concurrency('sum') === 8);
  });

  it('has twice the limit across workers queued or running, and at most the limit running across 2 worker processes', async () => {
    const { prefix, dir } = setup();
    // 2 workers of 4 slots each: 8 could run at once if the limit across workers did not hold.
    await Promise.all([startWorkerChild(prefix, 4), startWorkerChild(prefix, 4)].map(async (child) => workerChild(await child)));
    const { executor, adapters: scheduled, limits } = await distribute({ redis: REDIS_URL, prefix, adapters, limits: { gauge: { max: 3, limiter: 'fixed' } } });
    cleanups.push(() => executor.close());
    expect(QUEUED_PER_LIMIT).toBe(2);
    expect(limits).toEqual({ gauge: { max: schedulerLimit(3), limiter: 'fixed' } });
    expect(limits.gauge?.max).toBe(6);
    const run = createScheduler({ adapters: scheduled, limits }).run({ operations: Array.from({ length: 24 }, (_, i) => ({ id: `g${i}`, kind: 'gauge', input: { dir, ms: 200 } })) });
    executor.follow(run);
    let sent = 0;
    run.on((event) => {
      if (event.type === 'op-started') sent = Math.max(sent, event.inflight);
    });
    const result = await run.result;
    expect(result.ok).toBe(true);
    // The scheduler had 6 attempts with the workers (queued or running)…
    expect(sent).toBe(6);
    // …and the workers ran at most 3 at once, as counted by the files of the attempts running.
    const seen = readFileSync(join(dir, 'gauge'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[0]));
    expect(seen).toHaveLength(24);
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    expect(Math.max(...seen)).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("gives the executor's adapters twice their limit across workers as maxConcurrency, and scales only remote kinds' configured max", async () => {
    const { prefix } = setup();
    const {
      executor,
      adapters: scheduled,
      limits,
    } = await distribute({
      redis: REDIS_URL,
      prefix,
      adapters,
      local: ['blob'],
      limits: { sum: { max: 5, keyLimit: 2 }, blob: { max: 3 }, effect: { timeoutMs: 100 }, nothing: { max: 7 } },
    });
    cleanups.push(() => executor.close());
    // Configured: twice the max; the per-key sub-limit as given (workers do not know keys).
    expect(limits).toEqual({ sum: { max: 10, keyLimit: 2 }, blob: { max: 3 }, effect: { timeoutMs: 100 }, nothing: { max: 7 } });
    const byKind = Object.fromEntries(scheduled.map((adapter) => [adapter.kind, adapter.defaults?.maxConcurrency]));
    // Not configured: the adapter's own maxConcurrency (8) as the limit, twice it for the scheduler; blob stays local as it was.
    expect(byKind).toEqual({ sum: 10, effect: 16, gauge: 16, blob: 4 });
  });

  it('refuses an executor whose Redis does not answer, with FANOUT_REDIS_UNAVAILABLE', async () => {
    const executor = createExecutor({ redis: 'redis://127.0.0.1:1', adapters, connectTimeoutMs: 2000 });
    cleanups.push(() => executor.close());
    await expect(executor.ready()).rejects.toMatchObject({ code: 'FANOUT_REDIS_UNAVAILABLE' });
  });
});
