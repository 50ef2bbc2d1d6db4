import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entry, group, grepOutput, ok, reportOf, rgFile } from './helpers/report.js';

const run = promisify(execFile);

describe('grep', () => {
  let dir: string;
  let rg: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fanout-aggregate-grep-'));
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'a.ts'), 'export const a = 1; // TODO tidy\nconst b = 2;\n// TODO: name\n');
    await writeFile(join(dir, 'src', 'é.ts'), 'const café = "TODO later";\n');
    try {
      rg = (await run('rg', ['--version'])).stdout;
    } catch {
      rg = undefined;
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads real ripgrep --json output: lines, columns from byte offsets, files', async (ctx) => {
    if (rg === undefined) ctx.skip(); // ripgrep is only the source of a real fixture here
    const { stdout } = await run('rg', ['--json', 'TODO', join(dir, 'src')]).catch((e: { stdout: string }) => e);
    const messages = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    const report = await reportOf([ok('g1', 'grep', grepOutput(messages))]);
    const matches = group(report, 'match');
    expect(matches.distinct).toBe(3);
    const a = entry(report, 'match', `${join(dir, 'src', 'a.ts')}:1`);
    expect(a).toMatchObject({ line: 1, column: 24, text: 'export const a = 1; // TODO tidy' });
    // "const café = " is 13 characters but 14 bytes: the column counts characters.
    expect(entry(report, 'match', `${join(dir, 'src', 'é.ts')}:1`)).toMatchObject({ column: 15, text: 'const café = "TODO later";' });
    expect(entry(report, 'file', join(dir, 'src', 'a.ts')).count).toBe(2);
  });

  it('decodes { bytes } paths and lines, and strips CRLF', async () => {
    const path = Buffer.from('/repo/bad\xff.txt', 'latin1');
    const messages = [
      { type: 'begin', data: { path: { bytes: path.toString('base64') } } },
      {
        type: 'match',
        data: { path: { bytes: path.toString('base64') }, lines: { bytes: Buffer.from('TODO x\r\n').toString('base64') }, line_number: 7, absolute_offset: 0, submatches: [{ match: { text: 'TODO' }, start: 0, end: 4 }] },
      },
      { type: 'end', data: { path: { bytes: path.toString('base64') }, stats: { matches: 1, matched_lines: 1 } } },
    ];
    const report = await reportOf([ok('g', 'grep', grepOutput(messages))]);
    expect(group(report, 'match').entries[0]).toMatchObject({ line: 7, text: 'TODO x', column: 1 });
  });

  it('takes files from count and files-with-matches modes (begin/end only)', async () => {
    const messages = [
      { type: 'begin', data: { path: { text: '/r/a.ts' } } },
      { type: 'end', data: { path: { text: '/r/a.ts' }, stats: { matches: 3, matched_lines: 2 } } },
      { type: 'begin', data: { path: { text: '/r/b.ts' } } },
      { type: 'end', data: { path: { text: '/r/b.ts' }, stats: { matches: 0, matched_lines: 0 } } },
      { type: 'summary', data: { stats: {} } },
    ];
    const report = await reportOf([ok('g', 'grep', grepOutput(messages))]);
    expect(group(report, 'file').entries.map((e) => e.key)).toEqual(['/r/a.ts']);
    expect(report.groups.find((g) => g.type === 'match')?.seen ?? 0).toBe(0);
  });

  it('says a capped grep may miss matches, naming the pattern from the plan', async () => {
    const plan = { operations: [{ id: 'g', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } }] };
    const report = await reportOf([ok('g', 'grep', grepOutput(rgFile('/r/a.ts', [[1, 'TODO a']]), true))], { plan });
    expect(report.problems.listed).toEqual([{ op: 'g', kind: 'grep', code: 'FANOUT_TRUNCATED', message: 'stopped at its match cap after 1 matches', missing: 'matches past the cap' }]);
    expect(report.operations.listed[0]?.detail).toBe('/TODO/ in src');
    expect(report.complete).toBe(false);
  });
});

