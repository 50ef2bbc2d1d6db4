/** The MCP tools over Streamable HTTP at POST /mcp, reached by the official client. */
import type { Client } from '@modelcontextprotocol/client';
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
