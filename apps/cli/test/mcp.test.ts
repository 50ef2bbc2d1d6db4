/*
 * `fanout mcp` end to end: the built command spawned by the official MCP client over stdio,
 * as Claude Code or Cursor spawn it. Tools and annotations, a 50-operation batch with a $ref
 * chain, progress, cancellation that leaves no process behind, invalid input, path escapes,
 * the output budget and its spill, fanout_run behind the allow flags, configuration found
 * upward that tries to widen the roots, and both protocol eras.
 */
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { eventually } from '@fanout/adapters/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';

let dir: string;
let home: string;

interface Served {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
}

/** `fanout mcp …` in `cwd`, connected to the official client over stdio. */
async function serve(args: string[] = [], options: { cwd?: string; era?: 'legacy' | 'modern' } = {}): Promise<Served> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = new Client({ name: 'e2e', version: '1.0.0' }, options.era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

interface RunContent {
  handle: string;
  done: boolean;
  root: string;
  summary: { operations: number; succeeded: number; failed: number; cancelled: number; pending: number };
  operations: { id: string; state: string; output?: unknown; outputOmitted?: true; error?: { code: string; message: string } }[];
  text: string;
  budget: { tokens: number; used: number; fits: boolean };
  cut?: { text: boolean; outputs: number; entries: number };
  spill?: { dir: string; report: string; results: string };
}

function runContent(result: CallToolResult): RunContent {
  if (result.isError === true) throw new Error(`expected a result, got an error: ${JSON.stringify(result.content)}`);
  return result.structuredContent as unknown as RunContent;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fanout-cli-mcp-')));
  home = await realpath(await mkdtemp(join(tmpdir(), 'fanout-cli-mcp-home-')));
  for (let d = 0; d < 10; d++) {
    await mkdir(join(dir, 'src', `mod${d}`), { recursive: true });
    for (let f = 0; f < 5; f++) {
      await writeFile(join(dir, 'src', `mod${d}`, `file${f}.ts`), `// module ${d} file ${f}\nexport const value${f} = ${d * 10 + f};\n// TODO: document value${f}\n`);
    }
  }
  await writeFile(join(dir, 'README.md'), '# fixture\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe('fanout mcp over stdio, with the official client', () => {
  it('lists the tools and their annotations; fanout_run is not offered without --allow-*, and a write is refused naming the flag', async () => {
    const served = await serve();
    try {
      const { tools } = await served.client.listTools();
      const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
      expect(Object.keys(byName).sort()).toEqual(['fanout_cancel', 'fanout_explore_codebase', 'fanout_explore_web', 'fanout_read', 'fanout_status', 'fanout_web']);
      expect(byName.fanout_read!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
      expect(byName.fanout_web!.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: true });
      expect(served.client.getServerCapabilities()).toMatchObject({ tools: {} });

      await expect(served.client.callTool({ name: 'fanout_run', arguments: { operations: [{ id: 'b', kind: 'bash', input: { command: ['true'] } }] } })).rejects.toThrow(/fanout_run/);
      const refused = await served.client.callTool({
        name: 'fanout_read',
        arguments: {
          operations: [
            { id: 'w', kind: 'write', input: { path: 'x.txt', content: 'x' } },
            { id: 'b', kind: 'bash', input: { command: ['true'] } },
          ],
        },
      });
      expect(refused.isError).toBe(true);
      expect(refused.structuredContent).toMatchObject({
        error: {
          code: 'FANOUT_PLAN_INVALID',
          issues: [
            { path: 'operations[0].kind', code: 'FANOUT_MCP_KIND_NOT_ALLOWED' },
            { path: 'operations[1].kind', code: 'FANOUT_MCP_KIND_NOT_ALLOWED' },
          ],
        },
      });
      expect(JSON.stringify(refused.content)).toMatch(/--allow-write.*--allow-shell/);
    } finally {
      await served.client.close();
    }
  });

  it('runs a 50-operation fanout_read with a $ref chain in one call, with progress', async () => {
    const served = await serve();
    try {
      const operations: unknown[] = [];
      for (let d = 0; d < 10; d++) operations.push({ id: `list${d}`, kind: 'glob', input: { pattern: `src/mod${d}/*.ts` } });
      for (let d = 0; d < 10; d++) operations.push({ id: `value${d}`, kind: 'grep', input: { pattern: 'export const', paths: [`src/mod${d}`] } });
      for (let d = 0; d < 10; d++) operations.push({ id: `todo${d}`, kind: 'grep', input: { pattern: 'TODO', paths: { $ref: `list${d}`, path: 'files' } } });
      for (let d = 0; d < 10; d++) operations.push({ id: `read${d}`, kind: 'read', input: { paths: { $ref: `list${d}`, path: 'files' }, head: 2 } });
      // A chain: a list, the first file of it read, then the path that read names searched.
      operations.push({ id: 'chain-list', kind: 'glob', input: { pattern: 'src/mod9/*.ts' } });
      operations.push({ id: 'chain-read', kind: 'read', input: { path: { $ref: 'chain-list', path: 'files.0' } } });
      operations.push({ id: 'chain-grep', kind: 'grep', input: { pattern: 'value0', paths: [{ $ref: 'chain-read', path: 'files.0.path' }] } });
      for (let i = 0; i < 6; i++) operations.push({ id: `readme${i}`, kind: 'read', input: { path: 'README.md' } });
      operations.push({ id: 'stats', kind: 'analyze', input: { analyzer: 'stats' } });
      expect(operations).toHaveLength(50);

      const progress: { progress: number; total?: number | undefined }[] = [];
      // A budget that holds every output (the default one keeps the report and cuts outputs).
      const c = runContent(await served.client.callTool({ name: 'fanout_read', arguments: { operations, budgetTokens: 200_000 } }, { onprogress: (p) => progress.push(p) }));
      expect(c.cut).toBeUndefined();
      expect(c).toMatchObject({ done: true, root: dir, summary: { operations: 50, succeeded: 50 } });
      expect(c.operations.find((op) => op.id === 'chain-grep')).toMatchObject({ state: 'succeeded', output: { messages: expect.arrayContaining([expect.objectContaining({ type: 'match' })]) } });
      expect(c.operations.find((op) => op.id === 'read3')).toMatchObject({ output: { files: expect.arrayContaining([expect.objectContaining({ text: '// module 3 file 0\nexport const value0 = 30;\n' })]) } });
      expect(c.text).toMatch(/^- src\/mod3\/file0\.ts · 2 matches .*← /m);
      expect(c.text).toMatch(/^# fanout_read: 50 operations — 50 succeeded/);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[0]).toMatchObject({ total: 50 });
    } finally {
      await served.client.close();
    }
  });

  it('refuses a path escape, as a failed operation beside the others', async () => {
    const served = await serve();
    try {
      const c = runContent(
        await served.client.callTool({
          name: 'fanout_read',
          arguments: {
            operations: [
              { id: 'etc', kind: 'read', input: { path: '/etc/hostname' } },
              { id: 'up', kind: 'grep', input: { pattern: 'root', paths: ['../../etc'] } },
              { id: 'ok', kind: 'read', input: { path: 'README.md' } },
            ],
          },
        }),
      );
      expect(c.operations.map((op) => [op.id, op.state, op.error?.code])).toEqual([
        ['etc', 'failed', 'FANOUT_PATH_OUTSIDE_ROOT'],
        ['up', 'failed', 'FANOUT_PATH_OUTSIDE_ROOT'],
        ['ok', 'succeeded', undefined],
      ]);
    } finally {
      await served.client.close();
    }
  });

  it('answers invalid input with one error listing every problem', async () => {
    const served = await serve();
    try {
      const result = await served.client.callTool({
        name: 'fanout_read',
        arguments: {
          operations: [
            { id: 'a', kind: 'glob', input: { pattern: 7 } },
            { id: 'b', kind: 'read', input: {}, after: ['a', 'ghost'] },
            { id: 'c', kind: 'grep', input: { pattern: 'x' }, after: ['c'] },
          ],
        },
      });
      expect(result.isError).toBe(true);
      const issues = (result.structuredContent as { error: { issues: { path: string }[] } }).error.issues.map((issue) => issue.path);
      expect(issues).toEqual(expect.arrayContaining(['operations[0].input.pattern', 'operations[1].after[1]', 'operations[2].after[0]']));
      expect(JSON.stringify(result.content)).toMatch(/FANOUT_PLAN_INVALID: fanout_read: the request has \d+ problems; nothing ran/);
    } finally {
      await served.client.close();
    }
  });

  it('cuts a result larger than the budget and spills all of it to the run directory', async () => {
    const served = await serve(['--budget-tokens', '1500']);
    try {
      const c = runContent(
        await served.client.callTool({
          name: 'fanout_read',
          arguments: {
            operations: [
              { id: 'all', kind: 'read', input: { paths: Array.from({ length: 50 }, (_, i) => `src/mod${Math.floor(i / 5)}/file${i % 5}.ts`) } },
              { id: 'todo', kind: 'grep', input: { pattern: 'TODO' } },
            ],
          },
        }),
      );
      expect(JSON.stringify(c).length).toBeLessThanOrEqual(1500 * 4);
      expect(c.cut).toMatchObject({ text: true });
      expect(c.text).toContain('## Cut to the output budget');
      const saved = JSON.parse(await readFile(c.spill!.results, 'utf8')) as { operations: { id: string; output: { files?: unknown[] } }[] };
      expect(saved.operations.find((op) => op.id === 'all')!.output.files).toHaveLength(50);
      expect(await readFile(c.spill!.report, 'utf8')).toContain('src/mod9/file4.ts');
    } finally {
      await served.client.close();
    }
  });

  it('cancelling a call mid-run cancels the run and leaves no process behind; closing stdin stops the server and its processes', async () => {
    const served = await serve(['--allow-shell']);
    const pids = join(dir, 'pids');
    await mkdir(pids, { recursive: true });
    try {
      const { tools } = await served.client.listTools();
      expect(tools.find((tool) => tool.name === 'fanout_run')!.annotations).toMatchObject({ destructiveHint: true });
      // Each command leaves a grandchild that ignores TERM: only a process-group KILL stops it.
      const operations = Array.from({ length: 4 }, (_, i) => ({
        id: `sleep${i}`,
        kind: 'bash',
        input: { script: `trap '' TERM; (trap '' TERM; sleep 60) & echo $! > pids/${i}.child; echo $$ > pids/${i}.shell; wait`, shell: true },
      }));
      const aborter = new AbortController();
      const call = served.client.callTool({ name: 'fanout_run', arguments: { operations } }, { signal: aborter.signal });
      call.catch(() => undefined);
      const read = async (): Promise<number[]> => {
        const found: number[] = [];
        for (let i = 0; i < 4; i++) {
          for (const end of ['child', 'shell']) {
            const text = await readFile(join(pids, `${i}.${end}`), 'utf8').catch(() => '');
            if (text.trim() !== '') found.push(Number(text.trim()));
          }
        }
        return found;
      };
      expect(await eventually(async () => (await read()).length === 8, 20_000)).toBe(true);
      const started = await read();
      expect(started.every(alive)).toBe(true);
      aborter.abort();
      await expect(call).rejects.toThrow();
      expect(await eventually(() => started.every((pid) => !alive(pid)), 15_000)).toBe(true);

      // A run left going when the client goes: closing stdin stops the server, and the run's processes with it.
      const handle = runContent(
        await served.client.callTool({
          name: 'fanout_run',
          arguments: { deadlineMs: 0, operations: [{ id: 'last', kind: 'bash', input: { script: `(trap '' TERM; sleep 60) & echo $! > pids/last; wait`, shell: true } }] },
        }),
      ).handle;
      expect(handle).toMatch(/^run-/);
      expect(await eventually(async () => (await readFile(join(pids, 'last'), 'utf8').catch(() => '')).trim() !== '', 20_000)).toBe(true);
      const last = Number((await readFile(join(pids, 'last'), 'utf8')).trim());
      const server = served.transport.pid!;
      await served.client.close();
      expect(await eventually(() => !alive(server) && !alive(last), 15_000)).toBe(true);
    } finally {
      await served.client.close();
    }
  }, 60_000);

  it('does not let a configuration found upward widen the roots', async () => {
    const project = join(dir, 'hostile');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'fanout.config.json'), JSON.stringify({ roots: ['/'] }));
    const served = await serve([], { cwd: project });
    try {
      const c = runContent(await served.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'etc', kind: 'read', input: { path: '/etc/hostname' } }] } }));
      expect(c.root).toBe(project);
      expect(c.operations[0]).toMatchObject({ state: 'failed', error: { code: 'FANOUT_PATH_OUTSIDE_ROOT' } });
      expect(served.stderr()).toMatch(/fanout\.config\.json: roots: set aside/);
    } finally {
      await served.client.close();
    }
  });

  it('serves the 2026-07-28 protocol too (the same tools, the client pinned to it)', async () => {
    const served = await serve([], { era: 'modern' });
    try {
      const { tools } = await served.client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('fanout_read');
      const c = runContent(await served.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'README.md' } }] } }));
      expect(c.operations[0]).toMatchObject({ state: 'succeeded', output: { files: [{ text: '# fixture\n' }] } });
    } finally {
      await served.client.close();
    }
  });
});