describe('glob, read, write', () => {
  it('counts files from glob and read as sightings of one file', async () => {
    const report = await reportOf([
      ok('list', 'glob', { files: ['/r/a.ts', '/r/b.ts', '/r//c.ts'], count: 3, truncated: false }),
      ok('read', 'read', { files: [{ path: '/r/a.ts', ok: true, text: 'x', encoding: 'utf8', bytes: 1, binary: false, truncated: false }] }),
    ]);
    const files = group(report, 'file');
    expect(files.entries.map((e) => e.key)).toEqual(['/r/a.ts', '/r/b.ts', '/r/c.ts']);
    expect(entry(report, 'file', '/r/a.ts')).toMatchObject({ sources: 2, bytes: 1, confidence: 0.4 }); // 1 − 0.8 × 0.75
    expect(files.duplicates).toBe(1);
    // A read says what it read, from its output (a fan-out child's input is only "each item").
    expect(report.operations.listed.find((o) => o.id === 'read')!.detail).toBe('/r/a.ts');
  });

  it('keeps failed paths of a read beside the ones that worked', async () => {
    const report = await reportOf([
      ok('read', 'read', {
        files: [
          { path: '/r/a.ts', ok: true, text: 'x', encoding: 'utf8', bytes: 10_000, binary: false, truncated: true },
          { path: '/r/gone.ts', ok: false, error: { code: 'FANOUT_NOT_FOUND', message: 'expected /r/gone.ts to exist, but it does not' } },
        ],
      }),
    ]);
    expect(group(report, 'file').entries).toHaveLength(1);
    expect(report.problems.listed).toEqual([
      { op: 'read', kind: 'read', code: 'FANOUT_TRUNCATED', message: 'read of /r/a.ts was cut at its size cap (the file has 10000 bytes)', missing: 'the end of /r/a.ts' },
      { op: 'read', kind: 'read', code: 'FANOUT_NOT_FOUND', message: 'could not read /r/gone.ts: expected /r/gone.ts to exist, but it does not', missing: 'the contents of /r/gone.ts' },
    ]);
  });

  it('says a capped glob lists only the first files', async () => {
    const report = await reportOf([ok('list', 'glob', { files: ['/r/a'], count: 40, truncated: true })]);
    expect(report.problems.listed[0]).toMatchObject({ code: 'FANOUT_TRUNCATED', message: 'listed 1 files and stopped at its cap (40 matched)' });
  });

  it('lists writes by path', async () => {
    const report = await reportOf([ok('w', 'write', { path: '/r/out.json', bytes: 12, mode: 'create', created: true })]);
    expect(entry(report, 'write', '/r/out.json')).toMatchObject({ bytes: 12, mode: 'create', created: true });
  });
});

