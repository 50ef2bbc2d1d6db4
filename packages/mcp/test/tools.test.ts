import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FanoutMcpError, type TextRenderer } from '../src/index.js';
import { connect, content, removeTree, textOf, tree } from './helpers.js';

describe('fanout_run, fanout_web and the explore tools', () => {
  let root: string;
  let http: Server;
  let base: string;

  beforeAll(async () => {
    root = await tree({
      'package.json': '{ "name": "demo" }\n',
      'src/index.ts': 'export function main() {\n  // TODO: parse the arguments\n  return 0;\n}\n',
      'src/util.ts': 'export const twice = (n: number) => n * 2;\n',
      'test/util.test.ts': "import { twice } from '../src/util.js';\ndescribe('twice', () => it('doubles', () => twice(2)));\n",
      'README.md': '# demo\n',
    });
    http = createServer((req, res) => {
      if (req.url === '/page') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><head><title>Local page</title></head><body>hello from the page</body></html>');
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => http.close(resolve));
    await removeTree(root);
  });

  it('offers fanout_run with the kinds allowed, and refuses the others with a coded error naming the flag', async () => {
    const mcp = await connect({ config: { roots: [root] }, allowWrite: true });
    try {
      const { tools } = await mcp.client.listTools();
      const run = tools.find((tool) => tool.name === 'fanout_run')!;
      expect(run.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
      const kinds = (run.inputSchema.properties as { operations: { items: { anyOf: { title: string }[] } } }).operations.items.anyOf.map((item) => item.title);
      expect(kinds).toEqual(['glob', 'grep', 'read', 'analyze', 'fetch', 'search', 'write']);

      const wrote = content(
        await mcp.client.callTool({
          name: 'fanout_run',
          arguments: {
            operations: [
              { id: 'w', kind: 'write', input: { path: 'out/notes.md', content: 'written\n', mkdirp: true } },
              { id: 'r', kind: 'read', input: { path: 'out/notes.md' }, after: ['w'] },
            ],
          },
        }),
      );
      expect(wrote.operations.map((op) => op.state)).toEqual(['succeeded', 'succeeded']);
      expect(await readFile(join(root, 'out/notes.md'), 'utf8')).toBe('written\n');

      const refused = await mcp.client.callTool({ name: 'fanout_run', arguments: { operations: [{ id: 'b', kind: 'bash', input: { command: ['true'] } }] } });
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toContain('operations[0].kind: expected one of glob, grep, read, analyze, fetch, search, write, got "bash": this server does not run commands; start it with --allow-shell');
      expect((refused.structuredContent as { error: { issues: { code: string }[] } }).error.issues[0]!.code).toBe('FANOUT_MCP_KIND_NOT_ALLOWED');
    } finally {
      await mcp.close();
    }
  });

  it('runs commands with --allow-shell, inside the roots, their output in the report', async () => {
    const mcp = await connect({ config: { roots: [root] }, allowShell: true });
    try {
      const result = await mcp.client.callTool({
        name: 'fanout_run',
        arguments: {
          operations: [
            { id: 'pwd', kind: 'bash', input: { command: ['pwd'] } },
            { id: 'out', kind: 'bash', input: { command: ['pwd'], cwd: '..' } },
          ],
        },
      });
      const c = content(result);
      expect(c.operations[0]).toMatchObject({ state: 'succeeded', output: { exitCode: 0, stdout: `${root}\n` } });
      expect(c.operations[1]).toMatchObject({ state: 'failed', error: { code: 'FANOUT_PATH_OUTSIDE_ROOT' } });
      expect(textOf(result)).toContain('### output of pwd (exit 0)');
    } finally {
      await mcp.close();
    }
  });

  it('fetches with fanout_web: pages and their heads, a 404 as a problem beside them', async () => {
    const mcp = await connect({ config: { roots: [root] } });
    try {
      const result = await mcp.client.callTool({
        name: 'fanout_web',
        arguments: {
          operations: [
            { id: 'page', kind: 'fetch', input: { url: `${base}/page`, as: 'text' } },
            { id: 'lost', kind: 'fetch', input: { url: `${base}/missing`, as: 'text' } },
          ],
        },
      });
      const c = content(result);
      expect(c.operations[0]).toMatchObject({ state: 'succeeded', output: { status: 200 } });
      expect(c.text).toMatch(new RegExp(`- Local page — ${base}/page \\(HTTP 200\\) ← page`));
      expect(textOf(result)).toContain('hello from the page');
      expect(c.text).toMatch(/`lost` fetch (FANOUT_HTTP_STATUS|failed)/);
    } finally {
      await mcp.close();
    }
  });

  it('explores a codebase with the profile and answers with the codebase map, text from a renderer that can be replaced', async () => {
    const mcp = await connect({ config: { roots: [root] } });
    try {
      const c = content(await mcp.client.callTool({ name: 'fanout_explore_codebase', arguments: {} }));
      expect(c.done).toBe(true);
      expect(c.summary.succeeded).toBe(c.summary.operations);
      expect(c.operations.map((op) => op.id)).toEqual(expect.arrayContaining(['discover-source', 'search-markers', 'rank', 'read-top', 'analyze-languages', 'analyze-map']));
      // The same renderer as the CLI's: the map's sections, each naming its operations.
      expect(c.text).toMatch(/^# \S+ — codebase map/);
      expect(c.text).toMatch(/^## Languages \[analyze-map, analyze-languages\]$/m);
      expect(c.text).toMatch(/^\| TypeScript \| \d+ \| \d+ \| \d+ \| \d+ \|$/m);
      expect(c.text).toMatch(/^## Markers \[.*analyze-markers.*\]$/m);
      expect(c.text).toMatch(/^- src\/index\.ts:2 TODO: parse the arguments$/m);
      expect(c.text).not.toContain(root);
    } finally {
      await mcp.close();
    }
    const map: TextRenderer = (input) => `map of ${input.operations.length} operations`;
    const swapped = await connect({ config: { roots: [root] }, renderers: { exploreCodebase: map } });
    try {
      const c = content(await swapped.client.callTool({ name: 'fanout_explore_codebase', arguments: { size: 'small' } }));
      expect(c.text).toBe(`map of ${c.operations.length} operations`);
      // A renderer of its own may read any operation: a large tree keeps the whole plan.
      const large = content(await swapped.client.callTool({ name: 'fanout_explore_codebase', arguments: { size: 'large' } }));
      expect(large.operations.map((op) => op.id)).toEqual(expect.arrayContaining(['discover-source', 'rank', 'read-top']));
    } finally {
      await swapped.close();
    }
  });

  it('plans only the operations the codebase map reads on a large tree, with the same map', async () => {
    const mcp = await connect({ config: { roots: [root] } });
    try {
      const c = content(await mcp.client.callTool({ name: 'fanout_explore_codebase', arguments: { size: 'large' } }));
      expect(c.done).toBe(true);
      expect(c.summary.succeeded).toBe(c.summary.operations);
      const ids = c.operations.map((op) => op.id);
      expect(ids).toEqual(expect.arrayContaining(['discover-config', 'discover-ci', 'analyze-languages', 'analyze-markers', 'analyze-map']));
      expect(ids.some((id) => id.startsWith('search-exports'))).toBe(true);
      expect(ids).not.toContain('discover-source');
      expect(ids).not.toContain('rank');
      expect(ids).not.toContain('read-top');
      expect(c.text).toMatch(/^\| TypeScript \| \d+ \| \d+ \| \d+ \| \d+ \|$/m);
      expect(c.text).toMatch(/^- src\/index\.ts:2 TODO: parse the arguments$/m);
    } finally {
      await mcp.close();
    }
  });

  it('refuses to explore a directory outside the roots, and bad arguments, each with its code and path', async () => {
    const mcp = await connect({ config: { roots: [join(root, 'src')] } });
    try {
      const outside = await mcp.client.callTool({ name: 'fanout_explore_codebase', arguments: { path: root } });
      expect(outside.isError).toBe(true);
      expect(outside.structuredContent).toMatchObject({ error: { code: 'FANOUT_PATH_OUTSIDE_ROOT', issues: [{ path: 'path' }] } });
      const bad = await mcp.client.callTool({ name: 'fanout_explore_codebase', arguments: { size: 'huge', patterns: 'TODO', colour: 'red' } });
      expect(bad.structuredContent).toMatchObject({
        error: { code: 'FANOUT_INPUT_INVALID', issues: [{ path: 'size' }, { path: 'patterns' }, { path: 'colour' }].map((issue) => expect.objectContaining(issue)) },
      });
    } finally {
      await mcp.close();
    }
  });

  it('refuses explore-web without a search provider, saying how to configure one', async () => {
    const saved = { SEARXNG_URL: process.env.SEARXNG_URL, BRAVE_API_KEY: process.env.BRAVE_API_KEY, FANOUT_BRAVE_API_KEY: process.env.FANOUT_BRAVE_API_KEY, TAVILY_API_KEY: process.env.TAVILY_API_KEY };
    for (const key of Object.keys(saved)) delete process.env[key];
    const mcp = await connect({ config: { roots: [root] } });
    try {
      const result = await mcp.client.callTool({ name: 'fanout_explore_web', arguments: { topic: 'rate limits' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^FANOUT_SEARCH_NOT_CONFIGURED: expected at least one configured search provider, got none.*SEARXNG_URL/);
    } finally {
      await mcp.close();
      for (const [key, value] of Object.entries(saved)) if (value !== undefined) process.env[key] = value;
    }
  });

  it('checks its options when it is made, naming the bad one', async () => {
    await expect(connect({ budgetTokens: 10 })).rejects.toThrow(FanoutMcpError);
    await expect(connect({ allowShell: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'FANOUT_OPTION_INVALID', path: 'allowShell' });
  });
});
