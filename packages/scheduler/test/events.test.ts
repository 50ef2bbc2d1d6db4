import { describe, expect, it } from 'vitest';
import { serializeError, type SchedulerEvent } from '../src/index.js';
import { EventHub } from '../src/event-hub.js';
import { flush } from '../src/testing.js';
import { harness, op } from './helpers.js';

describe('events', () => {
  it('form one ordered stream: run, queued, started, retrying, finished, run finished', async () => {
    const h = harness();
    await h.run({ operations: [op('a', [{ fail: 1, error: 'retryable' }, { ok: 1 }]), op('b', { ok: 1 }, { after: ['a'] })] });
    expect(h.events.map((e) => e.seq)).toEqual(h.events.map((_, i) => i));
    const times = h.events.map((e) => e.time);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(h.events.map((e) => `${e.type}${'id' in e ? ` ${e.id}` : ''}`)).toEqual([
      'run-started',
      'op-queued a',
      'op-started a',
      'op-retrying a',
      'op-queued a',
      'op-started a',
      'op-finished a',
      'op-queued b',
      'op-started b',
      'op-finished b',
      'run-finished',
    ]);
    const finished = h.events.at(-1) as Extract<SchedulerEvent, { type: 'run-finished' }>;
    expect(finished.summary.byState.succeeded).toBe(2);
  });

  it('reach async iterators, and a consumer that never reads does not stall the run', async () => {
    const h = harness();
    const run = h.scheduler.run({ operations: Array.from({ length: 50 }, (_, i) => op(`o${i}`, { ok: 1 })) });
    const idle = run.events(); // never read until the end
    const result = await h.clock.runUntil(run.result);
    expect(result.summary.byState.succeeded).toBe(50);
    const types: string[] = [];
    for await (const event of idle) types.push(event.type);
    expect(types[0]).toBe('run-started');
    expect(types.at(-1)).toBe('run-finished');
    expect(types.filter((t) => t === 'op-finished')).toHaveLength(50);
  });

  it('bound a slow consumer’s buffer, saying how many events it lost', async () => {
    const hub = new EventHub<{ n: number }>();
    const iterator = hub.iterate({ maxBuffered: 3 });
    for (let n = 0; n < 10; n++) hub.emit({ n });
    hub.end();
    const got: unknown[] = [];
    for await (const event of iterator) got.push(event);
    expect(got).toEqual([{ n: 7, droppedBefore: 7 }, { n: 8 }, { n: 9 }]);
  });

  it('cost nothing when nobody listens', () => {
    const hub = new EventHub<{ n: number }>();
    expect(hub.active).toBe(false);
    const off = hub.on(() => {});
    expect(hub.active).toBe(true);
    off();
    expect(hub.active).toBe(false);
    const iterator = hub.iterate();
    expect(hub.active).toBe(true);
    void iterator.return!();
    expect(hub.active).toBe(false);
  });

  it('survive a listener that throws', async () => {
    const h = harness();
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const run = h.scheduler.run({ operations: [op('a', { ok: 1 })] });
    run.on(() => {
      throw new Error('listener bug');
    });
    const result = await h.clock.runUntil(run.result);
    await flush();
    process.off('warning', onWarning);
    expect(result.ok).toBe(true);
    expect(warnings).toContain('FanoutListenerWarning');
  });

  it('end an iterator early through its signal', async () => {
    const hub = new EventHub<{ n: number }>();
    const controller = new AbortController();
    const iterator = hub.iterate({ signal: controller.signal });
    hub.emit({ n: 1 });
    const pending = iterator.next();
    controller.abort();
    expect(await pending).toEqual({ value: { n: 1 }, done: false });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});

describe('summary', () => {
  it('accounts for every operation by state and kind, with times and limits', async () => {
    const h = harness({ work: { maxConcurrency: 2 }, other: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' }, other: { limiter: 'fixed' } } });
    const result = await h.run({
      name: 'mixed',
      operations: [
        op('w1', { ok: 100 }),
        op('w2', { ok: 100 }),
        op('w3', { ok: 100 }),
        { ...op('o1', { ok: 50 }), kind: 'other' },
        { ...op('o2', { fail: 10, error: 'fatal' }), kind: 'other' },
        op('skip', { ok: 1 }, { after: ['o2'] }),
      ],
    });
    const s = result.summary;
    expect(s.name).toBe('mixed');
    expect(s.total).toBe(6);
    expect(s.byState).toEqual({ succeeded: 4, failed: 1, skipped: 1, cancelled: 0, 'timed-out': 0 });
    expect(s.wallMs).toBe(200);
    expect(s.busyMs).toBe(360);
    expect(s.speedup).toBeCloseTo(1.8);
    expect(s.peakInflight).toBe(3);
    expect(s.efficiency).toBeCloseTo(0.6);
    expect(s.byKind.work).toMatchObject({ total: 4, attempts: 3, busyMs: 300, peakInflight: 2, failureRate: 0, limit: { initial: 2, final: 2, min: 2, max: 2 } });
    expect(s.byKind.work!.runTime).toMatchObject({ count: 3, min: 100, p50: 100, max: 100 });
    expect(s.byKind.work!.queueWait).toMatchObject({ count: 3, min: 0, max: 100 });
    expect(s.byKind.other).toMatchObject({ total: 2, failureRate: 0.5 });
    expect(s.failures.map((f) => f.id)).toEqual(['o2', 'skip']);
  });
});

describe('op-finished', () => {
  it('carries the output of a success, so consumers can aggregate while the run goes', async () => {
    const h = harness();
    await h.run({ operations: [op('a', { ok: 1, value: { files: ['x'] } }), op('b', { fail: 1, error: 'fatal' })] });
    const finished = h.events.filter((e) => e.type === 'op-finished');
    expect(finished.find((e) => e.type === 'op-finished' && e.id === 'a')).toMatchObject({ output: { files: ['x'] } });
    const failed = finished.find((e) => e.type === 'op-finished' && e.id === 'b')!;
    expect('output' in failed).toBe(false);
    expect(failed).toMatchObject({ state: 'failed', error: { message: 'scripted fatal failure' } });
  });
});

describe('serializeError', () => {
  it('keeps what an error carries as data, its code and its path, and describes a non-error', () => {
    const error = Object.assign(new Error('exited with 3'), { code: 'FANOUT_PROCESS_FAILED', path: 'script', data: { exitCode: 3 } });
    expect(serializeError(error)).toEqual({ name: 'Error', code: 'FANOUT_PROCESS_FAILED', message: 'exited with 3', path: 'script', data: { exitCode: 3 } });
    expect('data' in serializeError(new Error('plain'))).toBe(false);
    expect(serializeError('a string')).toEqual({ name: 'NonError', code: undefined, message: 'the string "a string"' });
  });
});
