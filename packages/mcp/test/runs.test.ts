import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { createFanoutMcpRuntime, createFanoutMcpServer } from '../src/index.js';
import { connect, connectedTree, content, gate, release, textOf, until } from './helpers.js';

describe('runs that outlast a call: deadlines, handles, status, cancel', () => {
  const world = connectedTree({ 'a.txt': 'alpha\n', 'b.txt': 'beta\n' });

  it('answers at the deadline with what finished and a handle; the rest carries on, and fanout_status gets it', async () => {
    const fifo = gate(join(world.root, 'slow-1.fifo'));
    const first = content(
      await world.mcp.client.callTool({
        name: 'fanout_read',
        arguments: {
          deadlineMs: 0,
          operations: [
            { id: 'quick', kind: 'read', input: { path: 'a.txt' } },
            { id: 'slow', kind: 'read', input: { path: 'slow-1.fifo', fifo: true } },
            { id: 'after-slow', kind: 'grep', input: { pattern: 'beta' }, after: ['slow'] },
          ],
        },
      }),
    );
    expect(first.done).toBe(false);
    expect(first.handle).toMatch(/^run-[0-9a-f]{12}$/);
    expect(first.operations.find((op) => op.id === 'slow')).toMatchObject({ state: 'pending' });
    expect(first.operations.find((op) => op.id === 'after-slow')).toMatchObject({ state: 'pending' });
    expect(first.summary.pending).toBeGreaterThanOrEqual(2);
    expect(first.text).toContain(`**Not finished:**`);
    expect(first.text).toContain(`fanout_status {"handle": "${first.handle}"}`);

    // Asked again at once, it still runs.
    const still = content(await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle: first.handle, deadlineMs: 0 } }));
    expect(still).toMatchObject({ handle: first.handle, done: false });

    await release(fifo, 'from the gate\n');
    const done = content(await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle: first.handle } }));
    expect(done).toMatchObject({ handle: first.handle, done: true, summary: { succeeded: 3, pending: 0 } });
    expect(done.operations.find((op) => op.id === 'slow')).toMatchObject({ state: 'succeeded', output: { files: [{ text: 'from the gate\n' }] } });
    expect(done.operations.find((op) => op.id === 'after-slow')).toMatchObject({ state: 'succeeded' });
  });

  it('fanout_cancel stops what has not ended and answers with the run as it ends', async () => {
    const fifo = gate(join(world.root, 'slow-2.fifo'));
    const started = content(
      await world.mcp.client.callTool({
        name: 'fanout_read',
        arguments: {
          deadlineMs: 0,
          operations: [
            { id: 'quick', kind: 'read', input: { path: 'b.txt' } },
            { id: 'slow', kind: 'read', input: { path: 'slow-2.fifo', fifo: true } },
          ],
        },
      }),
    );
    await until(() => true, 'a turn');
    const cancelled = content(await world.mcp.client.callTool({ name: 'fanout_cancel', arguments: { handle: started.handle } }));
    expect(cancelled.done).toBe(true);
    expect(cancelled.operations.find((op) => op.id === 'slow')).toMatchObject({ state: 'cancelled', error: { code: 'FANOUT_CANCELLED', message: expect.stringContaining('fanout_cancel') } });
    expect(cancelled.operations.find((op) => op.id === 'quick')!.state).toMatch(/succeeded|cancelled/);
    void fifo;
  });

  it('refuses an unknown handle with a coded error', async () => {
    const result = await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle: 'run-000000000000' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^FANOUT_MCP_RUN_NOT_FOUND: expected the handle of a run of this server, got "run-000000000000"/);
  });

  it('cancels the run when the client cancels the call: every operation not ended is accounted as cancelled', async () => {
    const fifo = gate(join(world.root, 'slow-3.fifo'));
    const progress: number[] = [];
    const aborter = new AbortController();
    const call = world.mcp.client.callTool(
      {
        name: 'fanout_read',
        arguments: {
          name: 'to be cancelled',
          operations: [
            { id: 'slow', kind: 'read', input: { path: 'slow-3.fifo', fifo: true } },
            { id: 'next', kind: 'read', input: { path: 'a.txt' }, after: ['slow'] },
          ],
        },
      },
      { signal: aborter.signal, onprogress: (p) => progress.push(p.progress) },
    );
    await until(() => progress.length > 0, 'a first progress notification');
    const handle = world.mcp.fanout.runtime.runs.running().find((record) => record.title === 'to be cancelled')!.handle;
    aborter.abort();
    await expect(call).rejects.toThrow();
    const after = content(await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle } }));
    expect(after.done).toBe(true);
    expect(after.operations.map((op) => [op.id, op.state])).toEqual([
      ['slow', 'cancelled'],
      ['next', 'cancelled'],
    ]);
    void fifo;
  });

  it('sends progress notifications that increase, with the total, while a run goes', async () => {
    const fifo = gate(join(world.root, 'slow-4.fifo'));
    const seen: { progress: number; total?: number | undefined; message?: string | undefined }[] = [];
    const call = world.mcp.client.callTool(
      {
        name: 'fanout_read',
        arguments: {
          operations: [
            { id: 'one', kind: 'read', input: { path: 'a.txt' } },
            { id: 'slow', kind: 'read', input: { path: 'slow-4.fifo', fifo: true } },
          ],
        },
      },
      { onprogress: (p) => seen.push(p) },
    );
    await until(() => seen.some((p) => p.progress >= 1), 'progress after the first operation ended');
    await release(fifo);
    expect(content(await call).done).toBe(true);
    expect(seen[0]).toMatchObject({ total: 2, message: expect.stringMatching(/^\d\/2 done/) });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
  });

  it('shares runs between servers made on one runtime (one server per HTTP session or request)', async () => {
    const runtime = createFanoutMcpRuntime({ config: { roots: [world.root] } });
    const servers = [createFanoutMcpServer({ runtime }), createFanoutMcpServer({ runtime })];
    const clients: Client[] = [];
    for (const fanout of servers) {
      const [a, b] = InMemoryTransport.createLinkedPair();
      await fanout.server.connect(a);
      const client = new Client({ name: 'test', version: '1.0.0' });
      await client.connect(b);
      clients.push(client);
    }
    try {
      const fifo = gate(join(world.root, 'slow-5.fifo'));
      const started = content(await clients[0]!.callTool({ name: 'fanout_read', arguments: { deadlineMs: 0, operations: [{ id: 'slow', kind: 'read', input: { path: 'slow-5.fifo', fifo: true } }] } }));
      await release(fifo);
      const seen = content(await clients[1]!.callTool({ name: 'fanout_status', arguments: { handle: started.handle } }));
      expect(seen).toMatchObject({ handle: started.handle, done: true, summary: { succeeded: 1 } });
    } finally {
      for (const client of clients) await client.close();
      for (const fanout of servers) await fanout.close();
      await runtime.close();
    }
  });

  it('cancels its runs when it closes, and starts no new one', async () => {
    const local = await connect({ config: { roots: [world.root] } });
    const fifo = gate(join(world.root, 'slow-6.fifo'));
    const started = content(await local.client.callTool({ name: 'fanout_read', arguments: { deadlineMs: 0, operations: [{ id: 'slow', kind: 'read', input: { path: 'slow-6.fifo', fifo: true } }] } }));
    const record = local.fanout.runtime.runs.get(started.handle);
    await local.fanout.runtime.close();
    expect(record.done).toBe(true);
    expect(record.result!.get('slow')).toMatchObject({ state: 'cancelled' });
    const refused = await local.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'a', kind: 'read', input: { path: 'a.txt' } }] } });
    expect(textOf(refused)).toMatch(/^FANOUT_MCP_CLOSED: /);
    await local.close();
    void fifo;
  });
});
