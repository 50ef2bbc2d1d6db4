import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler, type Plan } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator, aggregate, observe, renderMarkdown, type Report } from '../src/index.js';
import { fetchAdapter, globAdapter, grepAdapter, readAdapter, searchAdapter } from './helpers/adapters.js';
import { entry, group } from './helpers/report.js';

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-aggregate-e2e-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'index.ts'), 'export { limit } from "./limit.js";\n// TODO document the API\n');
  await writeFile(join(dir, 'src', 'limit.ts'), 'export function limit(n: number) {\n  return n; // TODO clamp\n}\nexport const MAX = 3;\n');
  await writeFile(join(dir, 'README.md'), '# demo\n');
  // A SearXNG-format search server whose results point back at itself, and the pages.
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/search') {
      const q = url.searchParams.get('q') ?? '';
      const engine = url.searchParams.get('engine') ?? '';
      const results =
        engine === 'brave'
          ? [
              { url: `${base}/guide/?utm_source=brave`, title: 'Guide', content: 'Rate limiting guide' },
              { url: `${base}/api#limit`, title: 'API', content: 'limit()' },
              { url: `${base}/missing`, title: 'Gone', content: 'was here' },
            ]
          : [
              { url: `${base}/api`, title: 'API', content: 'limit()' },
              { url: `${base.toUpperCase().replace('HTTP://', 'http://')}/guide`, title: 'Guide', content: 'Rate limiting guide' },
            ];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ query: q, results, answers: [], suggestions: [], unresponsive_engines: [] }));
      return;
    }
    if (url.pathname === '/missing') {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<title>Not found</title>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<html><head><title>Page ${url.pathname}</title></head><body>ok</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function plan(): Plan {
  return {
    name: 'explore demo',
    operations: [
      { id: 'list', kind: 'glob', input: { cwd: dir, suffix: '.ts' } },
      { id: 'todo', kind: 'grep', input: { pattern: 'TODO', paths: [join(dir, 'src')] } },
      { id: 'exports', kind: 'grep', input: { pattern: 'export', paths: [join(dir, 'src')] } },
      { id: 'read', kind: 'read', input: { paths: { $ref: 'list', path: 'files' } } },
      { id: 'lost', kind: 'grep', input: { pattern: 'TODO', paths: [join(dir, 'lib')] } },
      { id: 'after-lost', kind: 'read', after: ['lost'], input: { paths: [join(dir, 'lib', 'x.ts')] } },
      { id: 'web1', kind: 'search', input: { query: 'rate limiting', provider: 'brave' } },
      { id: 'web2', kind: 'search', input: { query: 'Rate limiting?', provider: 'searxng' } },
      { id: 'pages', kind: 'fetch', forEach: { $ref: 'web1', path: 'results' }, input: { url: { $item: 'url' } } },
    ],
  };
}

function scheduler() {
  return createScheduler({ adapters: [globAdapter, grepAdapter, readAdapter, searchAdapter(base), fetchAdapter] });
}

function checkReport(report: Report): void {
  const src = join(dir, 'src');
  // Files: both .ts files are listed, matched by both greps and read; limit.ts has more
  // matches, which breaks the tie.
  const files = group(report, 'file');
  expect(files.entries[0]!.key).toBe(join(src, 'limit.ts'));
  expect(files.entries[0]!.agreed.map((a) => a.op).sort()).toEqual(['exports', 'list', 'read', 'todo']);
  expect(entry(report, 'match', `${join(src, 'limit.ts')}:2`)).toMatchObject({ text: '  return n; // TODO clamp', column: 16 });
  // URLs: /guide and /api agree across both searches (tracking, fragment, case, slash
  // removed) and the fetch of brave's results; /missing answered 404.
  const urls = group(report, 'url');
  expect(
    urls.entries
      .slice(0, 2)
      .map((e) => e.key)
      .sort(),
  ).toEqual([`${base}/api`, `${base}/guide`]);
  expect(entry(report, 'url', `${base}/guide`)).toMatchObject({ sources: 3, title: 'Guide', status: 200, providers: ['brave', 'searxng'] });
  expect(entry(report, 'query', 'rate limiting')).toMatchObject({ sources: 2, count: 5 });
  // Failures beside the partial results, with what is missing.
  expect(report.failures.listed.map((f) => [f.op, f.state, f.code, f.missing])).toEqual([
    ['lost', 'failed', 'FANOUT_NOT_FOUND', `matches of /TODO/ in ${join(dir, 'lib')}`],
    ['after-lost', 'skipped', 'FANOUT_DEPENDENCY_FAILED', `the contents of ${join(dir, 'lib', 'x.ts')}`],
  ]);
  expect(report.problems.listed).toEqual([{ op: 'pages[2]', kind: 'fetch', code: 'FANOUT_HTTP_STATUS', message: `${base}/missing answered 404`, missing: `the page at ${base}/missing` }]);
  // The fan-out parent carries no results of its own.
  const parent = report.operations.listed.find((op) => op.id === 'pages');
  expect(parent).toMatchObject({ expanded: true, items: 0, state: 'succeeded' });
  expect(report.run).toMatchObject({ name: 'explore demo' });
  expect(report.totals.byState).toEqual({ succeeded: 10, failed: 1, skipped: 1, cancelled: 0, 'timed-out': 0 });
  expect(report.complete).toBe(false);
}

describe('end to end on a real run', () => {
  it('observes a run while it goes', async () => {
    const p = plan();
    const report = await observe(scheduler().run(p), { plan: p, budget: false });
    checkReport(report);
    const md = renderMarkdown(report);
    expect(md).toContain('## Failures and what is missing');
    expect(md).toContain(`**missing:** matches of /TODO/ in ${join(dir, 'lib')}`);
  });

  it('aggregates a finished run to the same report', async () => {
    const p = plan();
    const result = await scheduler().execute(p);
    const report = await aggregate(result, { plan: p, budget: false });
    checkReport(report);
  });

  it('takes events through onEvent, and catches up on a run observed late', async () => {
    const p = plan();
    const viaListener = new Aggregator({ plan: p });
    await scheduler().execute(p, { onEvent: viaListener.listener });
    checkReport(await viaListener.report({ budget: false }));

    const run = scheduler().run(p);
    await run.result;
    const late = new Aggregator({ plan: p }).observe(run);
    checkReport(await late.report({ budget: false }));
  });
});
