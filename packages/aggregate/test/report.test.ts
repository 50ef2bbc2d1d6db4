import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator, CHARS_PER_TOKEN, renderMarkdown, reportJsonSchema, reportSchema, type Report } from '../src/index.js';
import { entry, group, grepOutput, ok, rgFile } from './helpers/report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-aggregate-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A run's worth of results: 40 files, 400 matches, 60 URLs, a failure and a problem. */
function busy(): Aggregator {
  const aggregator = new Aggregator({
    plan: { operations: [{ id: 'gone', kind: 'grep', input: { pattern: 'TODO', paths: ['/r/lib'] } }] },
  });
  aggregator.add(ok('list', 'glob', { files: Array.from({ length: 40 }, (_, i) => `/r/src/f${i}.ts`), count: 40, truncated: false }));
  for (let g = 0; g < 4; g++) {
    const messages = Array.from({ length: 10 }, (_, f) =>
      rgFile(
        `/r/src/f${f * 4 + g}.ts`,
        Array.from({ length: 10 }, (_, l) => [l + 1, `line ${l + 1} has a | pipe and \`ticks\` TODO`] as [number, string]),
      ),
    ).flat();
    aggregator.add(ok(`g${g}`, 'grep', grepOutput(messages)));
  }
  for (let s = 0; s < 3; s++) {
    aggregator.add(
      ok(`s${s}`, 'search', {
        query: `query ${s}`,
        provider: 'brave',
        tried: ['brave'],
        results: Array.from({ length: 20 }, (_, r) => ({ title: `Result [${r}] *bold*`, url: `https://site${r % 7}.io/p/${r + s * 10}`, snippet: 'a snippet', rank: r + 1, provider: 'brave' })),
      }),
    );
  }
  aggregator.add(ok('b', 'bash', { exitCode: 0, signal: null, stdout: 'has ``` fences\n', stderr: '', durationMs: 1, truncated: { stdout: false, stderr: false }, command: ['echo', 'x'] }));
  aggregator.add({ id: 'gone', kind: 'grep', state: 'failed', error: { code: 'FANOUT_NOT_FOUND', message: 'expected /r/lib to exist, but it does not', path: 'paths[0]' } });
  aggregator.add(ok('r', 'read', { files: [{ path: '/r/x', ok: false, error: { code: 'FANOUT_IS_DIRECTORY', message: 'expected a file at /r/x, got a directory' } }] }));
  return aggregator;
}

describe('the report schema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(reportJsonSchema());

  it('validates reports of every shape, budgeted or not', async () => {
    const reports: Report[] = [
      await new Aggregator().report(),
      await busy().report({ budget: false }),
      await busy().report({ budget: { chars: 4_000 }, spillDir: dir }),
      await busy().report({ budget: { tokens: 800 }, format: 'json', spillDir: dir }),
    ];
    for (const report of reports) {
      // A JSON round trip: what a consumer of the published schema receives.
      const json = JSON.parse(JSON.stringify(report)) as unknown;
      expect(validate(json), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      expect(reportSchema.safeParse(json).success).toBe(true);
    }
  });

  it('is a draft 2020-12 schema that rejects what is not a report', () => {
    const schema = reportJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(validate({ version: 2 })).toBe(false);
  });
});

describe('markdown', () => {
  it('renders failures first, then ranked groups, escaping what Markdown would misread', async () => {
    const md = renderMarkdown(await busy().report({ budget: false }));
    const failures = md.indexOf('## Failures and what is missing');
    expect(failures).toBeGreaterThan(0);
    expect(md.indexOf('## URLs')).toBeGreaterThan(failures);
    expect(md).toContain('- `gone` (grep, failed, FANOUT_NOT_FOUND at `paths[0]`): expected /r/lib to exist, but it does not — **missing:** matches of /TODO/ in /r/lib');
    expect(md).toContain('- `r` (read, FANOUT_IS_DIRECTORY): could not read /r/x: expected a file at /r/x, got a directory — **missing:** the contents of /r/x');
    expect(md).toContain('[Result \\[0\\] \\*bold\\*](https://site0.io/p/0)');
    expect(md).toContain('``line 1 has a | pipe and `ticks` TODO``');
    expect(md).toContain('   ````\n   has ``` fences\n   ````');
    expect(md).toContain('**Partial result:** 1 operation did not succeed; 1 problem inside operations that did.');
  });
});

