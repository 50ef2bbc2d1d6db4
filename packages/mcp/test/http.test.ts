/*
 * The same tools over Streamable HTTP, as apps/server will mount them: the SDK's web-standard
 * handler behind a real HTTP server on 127.0.0.1, a fresh server per request from one shared
 * runtime (so a handle from one request is found by the next), both protocol eras.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createMcpHandler, type McpHttpHandler } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFanoutMcpRuntime, createFanoutMcpServer, type FanoutMcpRuntime } from '../src/index.js';
import { content, gate, release, removeTree, tree } from './helpers.js';

let root: string;
let elsewhere: string;
let runtime: FanoutMcpRuntime;
let handler: McpHttpHandler;
let http: Server;
let url: URL;
let made = 0;

beforeAll(async () => {
  root = await tree({ 'a.txt': 'over http\n' });
  elsewhere = await tree({ 'cwd.txt': 'the working directory\n' });
  runtime = createFanoutMcpRuntime({ cwd: elsewhere });
  handler = createMcpHandler(() => {
    made++;
    return createFanoutMcpServer({ runtime }).server;
  });
  // A minimal Node-to-fetch bridge: the body read whole, the response streamed back.
  http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks);
      const response = await handler.fetch(new Request(new URL(req.url ?? '/', url), { method: req.method ?? 'GET', headers, ...(body === undefined ? {} : { body }) }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body !== null) for await (const chunk of response.body) res.write(chunk);
      res.end();
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
});

afterAll(async () => {
  await handler.close();
  await new Promise((resolve) => http.close(resolve));
  await runtime.close();
  await removeTree(root);
  await removeTree(elsewhere);
});

describe('over Streamable HTTP, a server per request on one runtime', () => {
  it.each(['legacy', 'modern'] as const)('%s era: lists the tools, runs a batch, and finds its handle from the next request', async (era) => {
    const client = new Client({ name: 'http-test', version: '1.0.0' }, era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {});
    await client.connect(new StreamableHTTPClientTransport(url));
    try {
      const { tools } = await client.listTools();
      expect(tools.find((tool) => tool.name === 'fanout_read')?.annotations).toMatchObject({ readOnlyHint: true, openWorldHint: false });
      const fifo = gate(join(elsewhere, `slow-${era}.fifo`));
      const before = made;
      const started = content(
        await client.callTool({
          name: 'fanout_read',
          arguments: {
            deadlineMs: 0,
            operations: [
              { id: 'now', kind: 'read', input: { path: 'cwd.txt' } },
              { id: 'slow', kind: 'read', input: { path: `slow-${era}.fifo`, fifo: true } },
            ],
          },
        }),
      );
      expect(started).toMatchObject({ done: false, root: elsewhere });
      await release(fifo);
      const done = content(await client.callTool({ name: 'fanout_status', arguments: { handle: started.handle } }));
      expect(done).toMatchObject({ handle: started.handle, done: true, summary: { succeeded: 2 } });
      expect(made).toBeGreaterThan(before); // each request was served by a server of its own
    } finally {
      await client.close();
    }
  });

  it('asks a 2026-07-28 client for its roots in the call itself (input_required), and uses them', async () => {
    const client = new Client({ name: 'http-test', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    let asked = 0;
    client.setRequestHandler('roots/list', async () => {
      asked++;
      return { roots: [{ uri: pathToFileURL(root).href, name: 'project' }] };
    });
    await client.connect(new StreamableHTTPClientTransport(url));
    try {
      const c = content(await client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'a', kind: 'read', input: { path: 'a.txt' } }] } }));
      expect(c).toMatchObject({ root, operations: [{ state: 'succeeded', output: { files: [{ text: 'over http\n' }] } }] });
      expect(asked).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});
