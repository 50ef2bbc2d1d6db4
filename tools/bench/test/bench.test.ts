import { describe, expect, it } from 'vitest';
import { schedulerIo } from '../src/benches/scheduler-io.js';
import { schedulerNoop } from '../src/benches/scheduler-noop.js';
import { measure } from '../src/runner.js';
import { advantage, find, formatValue, median, table } from '../src/stats.js';
import type { Row } from '../src/types.js';

describe('stats', () => {
  it('takes medians and same-run ratios in the direction of the metric', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(advantage(200, 100, 'ops_per_s')).toBe(2);
    expect(advantage(50, 100, 'wall_ms')).toBe(2);
    expect(formatValue(2_130_000, 'ops/s')).toBe('2.13M/s');
    const rows: Row[] = [{ bench: 'b', subject: 'fanout', metric: 'wall_ms', value: 1, unit: 'ms', params: { concurrency: 16 } }];
    expect(find(rows, 'b', 'fanout', 'wall_ms', { concurrency: 16 })?.value).toBe(1);
    expect(find(rows, 'b', 'fanout', 'wall_ms', { concurrency: 64 })).toBeUndefined();
    expect(table(['a', 'b'], [['x', '1']])).toBe('a  b\n-  -\nx  1');
  });
});

describe('benchmarks', () => {
  it('run a subject in a child process and report its figures', async () => {
    const figures = await measure(schedulerNoop, { name: 'fanout', params: { concurrency: 16, mode: 'plan' } }, true);
    expect(figures.ops_per_s).toBeGreaterThan(0);
    expect(figures.rss_mb).toBeGreaterThan(10);
    const ideal = await measure(schedulerIo, { name: 'ideal', params: { concurrency: 16 } }, true);
    expect(ideal.wall_ms).toBe(650);
  });

  it('say what went wrong when a subject fails', async () => {
    await expect(measure(schedulerNoop, { name: 'nonexistent' }, true)).rejects.toThrow(/unknown subject nonexistent/);
  });
});
