import { describe, expect, it } from 'vitest';
import { harness, op, spans } from './helpers.js';

const fatal = { fail: 5, error: 'fatal' } as const;

describe('failure policies', () => {
  it('isolate (default): a failure never cancels siblings; dependents are skipped with the reason', async () => {
    const h = harness({ work: { maxConcurrency: 8 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({
      operations: [op('bad', fatal), op('sibling', { ok: 50 }), op('child', { ok: 1 }, { after: ['bad'] }), op('grandchild', { ok: 1 }, { after: ['child'] }), op('unrelated', { ok: 1 }, { after: ['sibling'] })],
    });
    expect(result.get('bad')!.state).toBe('failed');
    expect(result.get('sibling')!.state).toBe('succeeded');
    expect(h.trace.aborted.has('sibling')).toBe(false);
    expect(result.get('child')).toMatchObject({ state: 'skipped', attempts: 0 });
    expect((result.get('child')!.error as Error).message).toBe('skipped because "bad" ended failed');
    expect((result.get('grandchild')!.error as Error).message).toBe('skipped because "child" ended skipped');
    expect(result.get('unrelated')!.state).toBe('succeeded');
    expect(result.summary.byState).toEqual({ succeeded: 2, failed: 1, skipped: 2, cancelled: 0, 'timed-out': 0 });
    expect(result.summary.failures.map((f) => [f.id, f.state])).toEqual([
      ['bad', 'failed'],
      ['child', 'skipped'],
      ['grandchild', 'skipped'],
    ]);
    expect(result.ok).toBe(false);
  });

  it('continue: dependents run anyway; one that needs the failed output is skipped', async () => {
    const h = harness();
    const result = await h.run(
      {
        operations: [op('bad', fatal), op('after-bad', { ok: 1 }, { after: ['bad'] }), { id: 'needs-output', kind: 'work', input: { steps: [{ ok: 1 }], tag: { $ref: 'bad' } } }],
      },
      { failure: 'continue' },
    );
    expect(result.get('after-bad')!.state).toBe('succeeded');
    expect(result.get('needs-output')!.state).toBe('skipped');
    expect((result.get('needs-output')!.error as Error).message).toBe('needs the output of "bad", which ended failed');
  });

  it('halt now: cancels what runs (signals aborted) and starts nothing new', async () => {
    const h = harness({ work: { maxConcurrency: 2 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('bad', fatal), op('long', { ok: 100 }), op('queued', { ok: 1 }), op('dependent', { ok: 1 }, { after: ['long'] })] }, { failure: { halt: 'now' } });
    expect(result.get('bad')!.state).toBe('failed');
    expect(result.get('long')!.state).toBe('cancelled');
    expect(h.trace.aborted.get('long')).toMatchObject({ code: 'FANOUT_HALTED' });
    expect(result.get('queued')).toMatchObject({ state: 'cancelled', attempts: 0 });
    expect(result.get('dependent')!.state).toBe('cancelled');
    expect(result.summary.wallMs).toBe(5);
    expect(result.summary.stopReason).toBe('the run halted (now) after "bad" failed');
  });

  it('halt soon: lets what runs finish, starts nothing new', async () => {
    const h = harness({ work: { maxConcurrency: 2 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('bad', fatal), op('long', { ok: 100 }), op('queued', { ok: 1 })] }, { failure: { halt: 'soon' } });
    expect(result.get('long')!.state).toBe('succeeded');
    expect(result.get('queued')!.state).toBe('cancelled');
    expect(h.trace.calls.has('queued')).toBe(false);
    expect(result.summary.wallMs).toBe(100);
  });

  it('halts only after the given number of failures', async () => {
    const h = harness({ work: { maxConcurrency: 1 } }, { limits: { work: { limiter: 'fixed' } } });
    const result = await h.run({ operations: [op('f1', fatal), op('f2', fatal), op('ok', { ok: 1 }), op('f3', fatal), op('never', { ok: 1 })] }, { failure: { halt: 'soon', failures: 3 } });
    expect([...spans(h.trace).keys()]).toEqual(['f1', 'f2', 'ok', 'f3']);
    expect(result.get('never')!.state).toBe('cancelled');
  });

  it('a plan can carry its failure policy; options override it', async () => {
    const plan = { policy: { failure: { halt: 'now' } }, operations: [op('bad', fatal), op('long', { ok: 100 })] };
    const h1 = harness();
    expect((await h1.run(plan)).get('long')!.state).toBe('cancelled');
    const h2 = harness();
    expect((await h2.run(plan, { failure: 'isolate' })).get('long')!.state).toBe('succeeded');
  });
});

describe('optional references', () => {
  it('resolve to null when their operation failed, under continue', async () => {
    const h = harness();
    const result = await h.run(
      {
        operations: [
          op('good', { ok: 1, value: 'g' }),
          op('bad', { fail: 1, error: 'fatal' }),
          {
            id: 'gather',
            kind: 'work',
            input: {
              steps: [{ ok: 1 }],
              tag: [
                { $ref: 'good', optional: true },
                { $ref: 'bad', optional: true },
              ],
            },
          },
        ],
      },
      { failure: 'continue' },
    );
    expect(result.get('gather')).toMatchObject({ state: 'succeeded', output: { tag: ['g', null] } });
  });
});
