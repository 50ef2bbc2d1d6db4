import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootsFromList } from '../src/index.js';
import { connect, content, removeTree, tree } from './helpers.js';

/** A client that declares roots and answers `roots/list` with `roots()`, counting the asks. */
function clientWithRoots(roots: () => string[]): { client: Client; asked: () => number } {
  let asked = 0;
  const client = new Client({ name: 'test', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler('roots/list', async () => {
    asked++;
    return { roots: roots().map((path) => ({ uri: pathToFileURL(path).href, name: path })) };
  });
  return { client, asked: () => asked };
}

describe('roots: the configuration, else the client, else the working directory', () => {
  let project: string;
  let other: string;
  let elsewhere: string;

  beforeAll(async () => {
    project = await tree({ 'in-project.txt': 'project\n' });
    other = await tree({ 'in-other.txt': 'other\n' });
    elsewhere = await tree({ 'cwd.txt': 'working directory\n' });
  });

  afterAll(async () => {
    for (const dir of [project, other, elsewhere]) await removeTree(dir);
  });

  it("uses the client's roots when the configuration names none, asks once, and again after they change", async () => {
    let current = [project];
    const { client, asked } = clientWithRoots(() => current);
    const mcp = await connect({ cwd: elsewhere }, client);
    try {
      const first = content(
        await mcp.client.callTool({
          name: 'fanout_read',
          arguments: {
            operations: [
              { id: 'r', kind: 'read', input: { path: 'in-project.txt' } },
              { id: 'out', kind: 'read', input: { path: join(elsewhere, 'cwd.txt') } },
            ],
          },
        }),
      );
      expect(first).toMatchObject({ root: project, roots: [project] });
      expect(first.operations[0]).toMatchObject({ state: 'succeeded', output: { files: [{ text: 'project\n' }] } });
      expect(first.operations[1]).toMatchObject({ state: 'failed', error: { code: 'FANOUT_PATH_OUTSIDE_ROOT' } });
      expect(first.text).toContain('roots from the client');
      await mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'in-project.txt' } }] } });
      expect(asked()).toBe(1);

      current = [other];
      await mcp.client.sendRootsListChanged();
      const moved = content(await mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'in-other.txt' } }] } }));
      expect(moved).toMatchObject({ root: other, operations: [{ state: 'succeeded' }] });
      expect(asked()).toBe(2);
    } finally {
      await mcp.close();
    }
  });

  it("prefers the configuration's roots and never asks the client", async () => {
    const { client, asked } = clientWithRoots(() => [other]);
    const mcp = await connect({ config: { roots: [project] }, cwd: elsewhere }, client);
    try {
      const c = content(
        await mcp.client.callTool({
          name: 'fanout_read',
          arguments: {
            operations: [
              { id: 'r', kind: 'read', input: { path: 'in-project.txt' } },
              { id: 'o', kind: 'read', input: { path: join(other, 'in-other.txt') } },
            ],
          },
        }),
      );
      expect(c.root).toBe(project);
      expect(c.operations.map((op) => op.state)).toEqual(['succeeded', 'failed']);
      expect(c.text).toContain('roots from the configuration');
      expect(asked()).toBe(0);
    } finally {
      await mcp.close();
    }
  });

  it('falls back to the working directory when the client has no roots', async () => {
    const mcp = await connect({ cwd: elsewhere });
    try {
      const c = content(await mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'cwd.txt' } }] } }));
      expect(c).toMatchObject({ root: elsewhere, operations: [{ state: 'succeeded' }] });
      expect(c.text).toContain('roots from the working directory');
    } finally {
      await mcp.close();
    }
  });

  it('keeps only local directories of what a client lists, and says what it left out', () => {
    expect(rootsFromList({ roots: [{ uri: 'file:///srv/app' }, { uri: 'https://example.com/repo' }, { uri: 'file:///srv/app' }, { name: 'no uri' }] })).toEqual({
      roots: ['/srv/app'],
      skipped: ['https://example.com/repo'],
    });
    expect(rootsFromList(undefined)).toEqual({ roots: [], skipped: [] });
  });
});
