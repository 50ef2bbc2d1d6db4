import { describe, expect, it } from 'vitest';
import type { PressureReading, PressureSource } from '../src/index.js';
import { flush } from '../src/testing.js';
import { harness, op } from './helpers.js';

/** A pressure source a test flips by hand. */
function manualPressure() {
  const readings = new Map<string, PressureReading>();
  const listeners = new Set<() => void>();
  const source: PressureSource = {
    read: (kind) => readings.get(kind) ?? { admit: true },
    subscribe: (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
  };
  return {
    source,
    listeners,
    set(kind: string, reading: PressureReading) {
      readings.set(kind, reading);
      for (const listener of listeners) listener();
    },
  };
}

describe('pressure', () => {
  it('pauses admission of one kind while the others keep going, and resumes it', async () => {
    const pressure = manualPressure();
    const h = harness({ cpu: { maxConcurrency: 2 }, net: { maxConcurrency: 2 } }, { pressure: pressure.source, limits: { cpu: { limiter: 'fixed' }, net: { limiter: 'fixed' } } });
    const operations = [...Array.from({ length: 4 }, (_, i) => ({ ...op(`c${i}`, { ok: 10 }), kind: 'cpu' })), ...Array.from({ length: 4 }, (_, i) => ({ ...op(`n${i}`, { ok: 10 }), kind: 'net' }))];
    const run = h.scheduler.run({ operations });
    const events: string[] = [];
    run.on((e) => {
      if (e.type === 'pressure-changed') events.push(`${e.kind} ${e.admit} ${e.reason}`);
    });
    await flush();
    pressure.set('cpu', { admit: false, reason: 'cpu 95% for 5 s' });
    h.clock.advance(10);
    await flush();
    // cpu's first two finished; none started since. net went on.
    expect(run.snapshot().kinds.cpu).toMatchObject({ inflight: 0, queued: 2, admit: false });
    expect(run.snapshot().kinds.net).toMatchObject({ inflight: 2, done: 2 });
    h.clock.advance(10);
    await flush();
    expect(run.snapshot().kinds.net!.done).toBe(4);
    expect(run.snapshot().kinds.cpu!.done).toBe(2);
    pressure.set('cpu', { admit: true });
    const result = await h.clock.runUntil(run.result);
    expect(result.ok).toBe(true);
    expect(events).toEqual(['cpu false cpu 95% for 5 s', 'cpu true undefined']);
    expect(pressure.listeners.size).toBe(0);
  });

  it('never stops a run outright: with nothing of it running, a paused kind goes on one at a time', async () => {
    const pressure = manualPressure();
    // A busy neighbour keeps the CPU signal on for the whole run.
    pressure.set('cpu', { admit: false, reason: 'cpu 99% for 5 s' });
    const h = harness({ cpu: { maxConcurrency: 4 } }, { pressure: pressure.source, limits: { cpu: { limiter: 'fixed' } } });
    const result = await h.run({ operations: Array.from({ length: 3 }, (_, i) => ({ ...op(`c${i}`, { ok: 10 }), kind: 'cpu' })) });
    expect(result.ok).toBe(true);
    expect(h.trace.peak.get('cpu')).toBe(1);
    expect(result.summary.wallMs).toBe(30);
  });

  it('asks the limiter to shrink once per change of reading', async () => {
    const pressure = manualPressure();
    const h = harness({ cpu: { maxConcurrency: 20, optimalConcurrency: 16 } }, { pressure: pressure.source });
    const run = h.scheduler.run({ operations: Array.from({ length: 40 }, (_, i) => ({ ...op(`c${i}`, { ok: 10 }), kind: 'cpu' })) });
    const changes: string[] = [];
    run.on((e) => {
      if (e.type === 'limit-changed') changes.push(`${e.from}→${e.to} ${e.reason}`);
    });
    await flush();
    pressure.set('cpu', { admit: true, shrink: 0.5, reason: 'cpu 92%' });
    pressure.set('cpu', { admit: true, shrink: 0.5, reason: 'cpu 92%' });
    await h.clock.runUntil(run.result);
    expect(changes[0]).toBe('16→8 cpu 92%');
    expect(changes.filter((c) => c.endsWith('cpu 92%'))).toHaveLength(1);
  });
});
