import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, AggregationError, DEFAULT_WEIGHTS, normalizeUrl } from '../src/index.js';
import { entry, group, grepOutput, ok, reportOf, rgFile } from './helpers/report.js';

describe('correlation and ranking', () => {
  it('raises a file reached by glob, grep and read above one only listed, and explains why', async () => {
    const plan = {
      operations: [
        { id: 'list', kind: 'glob', input: { patterns: ['**/*.ts'], cwd: '/r' } },
        { id: 'todo', kind: 'grep', input: { pattern: 'TODO', paths: ['/r'] } },
        { id: 'exports', kind: 'grep', input: { pattern: 'export', paths: ['/r'] } },
        { id: 'read', kind: 'read', input: { paths: ['/r/a.ts'] } },
      ],
    };
    const report = await reportOf(
      [
        ok('list', 'glob', { files: ['/r/a.ts', '/r/b.ts', '/r/c.ts'], count: 3, truncated: false }),
        ok(
          'todo',
          'grep',
          grepOutput([
            ...rgFile('/r/a.ts', [
              [1, 'TODO one'],
              [5, 'TODO two'],
            ]),
            ...rgFile('/r/c.ts', [[2, 'TODO']]),
          ]),
        ),
        ok('exports', 'grep', grepOutput(rgFile('/r/a.ts', [[1, 'export TODO one']]))),
        ok('read', 'read', { files: [{ path: '/r/a.ts', ok: true, text: '…', encoding: 'utf8', bytes: 40, binary: false, truncated: false }] }),
      ],
      { plan },
    );
    const files = group(report, 'file');
    expect(files.entries.map((e) => e.key)).toEqual(['/r/a.ts', '/r/c.ts', '/r/b.ts']);
    const a = files.entries[0]!;
    expect(a.sources).toBe(4);
    expect(a.count).toBe(3);
    expect(a.confidence).toBe(Math.round((1 - 0.8 * 0.6 * 0.6 * 0.75) * 1000) / 1000);
    expect(a.explanation).toBe('0.78: 4 operations agreed — list (glob **/*.ts under /r); todo (grep /TODO/ in /r, ×2); exports (grep /export/ in /r); read (read /r/a.ts)');
    // Line 1 of a.ts matched two patterns: the two greps agree on it.
    const line1 = entry(report, 'match', '/r/a.ts:1');
    expect(line1).toMatchObject({ sources: 2, confidence: 0.75, hits: 2 });
    expect(group(report, 'match').entries[0]!.key).toBe('/r/a.ts:1');
  });

  const weightOf = (rank: number) => (DEFAULT_WEIGHTS.searchResult * (DEFAULT_WEIGHTS.searchRankK + 1)) / (DEFAULT_WEIGHTS.searchRankK + rank);
  const pool = ['https://a.io/x', 'https://A.io/x/', 'https://b.io/?utm_source=1', 'https://b.io', 'https://c.io/p#f', 'https://d.io/q?b=1&a=2', 'https://d.io/q?a=2&b=1', 'https://e.io/'];
  const searches = fc.array(fc.array(fc.constantFrom(...pool), { minLength: 0, maxLength: 6 }), { minLength: 1, maxLength: 6 });

  it('scores by noisy-OR over operations, whatever their order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(searches, fc.nat(), async (lists, seed) => {
        const ops = lists.map((urls, i) => ok(`s${i}`, 'search', { query: `q${i}`, provider: 'p', tried: ['p'], results: urls.map((url, r) => ({ title: '', url, snippet: '', rank: r + 1, provider: 'p' })) }));
        // The model: per key, each operation counts once at its best rank.
        const best = new Map<string, Map<number, number>>();
        lists.forEach((urls, op) =>
          urls.forEach((url, r) => {
            const key = normalizeUrl(url);
            const perOp = best.get(key) ?? new Map<number, number>();
            perOp.set(op, Math.max(perOp.get(op) ?? 0, weightOf(r + 1)));
            best.set(key, perOp);
          }),
        );
        const shuffled = [...ops].sort((x, y) => ((x.id.charCodeAt(1) * 7919 + seed) % 13) - ((y.id.charCodeAt(1) * 7919 + seed) % 13));
        for (const order of [ops, shuffled]) {
          const report = await reportOf(order);
          const urls = report.groups.find((g) => g.type === 'url');
          expect(urls?.held ?? 0).toBe(best.size);
          for (const e of urls?.entries ?? []) {
            const perOp = best.get(e.key)!;
            const expected = 1 - [...perOp.values()].reduce((miss, w) => miss * (1 - w), 1);
            expect(e.sources).toBe(perOp.size);
            expect(Math.abs(e.confidence - expected)).toBeLessThanOrEqual(0.0005 + 1e-9); // reports round to 3 decimals
          }
          // Ranked: confidence never rises down the list.
          const confidences = (urls?.entries ?? []).map((e) => e.confidence);
          expect(confidences).toEqual([...confidences].sort((x, y) => y - x));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('counts duplicates exactly while under the memory bound (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 8 })), { maxLength: 30 }), { minLength: 1, maxLength: 5 }), async (ops) => {
        const report = await reportOf(ops.map((lines, i) => ok(`g${i}`, 'grep', grepOutput(lines.flatMap(([file, line]) => rgFile(`/r/f${file}.ts`, [[line, 'x']]))))));
        const all = ops.flat().map(([file, line]) => `/r/f${file}.ts:${line}`);
        const matches = report.groups.find((g) => g.type === 'match');
        expect(matches?.seen ?? 0).toBe(all.length);
        expect(matches?.distinct ?? 0).toBe(new Set(all).size);
        expect(matches?.duplicates ?? 0).toBe(all.length - new Set(all).size);
        expect(report.totals.items).toBe(all.length);
      }),
      { numRuns: 100 },
    );
  });
});

