import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, validatePlan } from '@fanout/scheduler';
import { aggregate } from '@fanout/aggregate';
import { adaptersFromConfig, exploreCodebase, exploreCodebasePlan, exploreWeb, partitionTree, PROFILES, startPlan, STEP_EXTRACTORS, webQueries, type ConfiguredAdapters } from '../src/index.js';

let root: string;
let configured: ConfiguredAdapters;

async function tree(base: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), content);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-plans-'));
  await tree(root, {
    'package.json': JSON.stringify({ name: 'demo', scripts: { build: 'tsc', test: 'vitest' }, dependencies: { zod: '4' } }, null, 2),
    // As npm writes it (two-space indent: packages four spaces in).
    'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/zod': { version: '4.0.0' }, 'node_modules/left-pad': { version: '1.0.0' } } }, null, 2),
    'README.md': '# demo\n',
    'tsconfig.json': '{}\n',
    'src/index.ts': 'export function main() {\n  // TODO: wire the CLI\n  return process.env.HOME;\n}\n',
    'src/util.ts': 'export const add = (a: number, b: number) => a + b;\n// FIXME overflow\n',
    'test/util.test.ts': "import { add } from '../src/util';\ndescribe('add', () => { it('adds', () => {}); });\n",
    'docs/guide.md': '# Guide\n',
  });
  await mkdir(join(root, '.git'));
  configured = await adaptersFromConfig({ roots: [root] });
  // Loading every adapter family is a few hundred ms alone, far more on a machine running other suites.
}, 60_000);

afterAll(async () => {
  await configured.close();
  await rm(root, { recursive: true, force: true });
});

const countWithGlob = async (dir: string, limit: number): Promise<number> => {
  const result = await createScheduler({ adapters: configured.adapters }).execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**', cwd: dir, maxResults: limit } }] });
  return (result.get('count')!.output as { count: number }).count;
};

/** The pids of this process's children that are spawn-server workers (Linux /proc). */
function spawnWorkers(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('fanout-spawn-worker')) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe('adaptersFromConfig', () => {
  it('builds the bash adapter with the configured spawner and closes its workers', async () => {
    for (const spawner of ['direct', 'server'] as const) {
      const shell = await adaptersFromConfig({ roots: [root], shell: { spawner } }, ['bash']);
      try {
        const result = await createScheduler({ adapters: shell.adapters }).execute({
          operations: [{ id: 'pwd', kind: 'bash', input: { command: ['sh', '-c', 'pwd; echo "$X"; exit 3'], cwd: root, env: { X: spawner, PATH: '/usr/bin:/bin' }, okExitCodes: [3] } }],
        });
        expect(result.get('pwd')!.output).toMatchObject({ stdout: `${realpathSync(root)}\n${spawner}\n`, exitCode: 3 });
        // The server's workers are this process's children, and wait for the next command.
        expect(spawnWorkers()).toHaveLength(spawner === 'server' ? 1 : 0);
      } finally {
        await shell.close();
      }
      expect(spawnWorkers()).toEqual([]);
    }
  });
});

