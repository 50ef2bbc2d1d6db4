/** The `launch` option: an embedder decides how each tool call's run starts, or refuses it. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedulerEvent } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import type { McpRunLaunch } from '../src/index.js';
import { connectedTree, content } from './helpers.js';

describe('FanoutMcpOptions.launch', () => {
  const launches: McpRunLaunch[] = [];
  const seen: SchedulerEvent['type'][] = [];
  let refuse = false;
  const world = connectedTree({ 'a.txt': 'alpha\n' }, (root) => ({
    config: { roots: [root] },
    launch: (launch) => {
      launches.push(launch);
      if (refuse) throw Object.assign(new Error('expected room for another run, got none'), { code: 'EMBEDDER_FULL' });
      return launch.start({ runId: 'embedder-run', journal: join(root, 'journal.ndjson'), onEvent: (event) => seen.push(event.type) });
    },
  }));

  it("starts the run with the embedder's run id, journal and listener; the tool answers as without it", async () => {
    const result = content(await world.mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'a', kind: 'read', input: { path: 'a.txt' } }] } }));
    expect(result).toMatchObject({ done: true, summary: { succeeded: 1 } });
    expect(launches).toHaveLength(1);
    expect(launches[0]).toMatchObject({ handle: result.handle, tool: 'fanout_read', principal: undefined, plan: { operations: [{ id: 'a', kind: 'read' }] } });
    expect(seen).toContain('op-finished');
    expect(seen.at(-1)).toBe('run-finished');
    const journal = (await readFile(join(world.root, 'journal.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(journal[0]).toMatchObject({ type: 'run', runId: 'embedder-run' });
    expect(journal.find((record) => record.type === 'op')).toMatchObject({ id: 'a', state: 'succeeded' });
  });

  it("answers the embedder's refusal as a tool error with its code", async () => {
    refuse = true;
    try {
      const result = await world.mcp.client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'a', kind: 'read', input: { path: 'a.txt' } }] } });
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({ error: { code: 'EMBEDDER_FULL', message: 'expected room for another run, got none' } });
    } finally {
      refuse = false;
    }
  });
});