describe('search and fetch', () => {
  const results = (provider: string, urls: string[]) => urls.map((url, i) => ({ title: `T ${url}`, url, snippet: `about ${url}`, rank: i + 1, provider }));

  it('dedups URLs across queries and providers and ranks by agreement, then by rank', async () => {
    const report = await reportOf([
      ok('s1', 'search', { query: 'rate limiting', provider: 'brave', results: results('brave', ['https://a.io/x?utm_source=b', 'https://b.io/', 'https://c.io/z']), tried: ['brave'] }),
      ok('s2', 'search', { query: 'token bucket', provider: 'searxng', results: results('searxng', ['https://C.io/z/', 'https://A.io/x#top']), tried: ['searxng'] }),
    ]);
    const urls = group(report, 'url');
    expect(urls.entries.map((e) => e.key)).toEqual(['https://a.io/x', 'https://c.io/z', 'https://b.io/']);
    const top = urls.entries[0]!;
    // 1 − (1 − 0.6) × (1 − 0.6 × 11/12): rank 1 on one provider, rank 2 on the other.
    expect(top.confidence).toBe(0.82);
    expect(top).toMatchObject({ sources: 2, providers: ['brave', 'searxng'], queries: ['rate limiting', 'token bucket'], bestRank: 1, title: 'T https://a.io/x?utm_source=b' });
    expect(top.explanation).toBe('0.82: 2 operations agreed — s1 (search "rate limiting" via brave, #1); s2 (search "token bucket" via searxng, #2)');
    expect(top.agreed.map((a) => [a.op, a.detail])).toEqual([
      ['s1', '"rate limiting" via brave, #1'],
      ['s2', '"token bucket" via searxng, #2'],
    ]);
    const domains = group(report, 'domain');
    expect(domains.entries.map((e) => [e.key, e.count, e.sources])).toEqual([
      ['a.io', 1, 2],
      ['c.io', 1, 2],
      ['b.io', 1, 1],
    ]);
  });

  it('notes a fallback, an empty answer and a query run twice on one provider', async () => {
    const report = await reportOf([
      ok('s1', 'search', { query: 'Rate limiting?', provider: 'brave', results: [], tried: ['searxng', 'brave'] }),
      ok('s2', 'search', { query: 'rate limiting', provider: 'brave', results: results('brave', ['https://a.io/']), tried: ['brave'] }),
    ]);
    expect(report.notes.listed).toEqual([
      's1: search "Rate limiting?": searxng failed, brave answered',
      's1: search "Rate limiting?" on brave found nothing',
      's2: query "rate limiting" ran more than once on brave (again in s2): dedupQueries() before running avoids it',
    ]);
    expect(entry(report, 'query', 'rate limiting')).toMatchObject({ query: 'Rate limiting?', count: 1, sources: 2 });
  });

  it('makes a fetch of a search result agree with the search, with its title', async () => {
    const plan = { operations: [{ id: 'f', kind: 'fetch', input: { url: 'https://a.io/x?utm_medium=1' } }] };
    const report = await reportOf(
      [
        ok('s', 'search', { query: 'q', provider: 'brave', results: results('brave', ['https://a.io/x']), tried: ['brave'] }),
        ok('f', 'fetch', {
          url: 'https://www.a.io/x',
          status: 200,
          headers: {},
          redirects: ['https://a.io/x?utm_medium=1'],
          contentType: 'text/html; charset=utf-8',
          bytes: 60,
          truncated: false,
          text: '<html><head><title>Rate &amp; limits</title></head></html>',
        }),
      ],
      { plan },
    );
    expect(entry(report, 'url', 'https://a.io/x')).toMatchObject({ sources: 2, status: 200, finalUrl: 'https://www.a.io/x' });
    expect(entry(report, 'url', 'https://a.io/x').agreed.map((a) => a.detail)).toEqual(['"q" via brave, #1', 'https://www.a.io/x, HTTP 200']);
  });

  it('keeps a fetch that answered 404 as a problem, not a result', async () => {
    const report = await reportOf([ok('f', 'fetch', { url: 'https://a.io/gone', status: 404, headers: {}, redirects: [], contentType: 'text/html', bytes: 0, truncated: false, text: '' })]);
    expect(report.groups.find((g) => g.type === 'url')).toBeUndefined();
    expect(report.problems.listed).toEqual([{ op: 'f', kind: 'fetch', code: 'FANOUT_HTTP_STATUS', message: 'https://a.io/gone answered 404', missing: 'the page at https://a.io/gone' }]);
  });
});

