import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRateLimitWindows, parseRetryAfter, rateLimitWaitMs } from '../../src/web/index.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds and the three HTTP-date forms', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('Wed, 15 Jan 2025 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 15-Jan-25 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wed Jan 15 12:00:30 2025', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wed Jan  5 12:00:30 2025', NOW)).toBe(0);
  });

  it('gives 0 for a date in the past and nothing for what it cannot read', () => {
    expect(parseRetryAfter('Wed, 15 Jan 2025 11:00:00 GMT', NOW)).toBe(0);
    for (const bad of [undefined, '', 'soon', '-1', '1.5', '0x10']) expect(parseRetryAfter(bad, NOW)).toBeUndefined();
  });

  it('round-trips any delay in seconds and any future date to the second', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => parseRetryAfter(String(seconds), NOW) === seconds * 1000));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 365 * 24 * 3600 }), (seconds) => {
        const date = new Date(NOW + seconds * 1000).toUTCString();
        return parseRetryAfter(date, NOW) === seconds * 1000;
      }),
    );
  });
});

describe('rate-limit windows', () => {
  it('reads Brave-style comma lists, one entry per window', () => {
    const windows = parseRateLimitWindows({ limit: '1, 15000', remaining: '0, 14000', reset: '1, 2419200' });
    expect(windows).toEqual([
      { limit: 1, remaining: 0, resetSeconds: 1 },
      { limit: 15000, remaining: 14000, resetSeconds: 2419200 },
    ]);
    expect(rateLimitWaitMs(windows)).toBe(1000);
    expect(parseRateLimitWindows({})).toEqual([]);
  });

  it('waits for every exhausted window, else for the soonest reset', () => {
    expect(rateLimitWaitMs(parseRateLimitWindows({ remaining: '0, 0', reset: '1, 86400' }))).toBe(86_400_000);
    expect(rateLimitWaitMs(parseRateLimitWindows({ remaining: '3, 10', reset: '2, 50' }))).toBe(2000);
    expect(rateLimitWaitMs(parseRateLimitWindows({ remaining: '0' }))).toBeUndefined();
  });

  it('never waits less than an exhausted window needs', () => {
    const window = fc.record({ remaining: fc.integer({ min: 0, max: 5 }), reset: fc.integer({ min: 0, max: 100_000 }) });
    fc.assert(
      fc.property(fc.array(window, { minLength: 1, maxLength: 4 }), (list) => {
        const windows = parseRateLimitWindows({ remaining: list.map((w) => w.remaining).join(', '), reset: list.map((w) => w.reset).join(', ') });
        const wait = rateLimitWaitMs(windows)!;
        const exhausted = list.filter((w) => w.remaining === 0);
        if (exhausted.length > 0) return exhausted.every((w) => wait >= w.reset * 1000);
        return wait === Math.min(...list.map((w) => w.reset)) * 1000;
      }),
    );
  });
});
