import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter } from '../src/index.js';
import { deferred, flush, ManualClock } from '../src/testing.js';
import { harness, op, spans } from './helpers.js';

describe('time and cancellation', () => {
  it('times each attempt from its start, not from when it was queued', async () => {
    const h = harness({ work: { maxConcurrency: 1, idempotent: false } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('first', { ok: 80 }), op('second', { ok: 80 }, { timeoutMs: 100 }), op('third', { ok: 150 }, { timeoutMs: 100 })] });
    expect(result.get('second')!.state).toBe('succeeded');
    expect(result.get('third')!.state).toBe('timed-out');
    expect(h.trace.aborted.get('third')).toMatchObject({ code: 'FANOUT_ATTEMPT_TIMEOUT' });
    expect((result.get('third')!.error as Error).message).toBe('attempt 1 of "third" timed out after 100 ms');
    expect(spans(h.trace).get('third')).toEqual([{ start: 160, end: 260 }]);
  });

  it('uses the adapter default timeout, then the run option', async () => {
    const h = harness({ work: { timeoutMs: 30, idempotent: false } });
    const result = await h.run({ operations: [op('slow', { ok: 50 })] });
    expect(result.get('slow')!.state).toBe('timed-out');
    const h2 = harness({ work: { idempotent: false } }, { timeoutMs: 20 });
    expect((await h2.run({ operations: [op('slow', { ok: 50 })] })).get('slow')!.state).toBe('timed-out');
  });

  it('ends operations that wait too long to start', async () => {
    const h = harness({ work: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('hog', { ok: 100 }), op('patient', { ok: 1 }), op('late', { ok: 1 }, { after: ['hog'] })] }, { queueTimeoutMs: 50 });
    expect(result.get('patient')!.state).toBe('timed-out');
    expect((result.get('patient')!.error as { code: string }).code).toBe('FANOUT_QUEUE_TIMEOUT');
    expect(h.trace.calls.has('patient')).toBe(false);
    expect(result.get('late')!.state).toBe('succeeded');
  });

  it('ends everything left at the run deadline as timed-out', async () => {
    const h = harness({ work: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('a', { ok: 40 }), op('b', { ok: 40 }), op('c', { ok: 40 })] }, { deadlineMs: 60 });
    expect(result.get('a')!.state).toBe('succeeded');
    expect(result.get('b')!.state).toBe('timed-out');
    expect(result.get('c')).toMatchObject({ state: 'timed-out', attempts: 0 });
    expect(h.trace.aborted.get('b')).toMatchObject({ code: 'FANOUT_RUN_DEADLINE' });
    expect(result.summary.wallMs).toBe(60);
  });

  it('cancels from a signal: queued operations settle at once, running ones are aborted', async () => {
    const h = harness({ work: { maxConcurrency: 2 } }, { limits: { work: { limiter: 'fixed' } } });
    const controller = new AbortController();
    const run = h.scheduler.run({ operations: [op('r1', { hang: true }), op('r2', { hang: true }), ...Array.from({ length: 100 }, (_, i) => op(`q${i}`, { ok: 1 }))] }, { signal: controller.signal });
    await flush();
    expect(run.snapshot().kinds.work).toMatchObject({ inflight: 2, queued: 100 });
    controller.abort(new Error('user pressed stop'));
    // No timer needs to fire: everything settles within the same turn.
    const result = await run.result;
    expect(h.clock.now()).toBe(0);
    expect(result.summary.byState.cancelled).toBe(102);
    expect(h.trace.aborted.get('r1')).toMatchObject({ code: 'FANOUT_CANCELLED', message: 'the run was cancelled: user pressed stop' });
  });

  it('settles promptly even when an adapter ignores its signal', async () => {
    const never = defineAdapter({ kind: 'stubborn', input: z.unknown(), run: () => new Promise(() => {}) });
    const scheduler = createScheduler({ adapters: [never] });
    const run = scheduler.run({ operations: [{ id: 's', kind: 'stubborn' }] });
    await flush();
    run.cancel('enough');
    const result = await run.result;
    expect(result.get('s')).toMatchObject({ state: 'cancelled', attempts: 1 });
  });

  it('cancels a run whose signal is already aborted without starting anything', async () => {
    const h = harness();
    const result = await h.run({ operations: [op('a', { ok: 1 })] }, { signal: AbortSignal.abort('no') });
    expect(result.get('a')!.state).toBe('cancelled');
    expect(h.trace.calls.size).toBe(0);
  });

  it('gives each attempt a signal that is created only when read', async () => {
    const clock = new ManualClock();
    const seen: boolean[] = [];
    const gate = deferred();
    const adapter = defineAdapter({
      kind: 'peek',
      input: z.object({ read: z.boolean() }),
      run: async (input, ctx) => {
        if (input.read) seen.push(ctx.signal.aborted);
        await gate.promise;
        return ctx.attempt;
      },
    });
    const scheduler = createScheduler({ adapters: [adapter], clock });
    const run = scheduler.run({
      operations: [
        { id: 'a', kind: 'peek', input: { read: true } },
        { id: 'b', kind: 'peek', input: { read: false } },
      ],
    });
    await flush();
    gate.resolve();
    const result = await run.result;
    expect(seen).toEqual([false]);
    expect(result.get('a')!.output).toBe(1);
  });
});

describe('progress', () => {
  it('turns ctx.progress into op-progress events', async () => {
    const reporter = defineAdapter({
      kind: 'progress',
      input: z.unknown(),
      run: (_input, ctx) => {
        ctx.progress({ done: 1, of: 2 });
        ctx.progress({ done: 2, of: 2 });
        return 'ok';
      },
    });
    const events: unknown[] = [];
    await createScheduler({ adapters: [reporter] }).execute({ operations: [{ id: 'p', kind: 'progress' }] }, { onEvent: (e) => e.type === 'op-progress' && events.push(e.data) });
    expect(events).toEqual([
      { done: 1, of: 2 },
      { done: 2, of: 2 },
    ]);
  });
});
