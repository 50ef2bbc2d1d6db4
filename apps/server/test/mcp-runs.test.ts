/**
 * Runs started by the MCP tools at POST /mcp are the server's runs: listed in /v1/runs,
 * logged, their events replayed over SSE, counted against the token's limits, cancelled over
 * DELETE, and after kill -9 listed interrupted and resumed from their journal. The official
 * MCP client, the built server as a child process, real HTTP on loopback.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, connectMcp, mcpTree, READ_AND_GREP, readEvents, startServer, tempDir, type Served } from './helpers.js';

const TOKEN = 'mcp-runs-token-0123456789';
const OTHER = 'mcp-runs-other-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let temp: { dir: string; remove: () => Promise<void> };
const servers: Served[] = [];
const clients: Client[] = [];

beforeEach(async () => {
  temp = await tempDir();
  await mcpTree(temp.dir, [TOKEN, OTHER]);
});

afterEach(async () => {
  await writeFile(join(temp.dir, 'gate'), '');
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
  for (const served of servers.splice(0)) if (served.child.exitCode === null && served.child.signalCode === null) await served.stop();
  await temp.remove();
});

async function serve(args: string[] = []): Promise<Served> {
  const served = await startServer(['--token-file', 'tokens', '--data-dir', join(temp.dir, 'data'), ...args], temp.dir);
  servers.push(served);
  return served;
}

async function connect(served: Served, token = TOKEN): Promise<Client> {
  const client = await connectMcp(served.url, token, 'server-mcp-runs');
  clients.push(client);
  return client;
}

/** A command that waits for `gate` in the working directory. */
function gated(): unknown {
  return { id: 'wait', kind: 'bash', input: { command: ['sh', '-c', 'echo started >> ran.log; while [ ! -f gate ]; do sleep 0.02; done'], cwd: temp.dir }, timeoutMs: 60_000 };
}

/** Waits until the run's stream says its gated command started. */
async function untilStarted(url: string, id: string): Promise<void> {
  await readEvents(url, id, {
    headers: AUTH,
    until: (e) => {
      if (e.event !== 'event') return false;
      const data = JSON.parse(e.data);
      return data.type === 'op-started' && data.id === 'wait';
    },
  });
}

type ToolContent = { handle: string; state?: string; error?: { code: string; message: string } };