describe('failures beside partial results', () => {
  it('says what failed, why, and what is missing because of it', async () => {
    const plan = {
      operations: [
        { id: 'g1', kind: 'grep', input: { pattern: 'TODO', paths: ['/r/lib'] } },
        { id: 'g2', kind: 'grep', input: { pattern: 'TODO', paths: ['/r/src'] } },
        { id: 'f', kind: 'fetch', input: { url: 'https://a.io/docs' } },
        { id: 'after', kind: 'read', input: { paths: { $ref: 'g2', path: 'files' } } },
        { id: 's', kind: 'search', input: { query: 'rate limits', providers: ['brave', 'searxng'] } },
      ],
    };
    const report = await reportOf(
      [
        ok('g1', 'grep', grepOutput(rgFile('/r/lib/a.ts', [[1, 'TODO']]))),
        { id: 'g2', kind: 'grep', state: 'failed', error: { name: 'AdapterError', code: 'FANOUT_PATH_OUTSIDE_ROOT', message: 'expected a path inside /r, got /r/src → /etc', path: 'paths[0]' } },
        { id: 'f', kind: 'fetch', state: 'timed-out', error: new Error('attempt timed out after 10000 ms') },
        { id: 'after', kind: 'read', state: 'skipped', error: { name: 'FanoutError', code: 'FANOUT_DEPENDENCY_FAILED', message: 'skipped because "g2" ended failed' } },
        { id: 's', kind: 'search', state: 'cancelled', error: { name: 'FanoutError', code: 'FANOUT_CANCELLED', message: 'the run was cancelled' } },
        { id: 'x', kind: 'mystery', state: 'failed', error: 'boom' },
      ],
      { plan },
    );
    expect(report.failures.listed).toEqual([
      { op: 'g2', kind: 'grep', state: 'failed', code: 'FANOUT_PATH_OUTSIDE_ROOT', message: 'expected a path inside /r, got /r/src → /etc', path: 'paths[0]', missing: 'matches of /TODO/ in /r/src' },
      { op: 'f', kind: 'fetch', state: 'timed-out', code: 'FANOUT_OPERATION_FAILED', message: 'attempt timed out after 10000 ms', missing: 'the page at https://a.io/docs' },
      { op: 'after', kind: 'read', state: 'skipped', code: 'FANOUT_DEPENDENCY_FAILED', message: 'skipped because "g2" ended failed', missing: 'the contents of the files of g2' },
      { op: 's', kind: 'search', state: 'cancelled', code: 'FANOUT_CANCELLED', message: 'the run was cancelled', missing: 'results for "rate limits" from brave, searxng' },
      { op: 'x', kind: 'mystery', state: 'failed', code: 'FANOUT_OPERATION_FAILED', message: 'boom', missing: 'the output of x (mystery)' },
    ]);
    expect(report.failures.byCode).toEqual({ FANOUT_PATH_OUTSIDE_ROOT: 1, FANOUT_OPERATION_FAILED: 2, FANOUT_DEPENDENCY_FAILED: 1, FANOUT_CANCELLED: 1 });
    expect(report.totals.byState).toEqual({ succeeded: 1, failed: 2, skipped: 1, cancelled: 1, 'timed-out': 1 });
    expect(report.complete).toBe(false);
    // The partial result is still there.
    expect(entry(report, 'match', '/r/lib/a.ts:1').sources).toBe(1);
  });

  it('keeps the first maxListed failures in detail and counts them all', async () => {
    const aggregator = new Aggregator({ maxListed: 3 });
    for (let i = 0; i < 10; i++) aggregator.add({ id: `o${i}`, kind: 'read', state: 'failed', error: { message: 'nope', code: 'FANOUT_IO' } });
    const report = await aggregator.report({ budget: false });
    expect(report.failures).toMatchObject({ total: 10, omitted: 7, byCode: { FANOUT_IO: 10 } });
    expect(report.failures.listed.map((f) => f.op)).toEqual(['o0', 'o1', 'o2']);
  });
});

