/**
 * `adapters`: adapters given to the MCP runtime (an executor's, in the server with --redis) run
 * the kinds they name instead of the configured ones. Here the given `read` is a real read
 * adapter over another tree (as a worker has roots of its own): what a call reads shows which
 * adapter ran it.
 */
import { readAdapter } from '@fanout/adapters/fs';
import type { Adapter } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, content, removeTree, tree, type Connected } from './helpers.js';

describe('adapters given to the MCP runtime', () => {
  let root: string;
  let elsewhere: string;
  let mcp: Connected;
  const given: string[] = [];

  beforeAll(async () => {
    root = await tree({ 'a.txt': 'alpha here\n', 'big.txt': `${'a long line of text to spill\n'.repeat(2000)}` });
    elsewhere = await tree({ 'a.txt': 'alpha elsewhere\n' });
    const there = readAdapter({ roots: [elsewhere] }) as Adapter;
    // Counts the operations it was given, then runs them on the other tree.
    const read: Adapter = { ...there, run: (input, context) => (given.push(context.id), there.run(input, context)) };
    mcp = await connect({ config: { roots: [root] }, adapters: [read] });
  });

  afterAll(async () => {
    await mcp.close();
    await removeTree(root);
    await removeTree(elsewhere);
  });

  it('run the kinds they name; the other kinds, and reads of the spilled reports, run here', async () => {
    const answer = content(
      await mcp.client.callTool({
        name: 'fanout_read',
        arguments: {
          operations: [
            { id: 'r', kind: 'read', input: { path: 'a.txt' } },
            { id: 'g', kind: 'grep', input: { pattern: 'alpha', paths: ['a.txt'] } },
          ],
        },
      }),
    );
    expect(answer.summary.succeeded).toBe(2);
    expect(answer.operations.find((op) => op.id === 'r')).toMatchObject({ output: { files: [{ ok: true, text: 'alpha elsewhere\n' }] } });
    expect(JSON.stringify(answer.operations.find((op) => op.id === 'g')?.output)).toContain('alpha here');
    expect(given).toEqual(['r']);

    // An answer cut to its budget spills its report here; reading it back stays here too.
    const big = content(await mcp.client.callTool({ name: 'fanout_read', arguments: { budgetTokens: 500, operations: [{ id: 'big', kind: 'grep', input: { pattern: 'spill', paths: ['big.txt'] } }] } }));
    expect(big.spill?.report).toBeDefined();
    const page = content(await mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'more', kind: 'read', input: { path: big.spill!.report, from: 1, to: 1 } }] } }));
    expect(page.operations[0]).toMatchObject({ state: 'succeeded', output: { files: [{ ok: true, text: expect.stringMatching(/^# fanout_read/) }] } });
    expect(given).toEqual(['r']);
  });
});