describe('adaptersFromConfig: grep.engine', () => {
  const RG = spawnSync('rg', ['--version']).status === 0;

  async function grepWith(engine: 'auto' | 'ripgrep' | 'builtin'): Promise<{ files: number | undefined; matchedLines: number }> {
    const grep = await adaptersFromConfig({ roots: [root], grep: { engine } }, ['grep']);
    try {
      const result = await createScheduler({ adapters: grep.adapters }).execute({ operations: [{ id: 'g', kind: 'grep', input: { pattern: 'TODO', mode: 'count' } }] });
      const output = result.get('g')!.output as { stats: { files?: number; matchedLines: number } };
      return { files: output.stats.files, matchedLines: output.stats.matchedLines };
    } finally {
      await grep.close();
    }
  }

  it('runs the built-in engine on request (it counts every file searched)', async () => {
    const builtin = await grepWith('builtin');
    expect(builtin.files).toBeGreaterThan(0);
    expect(builtin.matchedLines).toBeGreaterThan(0);
  });

  it.skipIf(!RG)('runs ripgrep on request and by default when rg is on PATH, with the same matches', async () => {
    const builtin = await grepWith('builtin');
    // The ripgrep engine sees only the files that matched: it leaves the walk's counts out.
    expect(await grepWith('ripgrep')).toEqual({ files: undefined, matchedLines: builtin.matchedLines });
    expect(await grepWith('auto')).toEqual({ files: undefined, matchedLines: builtin.matchedLines });
  });

  it('refuses engine "ripgrep" without rg on PATH, naming what it expected; auto then uses the built-in engine', async () => {
    const path = process.env.PATH;
    process.env.PATH = root;
    try {
      await expect(adaptersFromConfig({ roots: [root], grep: { engine: 'ripgrep' } }, ['grep'])).rejects.toMatchObject({
        code: 'FANOUT_RIPGREP_NOT_FOUND',
        message: expect.stringMatching(/expected ripgrep \(rg, 13 or newer\) on PATH for grep\.engine "ripgrep", got no rg/),
      });
      expect((await grepWith('auto')).files).toBeGreaterThan(0);
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('exploreCodebase', () => {
  it('sizes by counting files, and runs end to end: discover, search, rank, read, analyse', async () => {
    const { plan, size, files } = await exploreCodebase(root, { countFiles: countWithGlob, patterns: ['add\\('] });
    expect(files).toBe(8);
    expect(size.name).toBe('small');
    const kinds = plan.operations.map((op) => op.kind);
    expect(kinds.filter((k) => k === 'glob')).toHaveLength(5); // the profile's 4 and the map's CI glob
    expect(kinds.filter((k) => k === 'grep')).toHaveLength(7); // the profile's 6 and the user's
    const result = await createScheduler({ adapters: configured.adapters }).execute(plan);
    expect(result.summary.byState.failed).toBe(0);
    expect(result.get('discover-docs')!.output).toMatchObject({ files: [join(root, 'README.md'), join(root, 'docs/guide.md')] });
    const markers = result.get('search-markers')!.output as { stats: { matches: number } };
    expect(markers.stats.matches).toBe(2);
    const ranked = result.get('rank')!.output as { files: string[] };
    expect(ranked.files[0]).toBe(join(root, 'src/index.ts'));
    const reads = result.get('read-top')!.output as { files: { path: string; ok: boolean }[] }[];
    expect(reads.flatMap((r) => r.files.map((f) => f.path))).toContain(join(root, 'src/index.ts'));
    expect((result.get('analyze-languages')!.output as { languages: Record<string, unknown> }).languages).toHaveProperty('TypeScript');
    // The report shows the ranking, each file saying why it stands where it does.
    const report = await aggregate(result, { plan, extractors: STEP_EXTRACTORS });
    const ranking = report.groups.find((g) => g.type === 'ranked files')!;
    expect(ranking.entries[0]!.label).toMatch(new RegExp(`^${join(root, 'src/index.ts')} — found by \\d+ searches, \\d+ matching lines?$`));
    expect(report.operations.listed.find((o) => o.id === 'rank')!.detail).toMatch(/^the top \d+ files of 7 searches$/);
    expect(report.notes.listed.join('\n')).not.toMatch(/no extractor/);
  });

  it('explores an empty tree and a tree of two files without a failure', async () => {
    for (const files of [{}, { 'a.ts': 'export const a = 1;\n', 'README.md': '# two\n' }] as Record<string, string>[]) {
      const dir = await mkdtemp(join(tmpdir(), 'fanout-tiny-'));
      const local = await adaptersFromConfig({ roots: [dir] }, ['glob', 'grep', 'read', 'analyze']);
      try {
        await tree(dir, files);
        const count = async (at: string, limit: number): Promise<number> => {
          const counted = await createScheduler({ adapters: local.adapters }).execute({ operations: [{ id: 'n', kind: 'glob', input: { pattern: '**', cwd: at, maxResults: limit } }] });
          return (counted.get('n')!.output as { count: number }).count;
        };
        const { plan } = await exploreCodebase(dir, { countFiles: count });
        const result = await createScheduler({ adapters: local.adapters }).execute(plan);
        const problems = [...result.operations()].filter((o) => o.state !== 'succeeded').map((o) => `${o.id} ${o.state}: ${(o.error as Error | undefined)?.message}`);
        expect(problems, `${Object.keys(files).length} files`).toEqual([]);
        const ranked = result.get('rank')!.output as { groups: string[][] };
        expect(ranked.groups.every((g) => g.length > 0)).toBe(true);
      } finally {
        await local.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('plans the sizes with the profile’s numbers', () => {
    const parts = [['a'], ['b'], ['c'], ['d']];
    for (const size of PROFILES['explore-codebase']!.sizes) {
      const plan = exploreCodebasePlan(root, size, parts, { map: false });
      const count = (kind: string) => plan.operations.filter((op) => op.kind === kind).length;
      expect([count('glob'), count('grep')]).toEqual([size.operations.glob, size.operations.grep]);
      expect(validatePlan(plan, new Map(configured.adapters.map((a) => [a.kind, a]))).ok).toBe(true);
      // The map adds its analysis, and the CI glob where the size has none.
      const mapped = exploreCodebasePlan(root, size, parts);
      const added = mapped.operations.map((op) => op.id).filter((id) => !plan.operations.some((op) => op.id === id));
      expect(added).toEqual(plan.operations.some((op) => op.id === 'discover-ci') ? ['analyze-map'] : ['analyze-map', 'discover-ci']);
      expect(validatePlan(mapped, new Map(configured.adapters.map((a) => [a.kind, a]))).ok).toBe(true);
    }
  });

  it('keeps, with mapOnly on the large size, only what the map reads: the same exports searches, the config and CI globs, the analyses', () => {
    const parts = [['a'], ['b'], ['c'], ['d']];
    const sizes = PROFILES['explore-codebase']!.sizes;
    const large = sizes.find((size) => size.name === 'large')!;
    const options = { languages: ['TypeScript', 'Rust'], patterns: ['needle'] };
    const whole = exploreCodebasePlan(root, large, parts, options);
    const lean = exploreCodebasePlan(root, large, parts, { ...options, mapOnly: true });
    const ids = lean.operations.map((op) => op.id);
    expect(ids).toEqual([
      'discover-config',
      'discover-ci',
      // Eight patterns share the size's 24 searches: each over three parts of the tree, as in the whole plan.
      ...['exports-js', 'exports-rust', 'user-1'].flatMap((id) => [1, 2, 3].map((g) => `search-${id}-${g}`)),
      'analyze-languages',
      'analyze-markers',
      'analyze-map',
    ]);
    // Each operation kept is the whole plan's own: its searches over the same parts, with the same caps.
    for (const op of lean.operations) expect(op).toEqual(whole.operations.find((other) => other.id === op.id));
    expect(validatePlan(lean, new Map(configured.adapters.map((a) => [a.kind, a]))).ok).toBe(true);
    // The smaller sizes, and the plan without the map, keep everything.
    for (const size of sizes.filter((s) => s.name !== 'large')) {
      expect(exploreCodebasePlan(root, size, parts, { ...options, mapOnly: true })).toEqual(exploreCodebasePlan(root, size, parts, options));
    }
    expect(exploreCodebasePlan(root, large, parts, { ...options, map: false, mapOnly: true })).toEqual(exploreCodebasePlan(root, large, parts, { ...options, map: false }));
  });

  it('partitions the top of the tree as a walk would see it: no hidden, ignored, node_modules or linked entries', async () => {
    const top = await mkdtemp(join(tmpdir(), 'fanout-partition-'));
    const outside = await mkdtemp(join(tmpdir(), 'fanout-outside-'));
    try {
      await tree(top, { '.gitignore': 'build/\ncoverage\n', 'a.ts': '', 'b/x.ts': '', 'c/y.ts': '', 'build/out.js': '', 'coverage/lcov.info': '', '.cache/z': '', 'node_modules/m/index.js': '' });
      await symlink(outside, join(top, 'linked'));
      expect(await partitionTree(top, 2)).toEqual([['a.ts', 'c'], ['b']]);
      expect(await partitionTree(top, 1)).toEqual([['.']]);
      expect(await partitionTree(join(top, 'missing'), 3)).toEqual([['.']]);
    } finally {
      await rm(top, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('takes a named size without counting', async () => {
    const { size, files } = await exploreCodebase(root, { size: 'large' });
    expect(size.name).toBe('large');
    expect(files).toBeUndefined();
  });
});

describe('startPlan', () => {
  it('runs 4 structural checks, 6 context analyses and 3 complexity assessments at once', async () => {
    const plan = startPlan(root);
    const ids = plan.operations.map((op) => op.id);
    expect(ids.filter((id) => id.startsWith('check-'))).toHaveLength(4);
    expect(ids.filter((id) => id.startsWith('context-'))).toHaveLength(6);
    expect(ids.filter((id) => id.startsWith('complexity-'))).toHaveLength(3);
    const result = await createScheduler({ adapters: configured.adapters }).execute(plan);
    expect(result.summary.byState.failed).toBe(0);
    expect((result.get('check-manifest')!.output as { files: string[] }).files).toEqual([join(root, 'package.json')]);
    expect((result.get('check-vcs')!.output as { files: string[] }).files).toContain(join(root, '.git'));
    expect((result.get('context-dependencies')!.output as { files: { text: string }[] }[])[0]!.files[0]!.text).toContain('"zod"');
    const deps = result.get('complexity-dependencies')!.output as { stats: { matchedLines: number } };
    expect(deps.stats.matchedLines).toBe(2);
    const largest = result.get('complexity-largest')!.output as { largest: { path: string }[] };
    expect(largest.largest[0]!.path).toBe(join(root, 'package-lock.json'));
  });
});

describe('exploreWeb', () => {
  let searx: Server;
  let pages: Server;
  let pageBase: string;
  const searched: string[] = [];

  beforeAll(async () => {
    pages = createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><title>${req.url}</title></html>`);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageBase = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    // A SearXNG instance in its documented JSON format: every query returns the shared page
    // first, plus one page of its own.
    searx = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const q = url.searchParams.get('q') ?? '';
      searched.push(q);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          query: q,
          results: [
            { url: `${pageBase}/shared?utm_source=x`, title: 'Shared', content: 'everyone agrees', engine: 'duckduckgo', engines: ['duckduckgo'], score: 2, category: 'general' },
            { url: `${pageBase}/only/${encodeURIComponent(q)}`, title: q, content: 'just this one', engine: 'bing', engines: ['bing'], score: 1, category: 'general' },
          ],
          answers: [],
          corrections: [],
          infoboxes: [],
          suggestions: [],
          unresponsive_engines: [],
        }),
      );
    });
    await new Promise<void>((resolve) => searx.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => searx.close(resolve));
    await new Promise((resolve) => pages.close(resolve));
  });

  it('builds the query matrix, 8 / 16 / 32, without duplicates', () => {
    expect(webQueries('vector databases', 'simple')).toHaveLength(8);
    expect(webQueries('vector databases', 'complex')).toHaveLength(16);
    const comprehensive = webQueries('vector databases', 'comprehensive');
    expect(comprehensive).toHaveLength(32);
    expect(new Set(comprehensive.map((q) => q.query.toLowerCase())).size).toBe(32);
    expect(comprehensive.filter((q) => q.category === 'primary')).toHaveLength(8);
    expect(comprehensive.filter((q) => q.category === 'security')).toHaveLength(2);
  });

  it('searches, fetches what several searches agree on, end to end against local servers', async () => {
    const web = await adaptersFromConfig({ roots: [root], search: { searxng: { url: `http://127.0.0.1:${(searx.address() as AddressInfo).port}` } } }, ['search', 'fetch']);
    try {
      const plan = exploreWeb('vector databases', { depth: 'simple' });
      const result = await createScheduler({ adapters: web.adapters }).execute(plan);
      expect(result.summary.byState.failed).toBe(0);
      expect(searched).toHaveLength(8);
      expect((result.get('agree')!.output as { urls: string[] }).urls).toEqual([`${pageBase}/shared?utm_source=x`]);
      const fetched = result.get('fetch-agreed')!.output as { status: number; text: string }[];
      expect(fetched).toHaveLength(1);
      expect(fetched[0]!.status).toBe(200);
      expect(fetched[0]!.text).toContain('/shared');
    } finally {
      await web.close();
    }
  });

  it('says how to configure a provider when none is', async () => {
    const web = await adaptersFromConfig({ roots: [root] }, ['search', 'fetch']);
    try {
      const result = await createScheduler({ adapters: web.adapters }).execute(exploreWeb('x'), { failure: 'continue' });
      const error = result.get('search-1')!.error as { code: string; message: string };
      expect(error.code).toBe('FANOUT_SEARCH_NOT_CONFIGURED');
      expect(error.message).toContain('SEARXNG_URL');
    } finally {
      await web.close();
    }
  });
});