describe('memory bound', () => {
  it('keeps at most maxEntries per group, the strongest, and estimates the distinct count', async () => {
    const aggregator = new Aggregator({ maxEntries: 1_000 });
    // A line three greps agree on, seen early, must survive every compaction.
    for (const id of ['a', 'b', 'c']) aggregator.add(ok(id, 'grep', grepOutput(rgFile('/r/hot.ts', [[1, 'hot']]))));
    const total = 20_000;
    for (let op = 0; op < 20; op++) {
      const lines: [number, string][] = Array.from({ length: total / 20 }, (_, i) => [op * 1_000 + i + 1, 'cold']);
      aggregator.add(ok(`g${op}`, 'grep', grepOutput(rgFile('/r/cold.ts', lines))));
    }
    const report = await aggregator.report({ budget: false, limit: 5 });
    const matches = group(report, 'match');
    expect(matches.held).toBeLessThanOrEqual(1_000);
    expect(matches.evicted).toBeGreaterThan(18_000);
    expect(matches.exact).toBe(false);
    expect(Math.abs(matches.distinct - (total + 1)) / (total + 1)).toBeLessThan(0.05);
    expect(matches.evictedAtMost).toBe(0.5);
    expect(matches.entries[0]).toMatchObject({ key: '/r/hot.ts:1', sources: 3 });
    expect(report.complete).toBe(false);
    expect(report.totals.items).toBe(total + 3);
  });
});

describe('options', () => {
  it('refuses bad options, naming them', () => {
    expect(() => new Aggregator({ maxEntries: 0 })).toThrow(AggregationError);
    expect(() => new Aggregator({ maxEntries: 1.5 })).toThrow(/expected maxEntries to be a positive integer, got 1.5/);
    expect(() => new Aggregator({ weights: { grepMatch: -1 } })).toThrow(/expected weights.grepMatch to be a positive number, got -1/);
    expect(() => new Aggregator({ extractors: [{ kind: 'x' } as never] })).toThrow(expect.objectContaining({ code: 'FANOUT_AGGREGATE_EXTRACTOR_INVALID', path: 'extractors[0]' }));
  });

  it('refuses bad report options, naming them', async () => {
    const aggregator = new Aggregator();
    await expect(aggregator.report({ limit: -1 })).rejects.toMatchObject({ code: 'FANOUT_OPTION_INVALID', path: 'limit' });
    await expect(aggregator.report({ budget: { chars: -5 } })).rejects.toThrow(/expected budget to be \{ chars: n \} or \{ tokens: n \} with n ≥ 0, got \{"chars":-5\}/);
    await expect(aggregator.report({ format: 'html' as never })).rejects.toMatchObject({ path: 'format' });
  });

  it('takes each operation once', async () => {
    const aggregator = new Aggregator();
    const op = ok('list', 'glob', { files: ['/r/a'], count: 1, truncated: false });
    aggregator.add(op).add(op);
    const report = await aggregator.report({ budget: false });
    expect(report.totals).toMatchObject({ operations: 1, items: 1 });
  });
});
