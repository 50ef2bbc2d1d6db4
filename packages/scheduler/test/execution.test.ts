import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter, type Run, type RunOptions, type RunSummary, type SchedulerEvent } from '../src/index.js';
import { deferred, flush, ManualClock } from '../src/testing.js';
import { harness, op, spans } from './helpers.js';

describe('execution', () => {
  it('runs independent operations in parallel and dependent ones in order', async () => {
    const h = harness({ work: { maxConcurrency: 8 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({
      operations: [op('a', { ok: 100 }), op('b', { ok: 100 }), op('c', { ok: 100 }), op('d', { ok: 50 }, { after: ['a', 'b'] }), op('e', { ok: 10 }, { after: ['d'] })],
    });
    const s = spans(h.trace);
    expect(s.get('a')![0]).toEqual({ start: 0, end: 100 });
    expect(s.get('b')![0]!.start).toBe(0);
    expect(s.get('c')![0]!.start).toBe(0);
    expect(s.get('d')![0]).toEqual({ start: 100, end: 150 });
    expect(s.get('e')![0]).toEqual({ start: 150, end: 160 });
    expect(result.ok).toBe(true);
    expect(result.summary.wallMs).toBe(160);
    expect(result.summary.busyMs).toBe(360);
    expect(result.summary.speedup).toBeCloseTo(360 / 160);
  });

  it('caps each pool at its limit and all pools at the global cap', async () => {
    const h = harness({ work: { maxConcurrency: 3 }, other: { maxConcurrency: 10 } }, { concurrency: 5, limits: { work: { limiter: 'fixed' }, other: { limiter: 'fixed' } } });
    const operations = [...Array.from({ length: 10 }, (_, i) => op(`w${i}`, { ok: 10 })), ...Array.from({ length: 10 }, (_, i) => ({ ...op(`o${i}`, { ok: 10 }), kind: 'other' }))];
    const result = await h.run({ operations });
    expect(h.trace.peak.get('work')).toBe(3);
    expect(result.summary.peakInflight).toBe(5);
    expect(result.summary.byKind.work!.peakInflight).toBe(3);
    expect(result.summary.byState.succeeded).toBe(20);
  });

  it('orders ready operations by priority, then critical path, then arrival', async () => {
    const h = harness({ work: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({
      operations: [
        op('gate', { ok: 1 }),
        op('low', { ok: 1 }, { after: ['gate'], priority: -1 }),
        op('plain-1', { ok: 1 }, { after: ['gate'] }),
        op('plain-2', { ok: 1 }, { after: ['gate'] }),
        op('chain-head', { ok: 1 }, { after: ['gate'] }),
        op('chain-tail', { ok: 1 }, { after: ['chain-head'] }),
        op('urgent', { ok: 1 }, { after: ['gate'], priority: 5 }),
      ],
    });
    const order = h.trace.log.filter((e) => e.type === 'start').map((e) => e.id);
    expect(order).toEqual(['gate', 'urgent', 'chain-head', 'plain-1', 'plain-2', 'chain-tail', 'low']);
  });

  it('passes outputs on through references', async () => {
    const h = harness();
    const result = await h.run({
      operations: [
        op('find', { ok: 5, value: { files: ['a.ts', 'b.ts'], count: 2 } }),
        { id: 'use', kind: 'work', input: { steps: [{ ok: 1 }], tag: { first: { $ref: 'find', path: 'files.0' }, all: { $ref: 'find' } } } },
      ],
    });
    expect(result.get('use')?.output).toEqual({ id: 'use', tag: { first: 'a.ts', all: { files: ['a.ts', 'b.ts'], count: 2 } } });
  });

  it('fails an operation whose reference does not resolve, naming what is there', async () => {
    const h = harness();
    const result = await h.run({
      operations: [op('find', { ok: 5, value: { files: [] } }), { id: 'use', kind: 'work', input: { steps: [{ ok: 1 }], tag: { $ref: 'find', path: 'file' } } }],
    });
    const use = result.get('use')!;
    expect(use.state).toBe('failed');
    expect((use.error as Error).message).toBe('expected "file" in the output of "find", which has keys "files"');
  });

  it('validates inputs once references are resolved', async () => {
    const h = harness();
    const result = await h.run({
      operations: [op('find', { ok: 5, value: 'not a list' }), { id: 'use', kind: 'work', input: { steps: { $ref: 'find' } } }],
    });
    expect(result.get('use')!.state).toBe('failed');
    expect((result.get('use')!.error as { code: string }).code).toBe('FANOUT_INPUT_INVALID');
    expect((result.get('use')!.error as Error).message).toContain('operations[1].input.steps: expected array, got the string "not a list"');
  });

  it('fans out one child per item, and dependents get the list of outputs', async () => {
    const h = harness({ work: { maxConcurrency: 10 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({
      operations: [
        op('find', { ok: 5, value: { files: ['x', 'y', 'z'] } }),
        { id: 'each', kind: 'work', input: { steps: [{ ok: 10 }], tag: { $item: true } }, forEach: { $ref: 'find', path: 'files' } },
        { id: 'sum', kind: 'work', input: { steps: [{ ok: 1 }], tag: { $ref: 'each' } }, after: ['each'] },
      ],
    });
    expect(result.summary.total).toBe(6);
    expect(result.get('each[1]')).toMatchObject({ state: 'succeeded', parent: 'each', output: { id: 'each[1]', tag: 'y' } });
    expect(result.get('each')!.output).toEqual([
      { id: 'each[0]', tag: 'x' },
      { id: 'each[1]', tag: 'y' },
      { id: 'each[2]', tag: 'z' },
    ]);
    expect((result.get('sum')!.output as { tag: unknown[] }).tag).toHaveLength(3);
    const s = spans(h.trace);
    expect(['each[0]', 'each[1]', 'each[2]'].map((id) => s.get(id)![0]!.start)).toEqual([5, 5, 5]);
    const expanded = h.events.find((e) => e.type === 'op-expanded');
    expect(expanded).toMatchObject({ id: 'each', children: ['each[0]', 'each[1]', 'each[2]'] });
  });

  it('ends a fan-out over an empty list at once, and refuses a fan-out over a non-list', async () => {
    const h = harness();
    const result = await h.run({
      operations: [
        op('find', { ok: 5, value: { files: [], name: 'x' } }),
        { id: 'none', kind: 'work', input: { steps: [{ ok: 1 }] }, forEach: { $ref: 'find', path: 'files' } },
        { id: 'bad', kind: 'work', input: { steps: [{ ok: 1 }] }, forEach: { $ref: 'find', path: 'name' } },
      ],
    });
    expect(result.get('none')).toMatchObject({ state: 'succeeded', output: [] });
    expect(result.get('bad')!.state).toBe('failed');
    expect((result.get('bad')!.error as Error).message).toBe('expected forEach to point to a list, got the string "x"');
  });

  it('fails a fan-out child whose item makes its input invalid, and the parent with it', async () => {
    const h = harness();
    const result = await h.run({
      operations: [op('find', { ok: 5, value: [[{ ok: 1 }], 'oops'] }), { id: 'each', kind: 'work', input: { steps: { $item: true } }, forEach: { $ref: 'find' } }],
    });
    expect(result.get('each[0]')!.state).toBe('succeeded');
    expect(result.get('each[1]')!.state).toBe('failed');
    expect(result.get('each')!.state).toBe('failed');
    expect((result.get('each')!.error as Error).message).toBe('1 of 2 children did not succeed: "each[1]" failed');
  });

  it('respects sub-limits per key, without blocking other keys', async () => {
    const clock = new ManualClock();
    const started: string[] = [];
    const host = defineAdapter({
      kind: 'fetch',
      input: z.object({ host: z.string(), n: z.number() }),
      key: (input) => input.host,
      defaults: { maxConcurrency: 10, keyLimit: 2 },
      run: (input) =>
        new Promise((resolve) => {
          started.push(`${input.host}${input.n}@${clock.now()}`);
          clock.setTimeout(() => resolve(undefined), 10);
        }),
    });
    const scheduler = createScheduler({ adapters: [host], clock, limits: { fetch: { limiter: 'fixed', keyLimits: { slow: 1 } } } });
    const operations = [
      ...[0, 1, 2, 3].map((n) => ({ id: `a${n}`, kind: 'fetch', input: { host: 'a', n } })),
      ...[0, 1].map((n) => ({ id: `s${n}`, kind: 'fetch', input: { host: 'slow', n } })),
      { id: 'b0', kind: 'fetch', input: { host: 'b', n: 0 } },
    ];
    await clock.runUntil(scheduler.execute({ operations }));
    expect(started).toEqual(['a0@0', 'a1@0', 'slow0@0', 'b0@0', 'a2@10', 'a3@10', 'slow1@10']);
  });

  it('changes limits while running, never exceeding the new one', async () => {
    const h = harness({ work: { maxConcurrency: 8 } }, { limits: { work: { limiter: 'fixed' } } });
    const run = h.scheduler.run({ operations: Array.from({ length: 40 }, (_, i) => op(`o${i}`, { ok: 10 })) });
    const starts: { at: number; inflight: number; limit: number }[] = [];
    run.on((e) => {
      if (e.type === 'op-started') starts.push({ at: e.time, inflight: e.inflight, limit: e.limit });
    });
    await flush();
    expect(run.snapshot().kinds.work).toMatchObject({ inflight: 8, limit: 8 });
    run.setLimit('work', 2);
    h.clock.advance(10);
    await flush();
    expect(run.snapshot().kinds.work).toMatchObject({ inflight: 2, limit: 2 });
    run.setLimit('work', 5);
    await flush();
    expect(run.snapshot().kinds.work).toMatchObject({ inflight: 5, limit: 5 });
    const result = await h.clock.runUntil(run.result);
    expect(result.summary.byState.succeeded).toBe(40);
    for (const start of starts) expect(start.inflight).toBeLessThanOrEqual(start.limit);
    expect(result.summary.limitHistory.work!.map((p) => [p.limit, p.reason])).toEqual([
      [2, 'set by the user'],
      [5, 'set by the user'],
    ]);
  });

  it('lets a synchronous adapter and one that throws synchronously run too', async () => {
    const sync = defineAdapter({ kind: 'sync', input: z.object({ n: z.number() }), run: ({ n }) => n * 2 });
    const boom = defineAdapter({
      kind: 'boom',
      input: z.object({}),
      run: () => {
        throw new Error('sync boom');
      },
    });
    const scheduler = createScheduler({ adapters: [sync, boom] });
    const result = await scheduler.execute({
      operations: [
        { id: 'a', kind: 'sync', input: { n: 2 } },
        { id: 'b', kind: 'sync', input: { n: { $ref: 'a' } } },
        { id: 'c', kind: 'boom', input: {} },
      ],
    });
    expect(result.get('b')!.output).toBe(8);
    expect(result.get('c')).toMatchObject({ state: 'failed', attempts: 1 });
    expect((result.get('c')!.error as Error).message).toBe('sync boom');
  });

  it('runs an empty plan to an empty summary', async () => {
    const h = harness();
    const result = await h.run({ operations: [] });
    expect(result.ok).toBe(true);
    expect(result.summary.total).toBe(0);
    expect(h.events.map((e) => e.type)).toEqual(['run-started', 'run-finished']);
  });

  it('resolves a long chain of sync operations without growing the stack', async () => {
    const sync = defineAdapter({ kind: 'sync', input: z.unknown(), run: () => 1 });
    const scheduler = createScheduler({ adapters: [sync] });
    const operations = Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, kind: 'sync', after: i === 0 ? [] : [`n${i - 1}`] }));
    const result = await scheduler.execute({ operations });
    expect(result.summary.byState.succeeded).toBe(20_000);
  });

  it('holds the run open until a deferred attempt settles', async () => {
    const gate = deferred<string>();
    const waiting = defineAdapter({ kind: 'wait', input: z.unknown(), run: () => gate.promise });
    const scheduler = createScheduler({ adapters: [waiting] });
    let done = false;
    const result = scheduler.execute({ operations: [{ id: 'w', kind: 'wait' }] }).then((r) => {
      done = true;
      return r;
    });
    await flush();
    expect(done).toBe(false);
    gate.resolve('open');
    expect((await result).get('w')!.output).toBe('open');
  });
});

describe('a large flat plan', () => {
  // 3,000 roots of a keyed kind (each takes the general path to the queue): more than are
  // queued before the first dispatch, so the rest are queued in later turns.
  const ids = Array.from({ length: 3_000 }, (_, i) => `f${i}`);
  const plan = { operations: ids.map((id) => ({ id, kind: 'fetch', input: { host: 'h' } })) };

  function setup(hang = false) {
    const clock = new ManualClock();
    const started: string[] = [];
    const queuedAtStart: number[] = [];
    let current: Run | undefined;
    const fetch = defineAdapter({
      kind: 'fetch',
      input: z.object({ host: z.string() }),
      key: (input) => input.host,
      defaults: { maxConcurrency: 8 },
      run: (_input, ctx) =>
        new Promise((resolve, reject) => {
          queuedAtStart.push(current!.snapshot().kinds.fetch!.queued);
          started.push(ctx.id);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
          if (!hang) clock.setTimeout(() => resolve(ctx.id), 10);
        }),
    });
    const scheduler = createScheduler({ adapters: [fetch], clock, limits: { fetch: { limiter: 'fixed' } } });
    const start = (options: RunOptions = {}): Run => (current = scheduler.run(plan, options));
    return { clock, started, queuedAtStart, start };
  }

  const comparable = ({ runId: _id, startedAt: _at, ...rest }: RunSummary) => rest;

  it('starts before every root is queued, in plan order, and ends as a run that queued them all first', async () => {
    const quiet = setup();
    const first = await quiet.clock.runUntil(quiet.start().result);
    // Queued in one go before the first start when a listener is attached from the start.
    const heard = setup();
    const events: SchedulerEvent[] = [];
    const second = await heard.clock.runUntil(heard.start({ onEvent: (event) => events.push(event) }).result);

    expect(quiet.queuedAtStart[0]).toBeLessThan(ids.length - 1);
    expect(heard.queuedAtStart[0]).toBe(ids.length - 1);
    expect(quiet.started).toEqual(ids);
    expect(heard.started).toEqual(ids);
    expect(first.summary.wallMs).toBe((ids.length / 8) * 10);
    expect(comparable(first.summary)).toEqual(comparable(second.summary));
    const types = events.map((event) => event.type);
    expect(types.lastIndexOf('op-queued')).toBeLessThan(types.indexOf('op-started'));
    expect(types.filter((type) => type === 'op-queued')).toHaveLength(ids.length);
  });

  it('tells a listener attached after the start of no queued roots, as when they were all queued at once', async () => {
    const { clock, start } = setup();
    const run = start();
    await flush();
    const types: string[] = [];
    run.on((event) => types.push(event.type));
    const result = await clock.runUntil(run.result);
    expect(result.summary.byState.succeeded).toBe(ids.length);
    expect(types).not.toContain('op-queued');
    expect(types.filter((type) => type === 'op-started')).toHaveLength(ids.length - 8);
  });

  it('cancels the roots not queued yet with the others', async () => {
    const { clock, started, start } = setup(true);
    const run = start();
    await flush();
    run.cancel('enough');
    const result = await clock.runUntil(run.result);
    await flush();
    expect(started).toEqual(ids.slice(0, 8));
    expect(result.summary.byState.cancelled).toBe(ids.length);
  });
});

describe('the caller’s plan', () => {
  it('is left as it was, so the same plan object can run twice', async () => {
    const h = harness();
    const plan = {
      operations: [
        op('find', { ok: 1, value: ['a', 'b'] }),
        { id: 'each', kind: 'work', input: { steps: [{ ok: 1 }], tag: { $item: true } }, forEach: { $ref: 'find' } },
        { id: 'use', kind: 'work', input: { steps: [{ ok: 1 }], tag: { $ref: 'find' } } },
      ],
    };
    const before = structuredClone(plan);
    const first = await h.run(plan);
    expect(plan).toEqual(before);
    const second = await h.run(plan);
    expect(second.summary.total).toBe(first.summary.total);
    expect(second.ok).toBe(true);
  });
});
