import { describe, expect, it } from 'vitest';
import { AimdLimiter, FixedLimiter, GradientLimiter, VegasLimiter, type Limiter, type LimiterSample } from '../src/index.js';
import { harness, op } from './helpers.js';

/** Feeds `windows` windows of `perWindow` samples, 100 ms apart, to a limiter. */
function feed(limiter: Limiter, windows: number, sample: (window: number) => Omit<LimiterSample, 'now'>, start = { now: 0 }, perWindow = 10): number[] {
  const limits: number[] = [];
  for (let w = 0; w < windows; w++) {
    for (let k = 0; k < perWindow; k++) {
      start.now += 600 / perWindow;
      limiter.onSample({ ...sample(w), now: start.now });
    }
    limits.push(limiter.limit);
  }
  return limits;
}

const busy = (latencyMs: number, limiter: Limiter) => () => ({ latencyMs, inflight: limiter.limit, outcome: 'ok' as const });

describe.each([
  ['gradient', (initial: number, max: number) => new GradientLimiter({ initial, max, random: () => 0.5 })],
  ['aimd', (initial: number, max: number) => new AimdLimiter({ initial, max })],
  ['vegas', (initial: number, max: number) => new VegasLimiter({ initial, max, random: () => 0.5 })],
])('%s limiter', (_name, make) => {
  it('starts at the optimal value and never passes the maximum', () => {
    const limiter = make(8, 20);
    expect(limiter.limit).toBe(8);
    const limits = feed(limiter, 200, busy(10, limiter));
    expect(Math.max(...limits)).toBeLessThanOrEqual(20);
    expect(limits.at(-1)).toBe(20);
  });

  it('cuts the limit multiplicatively on drops', () => {
    const limiter = make(50, 100);
    const limits = feed(limiter, 5, () => ({ latencyMs: 10, inflight: 50, outcome: 'drop' }));
    expect(limits[0]).toBeLessThan(50);
    expect(limits.at(-1)!).toBeLessThan(limits[0]!);
  });

  it('does not grow while the pool does not use its limit', () => {
    const limiter = make(20, 100);
    const limits = feed(limiter, 50, () => ({ latencyMs: 10, inflight: 3, outcome: 'ok' }));
    expect(Math.max(...limits)).toBe(20);
  });

  it('ignores samples that say nothing about load', () => {
    const limiter = make(20, 100);
    feed(limiter, 50, () => ({ latencyMs: 99_999, inflight: 20, outcome: 'ignore' }));
    expect(limiter.limit).toBe(20);
  });

  it('backs off when latency climbs and grows back when it falls', () => {
    const limiter = make(10, 100);
    const clock = { now: 0 };
    feed(limiter, 30, busy(10, limiter), clock);
    const high = limiter.limit;
    feed(limiter, 30, () => ({ latencyMs: 200, inflight: limiter.limit, outcome: 'drop' }), clock);
    const low = limiter.limit;
    expect(low).toBeLessThan(high);
    feed(limiter, 60, busy(10, limiter), clock);
    expect(limiter.limit).toBeGreaterThan(low);
  });

  it('obeys a lowered maximum and a pressure cut', () => {
    const limiter = make(40, 100);
    limiter.setMax!(10);
    expect(limiter.limit).toBe(10);
    limiter.onPressure!(0.5, 'cpu 95%');
    expect(limiter.limit).toBe(5);
    expect(limiter.reason).toBe('cpu 95%');
  });
});

describe('GradientLimiter', () => {
  it('shrinks when latency rises above the no-load latency', () => {
    const limiter = new GradientLimiter({ initial: 40, max: 100, random: () => 0.5 });
    const clock = { now: 0 };
    feed(limiter, 3, () => ({ latencyMs: 10, inflight: 40, outcome: 'ok' }), clock);
    const before = limiter.limit;
    feed(limiter, 5, () => ({ latencyMs: 60, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.limit).toBeLessThan(before);
    expect(limiter.reason).toBe('latency rising');
  });

  it('re-measures the no-load latency now and then, with jitter', () => {
    const limiter = new GradientLimiter({ initial: 20, max: 100, probeWindows: 10, random: () => 0 });
    const clock = { now: 0 };
    feed(limiter, 2, () => ({ latencyMs: 5, inflight: 20, outcome: 'ok' }), clock);
    expect(limiter.noLoadLatencyMs).toBe(5);
    // The service got slower for good: after the probe, 50 ms is the new no-load latency.
    feed(limiter, 6, () => ({ latencyMs: 50, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.noLoadLatencyMs).toBe(50);
  });

  it('reproduces the drop-blind flaw only when asked (concurrency-limits #176)', () => {
    const blind = new GradientLimiter({ initial: 20, max: 100, ignoreDrops: true, random: () => 0.5 });
    const fixed = new GradientLimiter({ initial: 20, max: 100, random: () => 0.5 });
    const clock1 = { now: 0 };
    const clock2 = { now: 0 };
    // Fast successes mixed with a stream of drops (429s): the blind one climbs.
    feed(blind, 40, (w) => ({ latencyMs: 5, inflight: blind.limit, outcome: w % 2 === 0 ? 'ok' : 'drop' }), clock1);
    feed(fixed, 40, (w) => ({ latencyMs: 5, inflight: fixed.limit, outcome: w % 2 === 0 ? 'ok' : 'drop' }), clock2);
    expect(blind.limit).toBeGreaterThan(40);
    expect(fixed.limit).toBeLessThan(blind.limit);
  });
});

describe('FixedLimiter', () => {
  it('stays at the maximum', () => {
    const limiter = new FixedLimiter({ max: 7 });
    feed(limiter, 5, () => ({ latencyMs: 1, inflight: 7, outcome: 'drop' }));
    expect(limiter.limit).toBe(7);
  });
});

describe('adaptive pools in a run', () => {
  it('start at the optimal value, and a custom factory is used', async () => {
    const made: number[] = [];
    const h = harness(
      { work: { maxConcurrency: 10, optimalConcurrency: 3 } },
      {
        limits: {
          work: {
            limiter: (options) => {
              made.push(options.initial, options.max);
              return new FixedLimiter({ max: options.initial });
            },
          },
        },
      },
    );
    await h.run({ operations: Array.from({ length: 9 }, (_, i) => op(`o${i}`, { ok: 5 })) });
    expect(made).toEqual([3, 10]);
    expect(h.trace.peak.get('work')).toBe(3);
  });

  it('back off on drops and report why', async () => {
    const h = harness({ work: { maxConcurrency: 40, optimalConcurrency: 20 } }, { limits: { work: { limiter: 'aimd' } } });
    const operations = Array.from({ length: 200 }, (_, i) => op(`o${i}`, [{ fail: 50, error: 'drop' }, { ok: 50 }]));
    const result = await h.run({ operations }, { retryBudget: 1000 });
    expect(result.summary.byKind.work!.limit.min).toBeLessThan(20);
    const changes = h.events.filter((e) => e.type === 'limit-changed');
    expect(changes[0]).toMatchObject({ kind: 'work', from: 20, to: 18, reason: 'drop' });
  });
});
