/**
 * Test helpers: a real SDK client connected to a fanout server in memory, temporary trees,
 * and FIFOs as gates (a `read` with `fifo: true` of a FIFO ends when the test writes to it,
 * so a test decides when an operation finishes without sleeping).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, InMemoryTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, beforeAll } from 'vitest';
import { createFanoutMcpServer, type FanoutMcpServer, type FanoutMcpServerOptions, type RunResultContent } from '../src/index.js';

export interface Connected {
  client: Client;
  fanout: FanoutMcpServer;
  close(): Promise<void>;
}

/** A fanout server and an official SDK client, linked in memory. */
export async function connect(options: FanoutMcpServerOptions, client = new Client({ name: 'test', version: '1.0.0' })): Promise<Connected> {
  const fanout = createFanoutMcpServer(options);
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await fanout.server.connect(serverSide);
  await client.connect(clientSide);
  return {
    client,
    fanout,
    close: async () => {
      await client.close();
      await fanout.close();
    },
  };
}

/** A temporary directory (real path) with `files` written in it. */
export async function tree(files: Record<string, string>): Promise<string> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'fanout-mcp-test-')));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

export async function removeTree(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/**
 * For the tests of one `describe`: a temporary tree of `files` and a server connected to it,
 * made before the tests and closed and removed after them. `options` gets the tree's path
 * (by default the server's only root).
 */
export function connectedTree(files: Record<string, string>, options: (root: string) => FanoutMcpServerOptions = (root) => ({ config: { roots: [root] } })): { readonly root: string; readonly mcp: Connected } {
  const world = {} as { root: string; mcp: Connected };
  beforeAll(async () => {
    world.root = await tree(files);
    world.mcp = await connect(options(world.root));
  });
  afterAll(async () => {
    await world.mcp?.close();
    if (world.root) await removeTree(world.root);
  });
  return world;
}

/** A FIFO at `path`: a `read` of it with `fifo: true` waits until {@link release}. */
export function gate(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** Writes `text` into the FIFO once its reader holds it open (O_NONBLOCK fails until then). */
export async function release(path: string, text = 'released\n'): Promise<void> {
  for (let tries = 0; tries < 1000; tries++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    writeSync(fd, text);
    closeSync(fd);
    return;
  }
  throw new Error(`expected a reader to open ${path}, got none in 10 s`);
}

/** The structured content of a successful run result. */
export function content(result: CallToolResult): RunResultContent {
  if (result.isError === true) throw new Error(`expected a result, got an error: ${JSON.stringify(result.content)}`);
  return result.structuredContent as RunResultContent;
}

/** The text of a result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}

/** Resolves when `predicate` holds, checking after each event-loop turn (bounded). */
export async function until(predicate: () => boolean, what: string, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`expected ${what}, got nothing after ${turns} turns`);
}
