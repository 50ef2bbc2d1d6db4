import fc from 'fast-check';
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

  it('cuts at once when a burst comes back mostly dropped, without waiting for the window to age', () => {
    // A server that takes 3 at once answers the rest of a burst of 16 with 503 straight away:
    // the drops arrive within a millisecond, long before any window is old enough to close.
    // Retries (full jitter over 100 ms) would otherwise go out again at the uncut limit.
    const limiter = make(16, 48);
    for (let k = 0; k < 13; k++) limiter.onSample({ latencyMs: 1, inflight: 4 + k, outcome: 'drop', now: 0.05 * k });
    expect(limiter.limit).toBeLessThan(16);
    // A window of successes with the odd drop still waits for its age, as before.
    const steady = make(16, 48);
    for (let k = 0; k < 30; k++) steady.onSample({ latencyMs: 10, inflight: 16, outcome: k % 10 === 9 ? 'drop' : 'ok', now: k });
    expect(steady.limit).toBe(16);
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
    // Six windows: the first probe (pinned after window 4, measured in window 5) included.
    feed(limiter, 6, () => ({ latencyMs: 10, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.noLoadLatencyMs).toBe(10);
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

  it('re-measures the no-load latency a first time after four windows', () => {
    const limiter = new GradientLimiter({ initial: 40, max: 100, random: () => 0.5 });
    const clock = { now: 0 };
    // Started above the knee: what it sees first is queueing (80 ms), which it takes for no load.
    feed(limiter, 3, () => ({ latencyMs: 80, inflight: limiter.limit, outcome: 'ok' }), clock);
    const before = limiter.limit;
    expect(limiter.probing).toBe(false);
    feed(limiter, 1, () => ({ latencyMs: 80, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.probing).toBe(true);
    // At half load the other side answers in 20 ms: that is the no-load latency.
    feed(limiter, 1, () => ({ latencyMs: 20, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.noLoadLatencyMs).toBe(20);
    // Back at full load the latency is 80 ms, four times the no-load one: it backs off.
    feed(limiter, 3, () => ({ latencyMs: 80, inflight: limiter.limit, outcome: 'ok' }), clock);
    expect(limiter.limit).toBeLessThan(before);
  });

  it('pins the limit to half while it re-measures, counting only attempts started under the pin', () => {
    const limiter = new GradientLimiter({ initial: 40, max: 100, probeWindows: 4, random: () => 0 });
    const clock = { now: 0 };
    feed(limiter, 1, () => ({ latencyMs: 10, inflight: 40, outcome: 'ok' }), clock);
    const before = limiter.limit;
    feed(limiter, 1, () => ({ latencyMs: 10, inflight: before, outcome: 'ok' }), clock);
    expect(limiter.probing).toBe(true);
    const pinned = limiter.limit;
    expect(pinned).toBe(Math.floor(before / 2));
    expect(limiter.reason).toBe('re-measuring no-load latency');
    // Stragglers started before the pin (inflight above it) are slow and must not count.
    feed(limiter, 3, () => ({ latencyMs: 80, inflight: 40, outcome: 'ok' }), clock);
    expect(limiter.probing).toBe(true);
    expect(limiter.noLoadLatencyMs).toBe(10);
    // Under the pin the other side answers in 12 ms: that is the new no-load latency, and the
    // limit goes back to where it was.
    feed(limiter, 1, () => ({ latencyMs: 12, inflight: pinned, outcome: 'ok' }), clock);
    expect(limiter.probing).toBe(false);
    expect(limiter.noLoadLatencyMs).toBe(12);
    expect(limiter.limit).toBeGreaterThan(pinned);
    expect(limiter.reason).toBe('no-load latency re-measured');
  });

  it('grows multiplicatively while latency stays at the no-load latency', () => {
    const limiter = new GradientLimiter({ initial: 16, max: 1000, random: () => 0.5 });
    // Three windows, before the first probe pins it.
    const limits = feed(limiter, 3, () => ({ latencyMs: 20, inflight: limiter.limit, outcome: 'ok' }));
    expect(limits.at(-1)!).toBeGreaterThanOrEqual(32);
  });

  it('settles between the knee and the point of refusal of a service, probes included', () => {
    // A service with `knee` workers answering in `base` ms and as many queue places: latency is
    // flat up to the knee, grows beyond it, and work beyond 2 × knee is refused (a drop).
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 80 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 5, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (knee, initial, base, seed) => {
        let state = seed;
        const random = () => (state = (state * 9301 + 0.49297) % 1);
        const limiter = new GradientLimiter({ initial, max: 200, probeWindows: 20, random });
        const clock = { now: 0 };
        const service = (k: number): Omit<LimiterSample, 'now'> => {
          const inflight = limiter.limit;
          if (inflight > 2 * knee && k < (20 * (inflight - 2 * knee)) / inflight) return { latencyMs: 1, inflight, outcome: 'drop' };
          return { latencyMs: base * Math.min(2, Math.max(1, inflight / knee)), inflight, outcome: 'ok' };
        };
        for (let w = 0; w < 260; w++) {
          for (let k = 0; k < 20; k++) {
            clock.now += 30;
            limiter.onSample({ ...service(k), now: clock.now });
          }
          if (w >= 60 && !limiter.probing) {
            expect(limiter.limit).toBeGreaterThanOrEqual(knee);
            expect(limiter.limit).toBeLessThanOrEqual(2 * knee);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('cuts by 0.9 for a few drops, and by half when most of a window was dropped', () => {
    const warmed = () => {
      const limiter = new GradientLimiter({ initial: 100, max: 200, random: () => 0.5 });
      // Five windows: growth, then the first probe (pinned, measured, restored).
      feed(limiter, 5, () => ({ latencyMs: 10, inflight: limiter.limit, outcome: 'ok' }));
      expect(limiter.probing).toBe(false);
      return limiter;
    };
    const some = warmed();
    const before = some.limit;
    let k = 0;
    feed(some, 1, () => ({ latencyMs: 10, inflight: some.limit, outcome: k++ % 5 === 0 ? 'drop' : 'ok' }), { now: 10_000 });
    expect(some.limit).toBe(Math.floor(before * 0.9));
    const most = warmed();
    k = 0;
    feed(most, 1, () => ({ latencyMs: 1, inflight: most.limit, outcome: k++ % 5 === 0 ? 'ok' : 'drop' }), { now: 10_000 });
    expect(most.limit).toBe(Math.floor(before * 0.5));
    expect(most.reason).toBe('drop');
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
