import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../src/index.js';

describe('HyperLogLog', () => {
  it.each([0, 1, 100, 5_000, 200_000])('estimates %i distinct keys within 4 standard errors', (count) => {
    const hll = new HyperLogLog();
    for (let i = 0; i < count; i++) {
      const key = `/repo/src/file-${i % 997}.ts:${i}`;
      hll.add(key);
      hll.add(key); // repeats change nothing
    }
    const tolerance = Math.max(1, 4 * hll.standardError * count);
    expect(Math.abs(hll.estimate() - count)).toBeLessThanOrEqual(tolerance);
  });

  it('refuses a precision it cannot use', () => {
    expect(() => new HyperLogLog(3)).toThrow(/between 4 and 18, got 3/);
  });
});
