import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter } from '../src/index.js';

describe('the README example', () => {
  it('runs as written: a and b at once, c after both', async () => {
    const wait = defineAdapter({
      kind: 'wait',
      input: z.object({ ms: z.number() }),
      defaults: { maxConcurrency: 8, idempotent: true },
      run: ({ ms }, { signal }) => sleep(ms, `waited ${ms} ms`, { signal }),
    });
    const scheduler = createScheduler({ adapters: [wait] });
    const order: string[] = [];
    const result = await scheduler.execute(
      {
        operations: [
          { id: 'a', kind: 'wait', input: { ms: 20 } },
          { id: 'b', kind: 'wait', input: { ms: 20 } },
          { id: 'c', kind: 'wait', input: { ms: 10 }, after: ['a', 'b'] },
        ],
      },
      { onEvent: (e) => (e.type === 'op-started' || e.type === 'op-finished') && order.push(`${e.type === 'op-started' ? 'start' : 'end'} ${e.id}`) },
    );
    expect(result.get('c')?.output).toBe('waited 10 ms');
    expect(order.slice(0, 2).sort()).toEqual(['start a', 'start b']);
    expect(order.indexOf('start c')).toBeGreaterThan(Math.max(order.indexOf('end a'), order.indexOf('end b')));
    expect(result.summary.peakInflight).toBe(2);
  });
});
