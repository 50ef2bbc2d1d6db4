import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoffDelay, createScheduler, defineAdapter } from '../src/index.js';
import { DEFAULT_RETRY, RetryBudget } from '../src/retry.js';
import { harness, op, spans } from './helpers.js';

describe('retries', () => {
  it('retries what the adapter classes retryable, with full-jitter backoff', async () => {
    const h = harness({ work: { maxConcurrency: 4 } });
    const result = await h.run({
      operations: [op('flaky', [{ fail: 10, error: 'retryable' }, { fail: 10, error: 'retryable' }, { ok: 10 }], { retry: { attempts: 5, baseDelayMs: 100 } })],
    });
    expect(result.get('flaky')).toMatchObject({ state: 'succeeded', attempts: 3 });
    // random() is 0.5 in the harness: delays are 0.5 × 100 and 0.5 × 200.
    expect(spans(h.trace).get('flaky')).toEqual([
      { start: 0, end: 10 },
      { start: 60, end: 70 },
      { start: 170, end: 180 },
    ]);
    const retrying = h.events.filter((e) => e.type === 'op-retrying');
    expect(retrying.map((e) => e.type === 'op-retrying' && [e.attempt, e.delayMs])).toEqual([
      [1, 50],
      [2, 100],
    ]);
    expect(result.summary.retries).toBe(2);
  });

  it('never retries a fatal error', async () => {
    const h = harness();
    const result = await h.run({ operations: [op('broken', { fail: 1, error: 'fatal' }, { retry: 5 })] });
    expect(result.get('broken')).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('retries even a fatal error of a non-idempotent operation when the plan says anyFailure', async () => {
    const h = harness({ work: { idempotent: false } });
    const result = await h.run({
      operations: [
        op('command', [{ fail: 1, error: 'fatal' }, { fail: 1, error: 'fatal' }, { ok: 1 }], { retry: { attempts: 3, anyFailure: true } }),
        op('spent', [{ fail: 1, error: 'fatal' }, { fail: 1, error: 'fatal' }, { ok: 1 }], { retry: { attempts: 2, anyFailure: true } }),
      ],
    });
    expect(result.get('command')).toMatchObject({ state: 'succeeded', attempts: 3 });
    expect(result.get('spent')).toMatchObject({ state: 'failed', attempts: 2 });
  });

  it('retries only idempotent operations, unless the plan forces it', async () => {
    const h = harness({ work: { idempotent: false } });
    const result = await h.run({
      operations: [op('once', [{ fail: 1, error: 'retryable' }, { ok: 1 }]), op('forced', [{ fail: 1, error: 'retryable' }, { ok: 1 }], { retry: { force: true } })],
    });
    expect(result.get('once')).toMatchObject({ state: 'failed', attempts: 1 });
    expect(result.get('forced')).toMatchObject({ state: 'succeeded', attempts: 2 });
  });

  it("tells each attempt its run id and whether it may run again (the adapter's idempotence, or a forced retry)", async () => {
    const seen = new Map<string, { runId: string | undefined; idempotent: boolean | undefined }>();
    const record = (kind: string, idempotent: boolean) =>
      defineAdapter({
        kind,
        input: z.object({}),
        defaults: { idempotent },
        run: (_input, ctx) => void seen.set(ctx.id, { runId: ctx.runId, idempotent: ctx.idempotent }),
      });
    const scheduler = createScheduler({ adapters: [record('pure', true), record('effect', false)] });
    await scheduler.execute(
      {
        operations: [
          { id: 'p', kind: 'pure', input: {} },
          { id: 'e', kind: 'effect', input: {} },
          { id: 'forced', kind: 'effect', input: {}, retry: { force: true } },
        ],
      },
      { runId: 'run-7' },
    );
    expect(Object.fromEntries(seen)).toEqual({
      p: { runId: 'run-7', idempotent: true },
      e: { runId: 'run-7', idempotent: false },
      forced: { runId: 'run-7', idempotent: true },
    });
  });

  it('honours Retry-After as the least delay', async () => {
    const h = harness();
    const result = await h.run({ operations: [op('limited', [{ fail: 1, error: 'drop', retryAfterMs: 2000 }, { ok: 1 }])] });
    expect(result.get('limited')!.state).toBe('succeeded');
    expect(spans(h.trace).get('limited')![1]!.start).toBe(2001);
  });

  it('retries a timed-out attempt of an idempotent operation, and ends timed-out when out of attempts', async () => {
    const h = harness({ work: { timeoutMs: 10 } });
    const result = await h.run({ operations: [op('slow', [{ ok: 50 }, { ok: 5 }]), op('slower', { ok: 50 }, { retry: 2 })] });
    expect(result.get('slow')).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(result.get('slower')).toMatchObject({ state: 'timed-out', attempts: 2 });
  });

  it('spends at most the run retry budget', async () => {
    const h = harness({ work: { maxConcurrency: 10 } });
    const operations = Array.from({ length: 10 }, (_, i) => op(`f${i}`, { fail: 1, error: 'retryable' }, { retry: 10 }));
    const result = await h.run({ operations }, { retryBudget: 4 });
    expect(result.summary.retries).toBe(4);
    expect(result.summary.retryBudget).toEqual({ total: 4, spent: 4 });
    expect(result.summary.attempts).toBe(14);
  });

  it('holds no pool slot while waiting to retry', async () => {
    const h = harness({ work: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({ operations: [op('flaky', [{ fail: 1, error: 'retryable' }, { ok: 1 }], { retry: { baseDelayMs: 1000 } }), op('other', { ok: 10 })] });
    const s = spans(h.trace);
    // "other" ran during flaky's 500 ms backoff, in the pool's only slot.
    expect(s.get('other')).toEqual([{ start: 1, end: 11 }]);
    expect(s.get('flaky')![1]!.start).toBe(501);
  });

  it('stops retrying once the run stops', async () => {
    const h = harness({ work: { maxConcurrency: 4 } });
    const result = await h.run({ operations: [op('bad', { fail: 1, error: 'fatal' }), op('flaky', [{ fail: 5, error: 'retryable' }, { ok: 1 }])] }, { failure: { halt: 'soon' } });
    expect(result.get('flaky')).toMatchObject({ state: 'failed', attempts: 1 });
  });
});

describe('backoffDelay and RetryBudget', () => {
  it('draws the delay uniformly below an exponential ceiling', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, policy, () => 0.999)).toBeCloseTo(99.9);
    expect(backoffDelay(3, policy, () => 1)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    expect(backoffDelay(10, policy, () => 0)).toBe(0);
    expect(backoffDelay(1, policy, () => 0, 3000)).toBe(3000);
  });

  it('grows with the run', () => {
    const budget = new RetryBudget({ ratio: 0.1, min: 2 });
    budget.setOperations(10);
    expect(budget.total).toBe(2);
    budget.setOperations(100);
    expect(budget.total).toBe(10);
  });
});
