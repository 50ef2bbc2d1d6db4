import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntDeque } from '../src/deque.js';
import { IndexedMinHeap, NumberMaxHeap } from '../src/heap.js';
import { Histogram } from '../src/histogram.js';
import { IdIndex } from '../src/id-index.js';
import { ReadyQueue, readyKey } from '../src/ready-queue.js';
import { TimerQueue } from '../src/timer-queue.js';
import { ManualClock } from '../src/testing.js';

describe('IntDeque', () => {
  it('behaves like an array used from both ends', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('push', 'unshift', 'shift'), fc.integer({ min: 0, max: 1e6 })), { maxLength: 300 }), (actions) => {
        const deque = new IntDeque(2);
        const model: number[] = [];
        for (const [action, value] of actions) {
          if (action === 'push') {
            deque.push(value);
            model.push(value);
          } else if (action === 'unshift') {
            deque.unshift(value);
            model.unshift(value);
          } else expect(deque.shift()).toBe(model.length === 0 ? -1 : model.shift());
          expect(deque.size).toBe(model.length);
        }
        expect([...deque]).toEqual(model);
      }),
    );
  });
});

describe('heaps', () => {
  it('IndexedMinHeap pops in key order and deletes any id', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.float({ noNaN: true, min: 0, max: 1000 }), fc.boolean())), (entries) => {
        const heap = new IndexedMinHeap(4);
        const model = new Map<number, number>();
        for (const [id, key, remove] of entries) {
          if (remove) {
            expect(heap.delete(id)).toBe(model.delete(id));
          } else {
            heap.set(id, key);
            model.set(id, key);
          }
        }
        const popped: number[] = [];
        while (heap.size > 0) popped.push(model.get(heap.pop())!);
        expect(popped).toEqual([...model.values()].sort((a, b) => a - b));
      }),
    );
  });

  it('NumberMaxHeap pops the largest first', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer()), (values) => {
        const heap = new NumberMaxHeap();
        for (const v of values) heap.push(v);
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop());
        expect(out).toEqual([...values].sort((a, b) => b - a));
      }),
    );
  });
});

describe('ReadyQueue', () => {
  it('orders by priority, then remaining path, then arrival', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 5 })), { maxLength: 200 }), (items) => {
        const queue = new ReadyQueue();
        items.forEach(([priority, path], id) => queue.push(id, readyKey(priority, path)));
        const expected = items
          .map(([priority, path], id) => ({ priority, path, id }))
          .sort((a, b) => b.priority - a.priority || b.path - a.path || a.id - b.id)
          .map((x) => x.id);
        const out: number[] = [];
        while (queue.size > 0) out.push(queue.pop());
        expect(out).toEqual(expected);
      }),
    );
  });

  it('puts an item back ahead of its equals', () => {
    const queue = new ReadyQueue();
    queue.push(1, 0);
    queue.push(2, 0);
    queue.pushFront(3, 0);
    expect([queue.pop(), queue.pop(), queue.pop(), queue.pop()]).toEqual([3, 1, 2, -1]);
  });
});

describe('IdIndex', () => {
  it('finds every duplicate and every id', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3 }), { maxLength: 200 }), (ids) => {
        const copy = ids.slice();
        const found = IdIndex.duplicates(copy, copy.length);
        const expected: [number, number][] = [];
        const first = new Map<string, number>();
        ids.forEach((id, i) => {
          if (first.has(id)) expected.push([i, first.get(id)!]);
          else first.set(id, i);
        });
        expect(found).toEqual(expected);
        const index = new IdIndex(copy);
        for (const [id, i] of first) expect(index.get(id)).toBe(i);
        expect(index.get('\u0000absent')).toBe(-1);
        copy.push('\u0000late');
        index.add(copy.length - 1);
        expect(index.get('\u0000late')).toBe(copy.length - 1);
      }),
    );
  });
});

describe('Histogram', () => {
  it('reports percentiles within 1.6% of the exact ones', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, min: 0, max: 100_000 }), { minLength: 1, maxLength: 500 }), (values) => {
        const histogram = new Histogram();
        for (const v of values) histogram.record(v);
        const sorted = [...values].sort((a, b) => a - b);
        for (const q of [0.5, 0.9, 0.99]) {
          const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
          expect(Math.abs(histogram.quantile(q) - exact)).toBeLessThanOrEqual(exact * 0.016 + 0.001);
        }
        const p = histogram.percentiles();
        expect(p.min).toBe(sorted[0]);
        expect(p.max).toBe(sorted.at(-1));
        expect(p.count).toBe(values.length);
      }),
    );
  });

  it('merges', () => {
    const a = new Histogram();
    const b = new Histogram();
    a.record(1);
    b.record(3);
    a.merge(b);
    expect(a.percentiles()).toMatchObject({ count: 2, min: 1, max: 3, mean: 2 });
  });

  it('merged, reports what one histogram of all the values reports', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.float({ noNaN: true, min: 0, max: 1e7 }), fc.integer({ min: 0, max: 2 })), { maxLength: 300 }), (draws) => {
        const whole = new Histogram();
        const parts = [new Histogram(), new Histogram(), new Histogram()];
        for (const [value, part] of draws) {
          whole.record(value);
          parts[part]!.record(value);
        }
        const merged = new Histogram();
        for (const part of parts) merged.merge(part);
        // The mean is a sum in another order: equal up to rounding.
        const { mean, ...rest } = merged.percentiles();
        const { mean: wholeMean, ...wholeRest } = whole.percentiles();
        expect(rest).toEqual(wholeRest);
        expect(Math.abs(mean - wholeMean)).toBeLessThanOrEqual(Math.abs(wholeMean) * 1e-12);
        for (const q of [0.01, 0.25, 0.75]) expect(merged.quantile(q)).toBe(whole.quantile(q));
      }),
    );
  });
});

describe('TimerQueue', () => {
  it('fires deadlines in order on one real timer, skipping cleared ones', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const timers = new TimerQueue(clock, (id) => fired.push(id));
    timers.set(1, 30);
    timers.set(2, 10);
    timers.set(3, 20);
    timers.clear(3);
    timers.set(4, 20);
    expect(clock.pending).toBe(1);
    clock.advance(25);
    expect(fired).toEqual([2, 4]);
    timers.set(5, 26);
    clock.advance(10);
    expect(fired).toEqual([2, 4, 5, 1]);
    expect(clock.pending).toBe(0);
  });
});