describe('runs of the MCP tools', () => {
  it('lists a fanout_read through /mcp in /v1/runs with its report, and replays its events over SSE', async () => {
    const served = await serve();
    const client = await connect(served);
    const result = await client.callTool({
      name: 'fanout_read',
      arguments: { operations: READ_AND_GREP },
    });
    expect(result.isError).not.toBe(true);
    const { handle } = result.structuredContent as ToolContent;

    const listed = await api(served.url, '/v1/runs', { headers: AUTH });
    expect(listed.status).toBe(200);
    expect(listed.body.runs).toHaveLength(1);
    const run = listed.body.runs[0];
    expect(run).toMatchObject({ operations: 2, starts: 1, mcp: { tool: 'fanout_read', handle } });
    expect(run.title).toMatch(/^fanout_read/);

    const events = await readEvents(served.url, run.id, { headers: AUTH });
    expect(events.at(-1)).toMatchObject({ event: 'end' });
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'succeeded' });
    const finished = events.filter((e) => e.event === 'event' && JSON.parse(e.data).type === 'op-finished').map((e) => JSON.parse(e.data));
    expect(finished.map((e) => [e.id, e.state]).sort()).toEqual([
      ['g', 'succeeded'],
      ['r', 'succeeded'],
    ]);
    // Ids 1, 2, 3… and Last-Event-ID resumes after one: the same events, from the next.
    const ids = events.filter((e) => e.event === 'event').map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const after = await readEvents(served.url, run.id, { headers: AUTH, lastEventId: '1' });
    expect(after.map((e) => e.data)).toEqual(events.slice(1).map((e) => e.data));

    const got = await api(served.url, `/v1/runs/${run.id}`, { headers: AUTH });
    expect(got.body).toMatchObject({ state: 'succeeded', summary: { byState: { succeeded: 2 } } });
    expect(got.body.markdown).toContain('a.ts');
    // Its log and journal are in the data directory like a submitted run's.
    const log = (await readFile(join(temp.dir, 'data', 'runs', `${run.id}.ndjson`), 'utf8')).trim().split('\n');
    expect(JSON.parse(log.at(-1)!)).toMatchObject({ type: 'run:meta', meta: { state: 'succeeded', mcp: { handle } } });
    expect(await readFile(join(temp.dir, 'data', 'runs', `${run.id}.journal.ndjson`), 'utf8')).toContain('"succeeded"');
  });

  it("counts against the token's runs: a tool over the limit answers FANOUT_SERVER_TOO_MANY_RUNS, a submit queues; DELETE cancels it", async () => {
    const served = await serve(['--allow-shell', '--max-runs', '1']);
    const client = await connect(served);
    const started = await client.callTool({ name: 'fanout_run', arguments: { operations: [gated()], deadlineMs: 0 } });
    expect(started.isError).not.toBe(true);
    const { handle } = started.structuredContent as ToolContent;
    const listed = await api(served.url, '/v1/runs', { headers: AUTH });
    const id: string = listed.body.runs[0].id;
    expect(listed.body.runs[0]).toMatchObject({ state: 'running', mcp: { tool: 'fanout_run', handle } });
    await untilStarted(served.url, id);

    // The token has its one run going: another tool call is refused with the code, not queued.
    const refused = await client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'src/a.ts' } }] } });
    expect(refused.isError).toBe(true);
    expect((refused.structuredContent as ToolContent).error?.code).toBe('FANOUT_SERVER_TOO_MANY_RUNS');
    // A plan POSTed with the same token waits behind it.
    const queued = await api(served.url, '/v1/runs', { method: 'POST', headers: AUTH, json: { operations: [{ id: 'r', kind: 'read', input: { path: 'src/a.ts' } }] } });
    expect(queued.status).toBe(202);
    expect(queued.body.state).toBe('queued');
    // Another token has runs of its own.
    const other = await connect(served, OTHER);
    const theirs = await other.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'r', kind: 'read', input: { path: 'src/a.ts' } }] } });
    expect(theirs.isError).not.toBe(true);

    const cancelled = await api(served.url, `/v1/runs/${id}`, { method: 'DELETE', headers: AUTH });
    expect(cancelled.status).toBe(202);
    const events = await readEvents(served.url, id, { headers: AUTH });
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'cancelled' });
    // The tool sees the same run cancelled.
    const status = await client.callTool({ name: 'fanout_status', arguments: { handle } });
    expect((status.structuredContent as { summary: { cancelled: number } }).summary.cancelled).toBe(1);
    // Its slot freed, the queued run goes.
    const next = await readEvents(served.url, queued.body.id, { headers: AUTH });
    expect(JSON.parse(next.at(-1)!.data)).toEqual({ state: 'succeeded' });
  });

  it('lists an MCP run interrupted by kill -9 as interrupted, and resumes it over POST /v1/runs/:id/resume', async () => {
    const first = await serve(['--allow-shell']);
    const client = await connect(first);
    const fast = { id: 'fast', kind: 'bash', input: { command: ['sh', '-c', 'echo fast >> ran.log'], cwd: temp.dir } };
    const started = await client.callTool({ name: 'fanout_run', arguments: { operations: [fast, gated()], deadlineMs: 0 } });
    expect(started.isError).not.toBe(true);
    const id: string = (await api(first.url, '/v1/runs', { headers: AUTH })).body.runs[0].id;
    await untilStarted(first.url, id);
    const journal = join(temp.dir, 'data', 'runs', `${id}.journal.ndjson`);
    for (let i = 0; i < 200 && !(await readFile(journal, 'utf8').catch(() => '')).includes('"succeeded"'); i++) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await serve(['--allow-shell']);
    const listed = await api(second.url, '/v1/runs', { headers: AUTH });
    expect(listed.body.runs).toEqual([expect.objectContaining({ id, state: 'interrupted', mcp: expect.objectContaining({ tool: 'fanout_run' }) })]);
    await writeFile(join(temp.dir, 'gate'), '');
    const resumed = await api(second.url, `/v1/runs/${id}/resume`, { method: 'POST', headers: AUTH });
    expect(resumed.status).toBe(202);
    const events = await readEvents(second.url, id, { headers: AUTH });
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'succeeded' });
    const run = await api(second.url, `/v1/runs/${id}`, { headers: AUTH });
    expect(run.body).toMatchObject({ state: 'succeeded', starts: 2, summary: { resumed: 1 } });
    // What succeeded before the kill did not run again.
    const ran = (await readFile(join(temp.dir, 'ran.log'), 'utf8')).trim().split('\n');
    expect(ran.filter((line) => line === 'fast')).toHaveLength(1);
  });
});
