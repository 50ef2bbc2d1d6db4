import { readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, content, removeTree, textOf, tree, type Connected } from './helpers.js';

describe('fanout_read', () => {
  let root: string;
  let outside: string;
  let mcp: Connected;

  beforeAll(async () => {
    root = await tree({
      'src/a.ts': 'export const a = 1; // TODO tidy\nexport function f() {}\n',
      'src/b.ts': 'import { a } from "./a.js";\nexport const b = a + 1;\n',
      'docs/guide.md': '# Guide\n\nTODO: write it\n',
      'README.md': 'hello\n',
    });
    outside = await tree({ 'secret.txt': 'do not read\n' });
    await symlink(outside, join(root, 'escape'));
    mcp = await connect({ config: { roots: [root] } });
  });

  afterAll(async () => {
    await mcp.close();
    await removeTree(root);
    await removeTree(outside);
  });

  it('lists the tools with annotations a client can act on, and no fanout_run unless writes or commands are allowed', async () => {
    const { tools } = await mcp.client.listTools();
    const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
    expect(Object.keys(byName).sort()).toEqual(['fanout_cancel', 'fanout_explore_codebase', 'fanout_explore_web', 'fanout_read', 'fanout_status', 'fanout_web']);
    expect(byName.fanout_read!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(byName.fanout_web!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(byName.fanout_explore_codebase!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(byName.fanout_explore_web!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
    expect(byName.fanout_status!.annotations).toMatchObject({ readOnlyHint: true });
    // Each kind is listed with every field of its input, so a model needs no other documentation.
    const items = (byName.fanout_read!.inputSchema.properties as { operations: { items: { anyOf: { title: string; properties: { input: { properties: Record<string, unknown> } } }[] } } }).operations.items.anyOf;
    expect(items.map((item) => item.title)).toEqual(['glob', 'grep', 'read', 'analyze']);
    expect(Object.keys(items[1]!.properties.input.properties)).toEqual(expect.arrayContaining(['pattern', 'paths', 'ignoreCase', 'mode']));
    expect(byName.fanout_read!.outputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['handle', 'operations', 'text']) });
  });

  it('runs a batch with a $ref chain at once and answers with one entry per operation and a report for a model', async () => {
    const result = await mcp.client.callTool({
      name: 'fanout_read',
      arguments: {
        operations: [
          { id: 'ts', kind: 'glob', input: { pattern: 'src/**/*.ts' } },
          { id: 'todo', kind: 'grep', input: { pattern: 'TODO' } },
          { id: 'heads', kind: 'read', input: { paths: { $ref: 'ts', path: 'files' }, head: 1 } },
          { id: 'each', kind: 'read', input: { path: { $item: true } }, forEach: { $ref: 'ts', path: 'files' } },
          { id: 'stats', kind: 'analyze', input: { analyzer: 'stats' } },
        ],
      },
    });
    expect(result.isError).toBeUndefined();
    const c = content(result);
    expect(c).toMatchObject({ done: true, root, summary: { operations: 7, succeeded: 7, pending: 0 } });
    expect(c.operations.map((op) => [op.id, op.state])).toEqual([
      ['ts', 'succeeded'],
      ['todo', 'succeeded'],
      ['heads', 'succeeded'],
      ['each', 'succeeded'],
      ['stats', 'succeeded'],
      ['each[0]', 'succeeded'],
      ['each[1]', 'succeeded'],
    ]);
    expect(c.operations.find((op) => op.id === 'each[1]')).toMatchObject({ parent: 'each', attempts: 1 });
    expect(c.operations.find((op) => op.id === 'ts')!.output).toMatchObject({ files: [join(root, 'src/a.ts'), join(root, 'src/b.ts')], count: 2 });
    // What the result says it used is its length, the outputs it carries included.
    expect(c.budget.used).toBe(JSON.stringify(c).length);
    const text = textOf(result);
    // The structured result carries the outputs, so its text does not repeat what they hold
    // (a client showing the model the structured result would show every file twice); the
    // text content, for clients that show only that, has everything.
    expect(c.text).toContain("(What heads, each[0], each[1] returned is whole in their entries' output, not repeated here.)");
    expect(c.text).not.toContain('export function f() {}');
    expect(c.text.replace(/\n## Contents\n.*$/s, '')).toBe(text.replace(/\n## Contents\n.*$/s, ''));
    // Paths relative to the root; evidence by operation id; each pattern said once.
    expect(text).toContain(`paths relative to ${root}`);
    expect(text).toMatch(/^- src\/a\.ts · 1 match .*← (?=.*\bts\b)(?=.*\btodo\b)(?=.*\bheads\b).*$/m);
    expect(text).toMatch(/^- docs\/guide\.md:3:1: `TODO: write it` ← todo$/m);
    expect(text.match(/\/TODO\//g)).toHaveLength(1);
    expect(text).not.toContain(`${root}/src`);
    // Heads of the files read.
    // Heads of the files read: each file once, from the read that returned most of it.
    expect(text).toContain('### src/a.ts (heads, each[0]) — lines 1–2\n```\nexport const a = 1; // TODO tidy\nexport function f() {}\n```');
    expect(text.match(/^### src\/a\.ts/gm)).toHaveLength(1);
  });

  it('never fails the call for a failed operation: it is an entry with its code, and its dependents are skipped with the reason', async () => {
    const result = await mcp.client.callTool({
      name: 'fanout_read',
      arguments: {
        operations: [
          { id: 'gone', kind: 'read', input: { path: 'missing.txt' } },
          { id: 'after-gone', kind: 'grep', input: { pattern: 'x', paths: { $ref: 'gone', path: 'files.0.path' } } },
          { id: 'fine', kind: 'read', input: { path: 'README.md' } },
        ],
      },
    });
    expect(result.isError).toBeUndefined();
    const c = content(result);
    expect(c.operations).toEqual([
      expect.objectContaining({ id: 'gone', state: 'failed', error: expect.objectContaining({ code: 'FANOUT_NOT_FOUND' }) }),
      expect.objectContaining({ id: 'after-gone', state: 'skipped', error: expect.objectContaining({ code: 'FANOUT_DEPENDENCY_FAILED' }) }),
      expect.objectContaining({ id: 'fine', state: 'succeeded', output: expect.objectContaining({ files: [expect.objectContaining({ text: 'hello\n' })] }) }),
    ]);
    expect(c.text).toMatch(/`gone` read failed FANOUT_NOT_FOUND at path: .*missing\.txt.* — missing: the contents of missing\.txt/);
  });

  it('answers an invalid request with one error listing every problem with its path, and runs nothing', async () => {
    const result = await mcp.client.callTool({
      name: 'fanout_read',
      arguments: {
        budgetTokens: 'lots',
        operations: [
          { id: 'w', kind: 'write', input: { path: 'x', content: 'y' } },
          { id: 'w', kind: 'grep', input: { pattern: 1 } },
          { id: 'r', kind: 'read', input: { path: { $ref: 'nowhere' } } },
          { id: 'f', kind: 'fetch', input: { url: 'http://127.0.0.1:9/' } },
        ],
      },
    });
    expect(result.isError).toBe(true);
    const { error } = result.structuredContent as { error: { code: string; issues: { path: string; code: string }[] } };
    expect(error.code).toBe('FANOUT_PLAN_INVALID');
    expect(error.issues.map((issue) => [issue.path, issue.code])).toEqual([
      ['budgetTokens', 'FANOUT_INPUT_INVALID'],
      ['operations[0].kind', 'FANOUT_MCP_KIND_NOT_ALLOWED'],
      ['operations[3].kind', 'FANOUT_MCP_KIND_NOT_ALLOWED'],
      ['operations[1].input.pattern', 'FANOUT_INPUT_INVALID'],
      ['operations[1].id', 'FANOUT_PLAN_DUPLICATE_ID'],
      ['operations[2].input.path.$ref', 'FANOUT_PLAN_UNKNOWN_DEPENDENCY'],
    ]);
    // Some clients show only the text of an error: everything is there too.
    const text = textOf(result);
    expect(text).toMatch(/^FANOUT_PLAN_INVALID: fanout_read: the request has 6 problems; nothing ran/);
    expect(text).toContain('operations[0].kind: expected one of glob, grep, read, analyze, got "write": this server does not write files; start it with --allow-write');
    expect(text).toContain('operations[3].kind: expected one of glob, grep, read, analyze, got "fetch": use fanout_web for fetch and search');
    expect(text).toContain('operations[1].input.pattern: expected string, got number 1 [FANOUT_INPUT_INVALID]');
  });

  it('refuses a path outside the roots, through .. and through a symlink, as failed operations', async () => {
    const c = content(
      await mcp.client.callTool({
        name: 'fanout_read',
        arguments: {
          operations: [
            { id: 'up', kind: 'read', input: { path: `../${outside.split('/').pop()}/secret.txt` } },
            { id: 'abs', kind: 'read', input: { path: join(outside, 'secret.txt') } },
            { id: 'link', kind: 'read', input: { path: 'escape/secret.txt' } },
            { id: 'grep-link', kind: 'grep', input: { pattern: 'read', paths: ['escape'] } },
          ],
        },
      }),
    );
    for (const op of c.operations) expect(op, op.id).toMatchObject({ state: 'failed', error: { code: 'FANOUT_PATH_OUTSIDE_ROOT' } });
    expect(JSON.stringify(c)).not.toContain('do not read');
  });

  it('cuts a result larger than the budget, says what was cut, and writes all of it to the run directory, readable with fanout_read', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`gen/file${String(i).padStart(2, '0')}.txt`] = Array.from({ length: 80 }, (_, l) => `line ${l + 1} of file ${i}: needle here`).join('\n');
    const big = await tree(many);
    const local = await connect({ config: { roots: [big] } });
    try {
      const result = await local.client.callTool({
        name: 'fanout_read',
        arguments: {
          budgetTokens: 2000,
          operations: [
            { id: 'files', kind: 'glob', input: { pattern: 'gen/*.txt' } },
            { id: 'needles', kind: 'grep', input: { pattern: 'needle' } },
            { id: 'all', kind: 'read', input: { paths: { $ref: 'files', path: 'files' } } },
          ],
        },
      });
      const c = content(result);
      expect(JSON.stringify(c).length).toBeLessThanOrEqual(2000 * 4);
      expect(c.budget).toMatchObject({ tokens: 2000, chars: 8000, fits: true });
      expect(c.budget.used).toBe(JSON.stringify(c).length);
      expect(c.cut).toMatchObject({ text: true });
      expect(c.cut!.outputs).toBeGreaterThan(0);
      expect(c.operations.filter((op) => op.outputOmitted === true).length).toBe(c.cut!.outputs);
      expect(c.text).toMatch(/## Cut to the output budget\nShown: \d+ of 60 files; \d+ of 4,800 matches; \d+ of 60 contents at most \d+ lines? each/);
      expect(c.text).toContain(c.spill!.report);
      const full = await readFile(c.spill!.report, 'utf8');
      expect(full).toContain('gen/file59.txt:80:');
      expect(full).not.toContain('## Cut to the output budget');
      const saved = JSON.parse(await readFile(c.spill!.results, 'utf8')) as { operations: { id: string; output?: { files?: unknown[] } }[] };
      expect(saved.operations.find((op) => op.id === 'all')!.output!.files).toHaveLength(60);
      expect((await stat(c.spill!.dir)).mode & 0o777).toBe(0o700);
      // A model pages through the spilled text with the same tool.
      const page = content(await local.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'more', kind: 'read', input: { path: c.spill!.report, from: 1, to: 3 } }] } }));
      expect(page.operations[0]).toMatchObject({ state: 'succeeded', output: { files: [{ ok: true, text: expect.stringMatching(/^# fanout_read/) }] } });
    } finally {
      await local.close();
      await removeTree(big);
    }
    // Closing the server removes what it spilled.
    await expect(stat(join(big))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
