import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

let root: string;

/** A small project: a manifest, a README, sources with exports, imports and TODOs, a test. */
const PROJECT: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { test: 'vitest' }, dependencies: { zod: '^4' } }),
  'README.md': '# Demo\n',
  '.git/HEAD': 'ref: refs/heads/main\n',
  'src/index.ts': "import { add } from './math';\nexport default function main() { return add(1, 2); }\n// TODO: read the arguments\n",
  'src/math.ts': 'export function add(a: number, b: number) {\n  return a + b; // FIXME: overflow\n}\n',
  'src/util/strings.ts': 'export const shout = (s: string) => s.toUpperCase();\nexport const env = process.env.DEMO_MODE;\n',
  'test/math.test.ts': "import { add } from '../src/math';\ndescribe('add', () => { it('adds', () => {}); });\n",
};

interface ReportJson {
  title: string;
  groups: { type: string; entries: { key: string; label?: string }[] }[];
  operations: { listed: { id: string; kind: string; state: string }[] };
  summary?: { speedup: number; byState: Record<string, number> };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-profiles-'));
  for (const [path, content] of Object.entries(PROJECT)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fanout explore-codebase', () => {
  it('sizes the tree by counting, runs the profile and prints the codebase map with the speedup', async () => {
    const out = await fanout(['explore-codebase', root]);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(new RegExp(`exploring ${root}: 6 files, size small \\(\\d+ operations planned\\)`));
    expect(out.stdout).toMatch(/^# \S+ — codebase map$/m);
    expect(out.stdout).toMatch(/^## Languages \[analyze-map, analyze-languages\]$/m);
    expect(out.stdout).toMatch(/^- src\/index\.ts:3 TODO/m);
    expect(out.stdout).not.toContain(root);
    expect(Math.ceil(out.stdout.length / 4)).toBeLessThanOrEqual(8000);
    expect(out.stderr).toMatch(/wall time +\d+/);
    expect(out.stderr).toMatch(/speedup +[\d.]+×/);
    expect(out.stderr).not.toMatch(/failed \d*[1-9]/);
  });

  it('on the large size, plans only what the map reads, and prints the same map but for the operations its headers name', async () => {
    const small = await fanout(['explore-codebase', root, '--size', 'small', '--json']);
    const large = await fanout(['explore-codebase', root, '--size', 'large', '--json']);
    expect(large.code).toBe(0);
    expect(large.stderr).toMatch(new RegExp(`exploring ${root}: size large \\(9 operations planned: only those the map reads\\)`));
    type Json = { totals: { operations: number }; entryPoints: { items: unknown[]; ops: string[] }; markers: { ops: string[] }; keyFiles: { items: unknown[] } };
    const [whole, lean] = [JSON.parse(small.stdout) as Json, JSON.parse(large.stdout) as Json];
    expect(lean.entryPoints.ops).toEqual(['analyze-map']);
    expect(lean.markers.ops).toEqual(['analyze-markers']);
    expect(lean.entryPoints.items).toEqual(whole.entryPoints.items);
    expect(lean.keyFiles.items).toEqual(whole.keyFiles.items);
    expect(lean.keyFiles.items.length).toBeGreaterThan(0);
    expect(lean.totals.operations).toBe(9);
    // --no-map keeps the whole plan.
    const report = await fanout(['explore-codebase', root, '--size', 'large', '--no-map', '-q']);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/^# explore-codebase \(large\)/);
    expect(report.stdout).toContain('search-markers');
  });

  it('--budget bounds the text and says what it left out; --json has the whole map', async () => {
    const small = await fanout(['explore-codebase', root, '--budget', '300', '-q']);
    expect(small.code).toBe(0);
    expect(small.stdout.length).toBeLessThanOrEqual(1200 + 1);
    expect(small.stdout).toMatch(/^## Left out \(budget 300 tokens; --json has everything\)$/m);
    const json = await fanout(['explore-codebase', root, '--budget', '300', '--json']);
    const map = JSON.parse(json.stdout) as { languages: { rows: { language: string }[] }; text: { budgetTokens: number; omitted: string[] } };
    expect(map.languages.rows.map((r) => r.language)).toContain('TypeScript');
    expect(map.text.budgetTokens).toBe(300);
    expect(map.text.omitted.length).toBeGreaterThan(0);
    const bad = await fanout(['explore-codebase', root, '--budget', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected --budget to be a positive integer, got "lots"/);
  });

  it('--no-map prints the aggregated report, as before the map', async () => {
    const out = await fanout(['explore-codebase', root, '--no-map']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^# explore-codebase \(small\)/);
    expect(out.stdout).toContain(`\`${join(root, 'src/index.ts')}\``);
    expect(out.stdout).toMatch(/\*\*TODO\*\* .*src\/index\.ts:3:4/);
    expect(out.stdout).toMatch(/\*\*FIXME\*\* .*src\/math\.ts:2:/);
    expect(out.stdout).toMatch(/## ranked files/);
    expect(out.stderr).toMatch(/wall time +\d+/);
    expect(out.stderr).toMatch(/speedup +[\d.]+×/);
    expect(out.stderr).not.toMatch(/failed \d*[1-9]/);
  });

  it('explore is its alias; --json prints the report; --size and --pattern are honoured', async () => {
    const out = await fanout(['explore', root, '--json', '--no-map', '--size', 'medium', '--pattern', 'toUpperCase']);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as ReportJson;
    expect(report.title).toMatch(/explore-codebase \(medium\)/);
    const ids = report.operations.listed.map((o) => o.id);
    expect(ids).toContain('search-user-1');
    expect(report.operations.listed.every((o) => o.state === 'succeeded')).toBe(true);
    const matches = report.groups.find((g) => g.type === 'match')!;
    expect(matches.entries.map((e) => e.key)).toContain(`${join(root, 'src/util/strings.ts')}:1`);
    // With the map, the pattern's matches have a section of their own.
    const mapped = await fanout(['explore', root, '-q', '--pattern', 'toUpperCase']);
    expect(mapped.stdout).toMatch(/^## Your pattern \[search-user-1\]$/m);
    expect(mapped.stdout).toMatch(/^- src\/util\/strings\.ts:1 /m);
  });

  it('refuses a bad --size, two directories, and a directory that does not exist, with exit 2', async () => {
    const size = await fanout(['explore-codebase', root, '--size', 'huge']);
    expect(size.code).toBe(2);
    expect(size.stderr).toMatch(/expected --size small, medium or large, got "huge"/);
    const two = await fanout(['explore-codebase', root, root]);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/expected at most one directory, got 2/);
    const missing = await fanout(['explore-codebase', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope/);
  });
});

describe('fanout start', () => {
  it('discovers the project: structure, context and complexity in one parallel plan', async () => {
    const out = await fanout(['start', root, '--json']);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as ReportJson;
    const ops = report.operations.listed;
    // 4 structural checks, 6 context analyses, 3 complexity assessments; the manifest read fans out.
    expect(ops.filter((o) => /^check-[a-z]+$/.test(o.id))).toHaveLength(4);
    expect(ops.filter((o) => /^context-[a-z]+$/.test(o.id))).toHaveLength(6);
    expect(ops.filter((o) => /^complexity-[a-z]+$/.test(o.id))).toHaveLength(3);
    expect(ops.map((o) => o.id)).toContain('context-dependencies[0]');
    expect(ops.every((o) => o.state === 'succeeded')).toBe(true);
    const files = report.groups.find((g) => g.type === 'file')!.entries.map((e) => e.key);
    expect(files).toEqual(expect.arrayContaining([join(root, 'package.json'), join(root, 'README.md')]));
    expect(out.stderr).toMatch(/operations +14 \(14 succeeded\)/);
  });
});

describe('fanout explore-web', () => {
  let searx: Server;
  let pages: Server;
  let searxUrl: string;
  const searched: string[] = [];

  beforeAll(async () => {
    pages = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><head><title>page ${req.url}</title></head><body>about ${req.url}</body></html>`);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    const pageBase = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    // SearXNG's JSON format: every query returns the shared page first, plus one of its own.
    searx = createServer((req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams.get('q') ?? '';
      searched.push(q);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          query: q,
          results: [
            { url: `${pageBase}/shared?utm_source=feed`, title: 'Shared', content: 'everyone agrees', engine: 'duckduckgo', engines: ['duckduckgo'], score: 2 },
            { url: `${pageBase}/only/${encodeURIComponent(q)}`, title: q, content: 'just this one', engine: 'bing', engines: ['bing'], score: 1 },
          ],
          answers: [],
          suggestions: [],
          unresponsive_engines: [],
        }),
      );
    });
    await new Promise<void>((resolve) => searx.listen(0, '127.0.0.1', resolve));
    searxUrl = `http://127.0.0.1:${(searx.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => searx.close(resolve));
    await new Promise((resolve) => pages.close(resolve));
  });

  it('searches with the configured SearXNG, fetches what the searches agree on, and reports it', async () => {
    const out = await fanout(['explore-web', 'vector', 'databases', '--json'], { env: { SEARXNG_URL: searxUrl, BRAVE_API_KEY: undefined, TAVILY_API_KEY: undefined } });
    expect(out.code).toBe(0);
    expect(searched).toHaveLength(8);
    expect(searched.every((q) => /vector databases/i.test(q))).toBe(true);
    const report = JSON.parse(out.stdout) as ReportJson;
    const agreed = report.groups.find((g) => g.type === 'agreed URLs')!;
    expect(agreed.entries.map((e) => e.label)).toEqual([expect.stringMatching(/\/shared\?utm_source=feed — 8 searches agree, best rank 1$/)]);
    const urls = report.groups.find((g) => g.type === 'url')!.entries.map((e) => e.key);
    expect(urls).toHaveLength(9); // the shared page (tracking parameter dropped) and one per query
    expect(report.operations.listed.filter((o) => o.kind === 'fetch').every((o) => o.state === 'succeeded')).toBe(true);
  });

  it('says how to configure SearXNG, Brave or Tavily when no provider is, exit 2', async () => {
    const out = await fanout(['explore-web', 'anything'], { cwd: root, env: { SEARXNG_URL: undefined, BRAVE_API_KEY: undefined, FANOUT_BRAVE_API_KEY: undefined, TAVILY_API_KEY: undefined } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/no search provider is configured/);
    for (const name of ['SEARXNG_URL', 'BRAVE_API_KEY', 'TAVILY_API_KEY', 'fanout.config.json']) expect(out.stderr).toContain(name);
  });

  it('refuses an unknown --depth', async () => {
    const out = await fanout(['explore-web', 'x', '--depth', 'deep'], { env: { SEARXNG_URL: searxUrl } });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/expected --depth simple, complex or comprehensive, got "deep"/);
  });
});

describe('--report', () => {
  it('writes one self-contained HTML page with a bar per operation', async () => {
    const file = join(root, '..', `${root.split('/').pop()}-report.html`);
    try {
      const out = await fanout(['start', root, '--quiet', '--report', file]);
      expect(out.code).toBe(0);
      const html = await readFile(file, 'utf8');
      expect(html).toMatch(/^<!doctype html>/i);
      expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
      const bars = [...html.matchAll(/<rect class="bar" data-id="([^"]+)"/g)].map((m) => m[1]);
      for (const id of ['check-manifest', 'check-readme', 'context-languages', 'complexity-size', 'context-dependencies[0]']) expect(bars).toContain(id);
      expect(new Set(bars).size).toBe(13); // one per operation that ran (the fan-out parent runs nothing itself)
    } finally {
      await rm(file, { force: true });
    }
  });
});