describe('bash and analyze', () => {
  it('lists commands with their output', async () => {
    const report = await reportOf([ok('b', 'bash', { exitCode: 1, signal: null, stdout: 'one\ntwo\n', stderr: '', durationMs: 3, truncated: { stdout: true, stderr: false }, command: ['grep', '-c', 'x y', 'f'] })]);
    expect(entry(report, 'command', 'grep -c "x y" f')).toMatchObject({ exitCode: 1, stdout: 'one\ntwo\n', truncated: true });
    expect(report.notes.listed).toEqual(['b: `grep -c "x y" f` exited with 1, accepted as a success']);
    expect(report.problems.listed[0]).toMatchObject({ code: 'FANOUT_TRUNCATED', missing: 'the end of the output of `grep -c "x y" f`' });
  });

  it('reads stats and markers; markers are sightings of their files', async () => {
    const report = await reportOf([
      ok('st', 'analyze', { analyzer: 'stats', files: 3, lines: 120, bytes: 4000, languages: { TypeScript: { files: 2, lines: 100, bytes: 3000 }, Markdown: { files: 1, lines: 20, bytes: 1000 } } }),
      ok('mk', 'analyze', { analyzer: 'markers', markers: [{ path: '/r/a.ts', line: 3, column: 4, kind: 'FIXME', text: 'FIXME: leaks' }], truncated: false }),
      ok('g', 'grep', grepOutput(rgFile('/r/a.ts', [[9, 'a TODO']]))),
    ]);
    expect(entry(report, 'stats', 'st')).toMatchObject({ files: 3, lines: 120, languages: { TypeScript: { files: 2, lines: 100, bytes: 3000 } } });
    expect(entry(report, 'marker', '/r/a.ts:3:4')).toMatchObject({ tag: 'FIXME', text: 'FIXME: leaks' });
    expect(entry(report, 'file', '/r/a.ts')).toMatchObject({ sources: 2, count: 1 });
  });
});

describe('outputs that are not the promised shape', () => {
  it('records the operation as a problem naming the field, and goes on', async () => {
    const report = await reportOf([
      ok('g', 'grep', { messages: [...rgFile('/r/a.ts', [[1, 'TODO']]), { type: 'match', data: { path: { text: '/r/a.ts' }, lines: { text: 'x' } } }] }),
      ok('s', 'search', { query: 'q', results: 'none' }),
      ok('list', 'glob', { files: ['/r/ok.ts'], count: 1, truncated: false }),
    ]);
    expect(report.problems.listed).toEqual([
      {
        op: 'g',
        kind: 'grep',
        code: 'FANOUT_AGGREGATE_OUTPUT_UNEXPECTED',
        message: 'its output could not be read: expected a line number (ripgrep --json without -n?) at messages[3].data.line_number of a grep output, got undefined',
        missing: "the rest of g's results (1 read before the problem)",
      },
      { op: 's', kind: 'search', code: 'FANOUT_AGGREGATE_OUTPUT_UNEXPECTED', message: 'its output could not be read: expected an array at results of a search output, got the string "none"', missing: 'the results of s' },
    ]);
    expect(entry(report, 'file', '/r/ok.ts').sources).toBe(1);
  });

  it('notes kinds it has no extractor for, and takes custom extractors', async () => {
    const report = await reportOf(
      [
        ok('x', 'ctags', {
          symbols: [
            { name: 'run', path: '/r/a.ts' },
            { name: 'run', path: '/r/a.ts' },
          ],
        }),
        ok('y', 'unknown-kind', { anything: true }),
      ],
      {
        extractors: [
          {
            kind: 'ctags',
            extract(output, sink) {
              for (const s of (output as { symbols: { name: string; path: string }[] }).symbols) sink.item({ type: 'symbol', key: `${s.path}#${s.name}`, label: `${s.name} in ${s.path}`, weight: 0.7 });
            },
          },
        ],
      },
    );
    expect(entry(report, 'symbol', '/r/a.ts#run')).toMatchObject({ label: 'run in /r/a.ts', hits: 2, sources: 1, confidence: 0.7 });
    expect(report.groups.find((g) => g.type === 'symbol')).toMatchObject({ title: 'symbol', seen: 2, duplicates: 1 });
    expect(report.notes.listed).toEqual(['y: no extractor for kind "unknown-kind"; its output is not in the report (register one with the extractors option)']);
  });

  it('keeps custom items out of the built-in groups', async () => {
    const report = await reportOf([ok('x', 'odd', {})], {
      extractors: [{ kind: 'odd', extract: (_output, sink) => sink.item({ type: 'match', key: 'a:1', label: 'a' }) }],
    });
    expect(report.problems.listed[0]).toMatchObject({
      op: 'x',
      code: 'FANOUT_AGGREGATE_EXTRACTOR_INVALID',
      message: 'its output could not be read: expected a custom item type, got the built-in "match" (use the sink\'s match() instead)',
    });
  });
});
