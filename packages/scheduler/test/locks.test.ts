import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter } from '../src/index.js';
import { LockManager, normalizeLocks } from '../src/locks.js';
import { ManualClock } from '../src/testing.js';
import { harness, op, spans } from './helpers.js';

describe('LockManager', () => {
  it('sorts keys and merges duplicates, a write winning over a read', () => {
    expect(normalizeLocks(['b', { key: 'a', mode: 'read' }, { key: 'b', mode: 'read' }, { key: 'a' }])).toEqual([
      { key: 'a', mode: 'write' },
      { key: 'b', mode: 'write' },
    ]);
  });

  it('shares reads, excludes writes, serves waiters first come first served', () => {
    const granted: number[] = [];
    const locks = new LockManager((owner) => granted.push(owner));
    expect(locks.acquire(1, [{ key: 'k', mode: 'read' }])).toBe(true);
    expect(locks.acquire(2, [{ key: 'k', mode: 'read' }])).toBe(true);
    expect(locks.acquire(3, [{ key: 'k', mode: 'write' }])).toBe(false);
    // A reader behind a waiting writer waits too, so writers do not starve.
    expect(locks.acquire(4, [{ key: 'k', mode: 'read' }])).toBe(false);
    locks.release(1);
    expect(granted).toEqual([]);
    locks.release(2);
    expect(granted).toEqual([3]);
    locks.release(3);
    expect(granted).toEqual([3, 4]);
    locks.release(4);
    expect(locks.size).toBe(0);
  });

  it('takes keys in order, holding earlier ones while waiting for later ones', () => {
    const granted: number[] = [];
    const locks = new LockManager((owner) => granted.push(owner));
    expect(locks.acquire(1, [{ key: 'b', mode: 'write' }])).toBe(true);
    expect(locks.acquire(2, normalizeLocks(['b', 'a']))).toBe(false);
    // 2 holds "a" while waiting for "b", so 3 waits for "a".
    expect(locks.acquire(3, [{ key: 'a', mode: 'write' }])).toBe(false);
    locks.release(1);
    expect(granted).toEqual([2]);
    locks.release(2);
    expect(granted).toEqual([2, 3]);
  });

  it('withdraws a waiter that leaves, letting those behind it in', () => {
    const granted: number[] = [];
    const locks = new LockManager((owner) => granted.push(owner));
    locks.acquire(1, [{ key: 'k', mode: 'read' }]);
    locks.acquire(2, [{ key: 'k', mode: 'write' }]);
    locks.acquire(3, [{ key: 'k', mode: 'read' }]);
    locks.release(2);
    expect(granted).toEqual([3]);
  });
});

describe('locks in a run', () => {
  it('never overlaps two writes to one key, and holds no slot while waiting', async () => {
    const h = harness({ work: { maxConcurrency: 4 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({
      operations: [op('w1', { ok: 10 }, { locks: ['file:/a'] }), op('w2', { ok: 10 }, { locks: ['file:/a'] }), op('w3', { ok: 10 }, { locks: [{ key: 'file:/a', mode: 'write' }] }), op('free', { ok: 10 })],
    });
    const s = spans(h.trace);
    expect(s.get('w1')).toEqual([{ start: 0, end: 10 }]);
    expect(s.get('w2')).toEqual([{ start: 10, end: 20 }]);
    expect(s.get('w3')).toEqual([{ start: 20, end: 30 }]);
    expect(s.get('free')).toEqual([{ start: 0, end: 10 }]);
  });

  it('lets reads share a key and makes them wait for a write in flight', async () => {
    const h = harness({ work: { maxConcurrency: 8 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({
      operations: [
        op('r1', { ok: 10 }, { locks: [{ key: 'k', mode: 'read' }] }),
        op('r2', { ok: 10 }, { locks: [{ key: 'k', mode: 'read' }] }),
        op('w', { ok: 10 }, { locks: ['k'] }),
        op('r3', { ok: 10 }, { locks: [{ key: 'k', mode: 'read' }] }),
      ],
    });
    const s = spans(h.trace);
    expect(s.get('r1')![0]!.start).toBe(0);
    expect(s.get('r2')![0]!.start).toBe(0);
    expect(s.get('w')![0]!.start).toBe(10);
    expect(s.get('r3')![0]!.start).toBe(20);
  });

  it('takes the locks an adapter derives from its input', async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    const write = defineAdapter({
      kind: 'write',
      input: z.object({ path: z.string(), text: z.string() }),
      locks: (input) => [{ key: `file:${input.path}`, mode: 'write' }],
      defaults: { maxConcurrency: 10 },
      run: (input) =>
        new Promise<void>((resolve) => {
          log.push(`start ${input.text}@${clock.now()}`);
          clock.setTimeout(() => {
            log.push(`end ${input.text}@${clock.now()}`);
            resolve();
          }, 5);
        }),
    });
    const scheduler = createScheduler({ adapters: [write], clock });
    const operations = ['x', 'y', 'z'].map((text) => ({ id: text, kind: 'write', input: { path: '/same', text } }));
    await clock.runUntil(scheduler.execute({ operations: [...operations, { id: 'other', kind: 'write', input: { path: '/other', text: 'o' } }] }));
    expect(log).toEqual(['start x@0', 'start o@0', 'end x@5', 'end o@5', 'start y@5', 'end y@10', 'start z@10', 'end z@15']);
  });

  it('releases locks while an operation waits to retry', async () => {
    const h = harness({ work: { maxConcurrency: 4 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({
      operations: [op('flaky', [{ fail: 1, error: 'retryable' }, { ok: 1 }], { locks: ['k'], retry: { baseDelayMs: 100 } }), op('next', { ok: 1 }, { locks: ['k'] })],
    });
    const s = spans(h.trace);
    expect(s.get('next')).toEqual([{ start: 1, end: 2 }]);
    expect(s.get('flaky')![1]!.start).toBe(51);
  });
});

describe('lock hand-over', () => {
  it('reports the holder finished before the next one started', async () => {
    const h = harness({ work: { maxConcurrency: 4 } }, { limits: { work: { limiter: 'fixed' } } });
    await h.run({ operations: ['a', 'b', 'c'].map((id) => op(id, { ok: 5 }, { locks: ['file:/x'] })) });
    const order = h.events.filter((e) => e.type === 'op-started' || e.type === 'op-finished').map((e) => `${e.type === 'op-started' ? 'start' : 'end'} ${'id' in e ? e.id : ''}`);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});
