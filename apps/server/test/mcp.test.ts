/** The MCP tools over Streamable HTTP at POST /mcp, reached by the official client. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMcp, mcpTree, READ_AND_GREP, startServer, tempDir, type Served } from './helpers.js';

let served: Served;
let temp: { dir: string; remove: () => Promise<void> };
const TOKEN = 'mcp-test-token-0123456789';

beforeAll(async () => {
  temp = await tempDir();
  await mcpTree(temp.dir, [TOKEN]);
  served = await startServer(['--token-file', 'tokens'], temp.dir);
});

afterAll(async () => {
  await served?.stop();
  await temp?.remove();
});

function connect(token: string): Promise<Client> {
  return connectMcp(served.url, token, 'server-e2e');
}

describe('POST /mcp', () => {
  it('lists the tools and runs fanout_read against the server roots', async () => {
    const client = await connect(TOKEN);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toContain('fanout_read');
      // The server was not started with --allow-write or --allow-shell.
      expect(names).not.toContain('fanout_run');
      const result = await client.callTool({
        name: 'fanout_read',
        arguments: { operations: READ_AND_GREP },
      });
      expect(result.isError).not.toBe(true);
      const content = result.structuredContent as { summary: { succeeded: number }; text: string };
      expect(content.summary.succeeded).toBe(2);
      expect(content.text).toContain('a.ts');
      // A path outside the roots is refused per operation, whatever the client says its roots are.
      const outside = await client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'etc', kind: 'read', input: { path: '/etc/hostname' } }] } });
      const op = (outside.structuredContent as { operations: { state: string; error?: { code: string } }[] }).operations[0]!;
      expect(op.state).toBe('failed');
      expect(op.error?.code).toBe('FANOUT_PATH_OUTSIDE_ROOT');
    } finally {
      await client.close();
    }
  });

  it.each(['legacy', 'modern'] as const)("%s era: a client that declares roots of its own cannot widen the server's roots", async (era) => {
    // Roots the client offers: the whole file system, and a directory beside the server's root.
    const beside = await tempDir('fanout-server-beside-');
    await writeFile(join(beside.dir, 'secret.txt'), 'not for the server\n');
    const client = new Client({ name: 'server-e2e-roots', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } }, ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}) });
    client.setRequestHandler('roots/list', async () => ({
      roots: [
        { uri: pathToFileURL('/').href, name: 'everything' },
        { uri: pathToFileURL(beside.dir).href, name: 'beside' },
      ],
    }));
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', served.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    try {
      type Read = { roots: string[]; text: string; operations: { id: string; state: string; error?: { code: string } }[] };
      const read = async (): Promise<Read> =>
        (
          await client.callTool({
            name: 'fanout_read',
            arguments: {
              operations: [
                { id: 'own', kind: 'read', input: { path: 'src/a.ts' } },
                { id: 'beside', kind: 'read', input: { path: join(beside.dir, 'secret.txt') } },
                { id: 'etc', kind: 'grep', input: { pattern: 'root', paths: ['/etc/passwd'] } },
              ],
            },
          })
        ).structuredContent as Read;
      const first = await read();
      expect(first.roots).toEqual([temp.dir]);
      expect(first.text).toContain('roots from the configuration');
      expect(first.operations.map((op) => [op.id, op.state, op.error?.code])).toEqual([
        ['own', 'succeeded', undefined],
        ['beside', 'failed', 'FANOUT_PATH_OUTSIDE_ROOT'],
        ['etc', 'failed', 'FANOUT_PATH_OUTSIDE_ROOT'],
      ]);
      // Saying its roots changed changes nothing either (2025-era connections say it by a
      // notification; 2026-07-28 has none and carries the capabilities on every request).
      if (era === 'legacy') await client.sendRootsListChanged();
      const again = await read();
      expect(again.roots).toEqual([temp.dir]);
      expect(again.operations.map((op) => op.state)).toEqual(['succeeded', 'failed', 'failed']);
    } finally {
      await client.close();
      await beside.remove();
    }
  });

  it('refuses a client without the token', async () => {
    const response = await fetch(new URL('/mcp', served.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FANOUT_SERVER_UNAUTHORIZED');
  });
});
