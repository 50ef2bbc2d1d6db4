import { describe, expect, it } from 'vitest';
import { Collector } from '../../src/fs/grep/collect.js';
import { FileSearcher, type FileSearchConfig } from '../../src/fs/grep/file.js';
import { compilePattern } from '../../src/fs/grep/pattern.js';
import { grepInputSchema } from '../../src/fs/grep/schema.js';

/**
 * The total cap (`maxMatches`) is applied by the collector, in order; the per-file search only
 * gets a hint of what is left, which can be anything from the exact number up (it was sent
 * before earlier files were merged). The output must not depend on it.
 */
describe('grep collector: a cut that does not depend on the hint', () => {
  const text = Buffer.from(`${['one', 'needle a', 'needle b', 'two', 'needle c', 'three', 'four'].join('\n')}\n`);

  function cut(before: number, after: number, maxMatches: number, hint: number) {
    const input = grepInputSchema.parse({ pattern: 'needle', before, after });
    const config: FileSearchConfig = { matcher: compilePattern(input.pattern, input), mode: 'content', before, after, maxCount: Infinity, maxFileSize: Infinity, followSymlinks: false, lineMatches: false };
    const outcome = new FileSearcher(config).searchBytes({ index: 0, path: '/t/f.txt', open: '/t/f.txt', named: false }, text, hint, performance.now());
    const collector = new Collector({ maxMatches, maxOutputBytes: 1e9, after }, 'content', () => {});
    collector.add([outcome]);
    const lines = collector.messages.filter((m) => m.type === 'match' || m.type === 'context').map((m) => `${m.type}:${(m.data as { line_number: number }).line_number}`);
    return { lines, truncated: collector.truncated, stats: collector.stats };
  }

  it.each([
    [0, 0, 1],
    [0, 1, 1],
    [0, 2, 1],
    [1, 1, 2],
    [2, 3, 2],
    [1, 0, 2],
  ])('before %i, after %i, maxMatches %i', (before, after, maxMatches) => {
    const exact = cut(before, after, maxMatches, maxMatches);
    for (const hint of [maxMatches + 1, 10, Infinity]) expect(cut(before, after, maxMatches, hint)).toEqual(exact);
    expect(exact.truncated).toBe(true);
    expect(exact.stats.matchedLines).toBe(maxMatches);
  });

  it('reports the lines after the last match let through as context, matches among them too', () => {
    expect(cut(0, 2, 1, Infinity).lines).toEqual(['match:2', 'context:3', 'context:4']);
  });
});