describe('the output budget', () => {
  it('leaves a report that fits as it is', async () => {
    const report = await busy().report({ budget: { tokens: 1_000_000 }, spillDir: dir });
    expect(report.spill).toBeUndefined();
    expect(report.budget).toMatchObject({ unit: 'tokens', limit: 1_000_000, limitChars: 1_000_000 * CHARS_PER_TOKEN, fits: true, used: renderMarkdown(report).length });
  });

  it('spills what does not fit to a file, and keeps a preview that does', async () => {
    const full = await busy().report({ budget: false, limit: 1_000 });
    const report = await busy().report({ budget: { chars: 5_000 }, spillDir: dir });
    const md = renderMarkdown(report);
    expect(md.length).toBeLessThanOrEqual(5_000);
    expect(report.budget).toMatchObject({ fits: true, used: md.length, limitChars: 5_000 });
    // The preview keeps the best entries of each group, and the failures.
    const matches = group(report, 'match');
    expect(matches.entries.length).toBeGreaterThan(0);
    expect(matches.entries.length).toBeLessThan(group(full, 'match').entries.length);
    expect(matches.entries.map((e) => e.key)).toEqual(
      group(full, 'match')
        .entries.slice(0, matches.entries.length)
        .map((e) => e.key),
    );
    expect(report.failures.listed).toHaveLength(1);
    // The spill file is the whole report, referenced with its size.
    const spill = report.spill!;
    expect(spill.path.startsWith(dir)).toBe(true);
    const text = await readFile(spill.path, 'utf8');
    expect(text.length).toBe(spill.chars);
    expect(text).toContain('/r/src/f39.ts:10');
    expect(md).toContain(spill.path);
    expect(md).toContain('more in the full report');
  });

  it('measures the JSON rendering when asked, and spills JSON', async () => {
    const report = await busy().report({ budget: { tokens: 2_000 }, format: 'json', spillDir: dir });
    expect(JSON.stringify(report).length).toBeLessThanOrEqual(8_000);
    expect(report.budget).toMatchObject({ format: 'json', used: JSON.stringify(report).length, fits: true });
    const spilled = JSON.parse(await readFile(report.spill!.path, 'utf8')) as Report;
    expect(group(spilled, 'match').entries).toHaveLength(400);
  });

  it('cuts the Markdown when even the smallest preview is too long, pointing at the full report', async () => {
    const report = await busy().report({ budget: { chars: 300 }, spillDir: dir });
    expect(report.budget?.fits).toBe(false);
    const md = renderMarkdown(report);
    expect(md.length).toBeLessThanOrEqual(300);
    expect(md).toContain('… cut at the output budget (300 characters); the full report is in');
  });

  it('says so when the spill file cannot be written, and still fits the preview', async () => {
    const report = await busy().report({ budget: { chars: 5_000 }, spillDir: join(dir, 'no', 'such', 'dir') });
    expect(report.spill).toBeUndefined();
    expect(report.notes.total).toBe(1);
    expect(renderMarkdown(report).length).toBeLessThanOrEqual(5_000);
  });
});

describe('real paths', () => {
  it('merges entries whose paths are one file through a symlink, on request', async () => {
    const root = join(dir, 'repo');
    await mkdir(join(root, 'src'), { recursive: true });
    await writeFile(join(root, 'src', 'a.ts'), 'TODO\n');
    await symlink(join(root, 'src'), join(root, 'alias'));
    const make = () => {
      const aggregator = new Aggregator();
      aggregator.add(ok('g1', 'grep', grepOutput(rgFile(join(root, 'src', 'a.ts'), [[1, 'TODO']]))));
      aggregator.add(ok('g2', 'grep', grepOutput(rgFile(join(root, 'alias', 'a.ts'), [[1, 'TODO']]))));
      aggregator.add(ok('list', 'glob', { files: [join(root, 'alias', 'a.ts'), join(root, 'gone.ts')], count: 2, truncated: false }));
      return aggregator;
    };
    const lexical = await make().report({ budget: false });
    expect(group(lexical, 'file').held).toBe(3);
    const real = await make().report({ budget: false, realPaths: true });
    const file = await realpath(join(root, 'src', 'a.ts'));
    expect(group(real, 'file').held).toBe(2);
    expect(entry(real, 'file', file)).toMatchObject({ sources: 3, path: file });
    expect(entry(real, 'match', `${file}:1`)).toMatchObject({ sources: 2, confidence: 0.75 });
    expect(entry(real, 'file', join(root, 'gone.ts')).sources).toBe(1);
  });
});
