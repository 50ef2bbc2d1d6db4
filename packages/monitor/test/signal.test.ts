import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SustainedSignal } from '../src/index.js';
import { SlidingWindow } from '../src/sliding-window.js';

describe('SustainedSignal', () => {
  it('turns on only once the value has stayed over the threshold for the sustained time', () => {
    const cpu = new SustainedSignal({ threshold: 0.9, sustainMs: 3000, release: 0.8, releaseMs: 2000 });
    expect(cpu.update(0.95, 0)).toBe(false);
    expect(cpu.update(0.97, 1000)).toBe(false);
    expect(cpu.update(0.85, 2000)).toBe(false); // a dip restarts the count
    expect(cpu.update(0.95, 3000)).toBe(false);
    expect(cpu.update(0.95, 5000)).toBe(false);
    expect(cpu.update(0.99, 6000)).toBe(true);
    expect(cpu.active).toBe(true);
    expect(cpu.changedAt).toBe(6000);
  });

  it('has hysteresis: between release and threshold it keeps its state', () => {
    const cpu = new SustainedSignal({ threshold: 0.9, sustainMs: 0, release: 0.8, releaseMs: 2000 });
    expect(cpu.update(0.91, 0)).toBe(true);
    for (let t = 1000; t <= 10_000; t += 1000) expect(cpu.update(0.85, t)).toBe(false);
    expect(cpu.update(0.5, 11_000)).toBe(false);
    expect(cpu.update(0.5, 12_000)).toBe(false);
    expect(cpu.update(0.5, 13_000)).toBe(true);
    expect(cpu.active).toBe(false);
  });

  it('counts a missing value as below, so that a lost measurement releases', () => {
    const memory = new SustainedSignal({ threshold: 0.85, release: 0.8, releaseMs: 1000 });
    expect(memory.update(0.9, 0)).toBe(true);
    expect(memory.update(undefined, 500)).toBe(false);
    expect(Number.isNaN(memory.value)).toBe(true);
    expect(memory.update(undefined, 1500)).toBe(true);
    expect(memory.update(undefined, 5000)).toBe(false);
  });

  it('refuses a release level above the threshold, and negative times', () => {
    expect(() => new SustainedSignal({ threshold: 0.5, release: 0.6 }, 'signals.cpu')).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'signals.cpu.release' }));
    expect(() => new SustainedSignal({ threshold: 0.5, sustainMs: -1 })).toThrow(/sustainMs to be a number of milliseconds ≥ 0, got -1/);
  });

  it('never flips while the value stays between release and threshold, and never flips twice within the hold times', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.option(fc.double({ min: 0, max: 1.2, noNaN: true }), { nil: undefined })), { maxLength: 200 }),
        (threshold, gap, sustainMs, releaseMs, steps) => {
          const signal = new SustainedSignal({ threshold, release: threshold - gap, sustainMs, releaseMs });
          let now = 0;
          let lastFlip = -Infinity;
          let wasActive = false;
          for (const [dt, value] of steps) {
            now += dt;
            const flipped = signal.update(value, now);
            expect(flipped).toBe(signal.active !== wasActive);
            if (flipped) {
              // It flips towards the side the value is on, after at least the hold time on it.
              if (signal.active) expect(value!).toBeGreaterThanOrEqual(threshold);
              else expect(value === undefined || value < threshold - gap).toBe(true);
              expect(now - lastFlip).toBeGreaterThanOrEqual(signal.active ? sustainMs : releaseMs);
              lastFlip = now;
            } else if (value !== undefined && value >= threshold - gap && value < threshold) {
              expect(signal.active).toBe(wasActive);
            }
            wasActive = signal.active;
          }
        },
      ),
    );
  });
});

describe('SlidingWindow', () => {
  it('totals what happened in the last window, sliding by tenths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 20_000 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.boolean(), fc.integer({ min: 0, max: 10_000 })), { maxLength: 300 }), (windowMs, steps) => {
        const window = new SlidingWindow(windowMs);
        const bucketMs = windowMs / 10;
        const seen: { slot: number; failed: boolean; latency: number }[] = [];
        let now = 0;
        for (const [dt, failed, latency] of steps) {
          now += dt;
          window.add(now, failed, latency);
          seen.push({ slot: Math.floor(now / bucketMs), failed, latency });
          const current = Math.floor(now / bucketMs);
          const inWindow = seen.filter((s) => s.slot > current - 10);
          const totals = window.totals(now);
          expect(totals.attempts).toBe(inWindow.length);
          expect(totals.failures).toBe(inWindow.filter((s) => s.failed).length);
          expect(totals.latencyMs).toBe(inWindow.reduce((sum, s) => sum + s.latency, 0));
        }
      }),
    );
  });
});
