/**
 * `fanout-server --redis`: runs POSTed to the server execute their operations on a real
 * `fanout worker` child process over the real Redis (TEST_REDIS_URL, else 127.0.0.1:6379),
 * under a key prefix of this file's own, deleted afterwards. The report is the one a server
 * running the same plan in-process writes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearPrefix } from '@fanout/distributed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, connectMcp, runServerBin, type Served, startServer, tempDir, waitForState } from './helpers.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The built CLI: the test starts the worker a user would start. */
const CLI = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
const prefix = `fanout-server-test-${randomUUID()}`;

let tree: { dir: string; remove: () => Promise<void> };
let data: { dir: string; remove: () => Promise<void> };
/** A directory on the worker's PATH (and the in-process server's) only, with a `whereami` command. */
let markerDir: string;
const started: Served[] = [];
let worker: { child: ChildProcess; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } | undefined;

const plan = {
  name: 'served by a worker',
  operations: [
    { id: 'sources', kind: 'glob', input: { pattern: 'src/**/*.ts' } },
    { id: 'todo', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } },
    { id: 'heads', kind: 'read', input: { paths: { $ref: 'sources', path: 'files' }, head: 1 } },
    { id: 'count', kind: 'bash', input: { command: ['ls', 'src'] }, after: ['todo'] },
    // Found only on the PATH of the worker (and of the in-process server): the remote server
    // cannot run it itself, so its success says the worker ran it.
    { id: 'where', kind: 'bash', input: { command: ['whereami'] } },
    { id: 'missing', kind: 'read', input: { path: 'nope.txt' } },
  ],
};

function withPath(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` };
}

async function until(check: () => boolean, what: string, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${what}, waited ${tries} polls`);
}

/**
 * The report without what depends on timing or on the run's id: its budget's `used` counts
 * the Markdown, whose figures (wall time, speed-up) vary by a character or so.
 */
function stable(report: Record<string, unknown>): unknown {
  const copy = { ...report };
  delete copy.createdAt;
  delete copy.run;
  return JSON.parse(JSON.stringify(copy, (key, value) => (key === 'durationMs' || key === 'used' ? undefined : value)));
}

beforeAll(async () => {
  tree = await tempDir('fanout-server-redis-');
  data = await tempDir('fanout-server-redis-data-');
  await mkdir(join(tree.dir, 'src', 'deep'), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(tree.dir, 'src', `m${i}.ts`), `export const m${i} = ${i}; // TODO item ${i}\n`);
  await writeFile(join(tree.dir, 'src', 'deep', 'x.ts'), 'export const x = 1;\n');
  markerDir = join(data.dir, 'bin');
  await mkdir(markerDir);
  await writeFile(join(markerDir, 'whereami'), '#!/bin/sh\necho "on a worker"\n');
  await chmod(join(markerDir, 'whereami'), 0o755);
});

afterAll(async () => {
  for (const served of started) await served.stop();
  if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await clearPrefix(REDIS_URL, prefix);
  await clearPrefix(REDIS_URL, `${prefix}-mcp`);
  await tree?.remove();
  await data?.remove();
});

describe('fanout-server --redis', () => {
  it('refuses a --redis that is not a redis:// URL, and a Redis that does not answer, at start with exit 2', async () => {
    const bad = await runServerBin(['--redis', 'http://127.0.0.1:6379'], tree.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected --redis to be a redis:// or rediss:// URL, got "http://127.0.0.1:6379"');
    const alone = await runServerBin(['--redis-prefix', 'p'], tree.dir);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('expected --redis URL with --redis-prefix');
    const away = await runServerBin(['--port', '0', '--data-dir', join(data.dir, 'away'), '--redis', 'redis://127.0.0.1:1'], tree.dir);
    expect(away.code).toBe(2);
    expect(away.stderr).toContain('FANOUT_REDIS_UNAVAILABLE');
    expect(away.stderr).toContain('redis://127.0.0.1:1');
    expect(away.stdout).not.toContain('listening');
    // `fanout serve` passes the flags on, and the exit code back.
    const viaCli = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', join(data.dir, 'away-cli'), '--redis', 'redis://127.0.0.1:1'], { cwd: tree.dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stderr }));
    });
    expect(viaCli.code).toBe(2);
    expect(viaCli.stderr).toContain('FANOUT_REDIS_UNAVAILABLE');
  });

  it('runs a POSTed plan on a fanout worker process, with the report of a server that runs it in-process', async () => {
    const child = spawn(process.execPath, [CLI, 'worker', '--redis', REDIS_URL, '--redis-prefix', prefix, '--kinds', 'glob,grep,read,bash,analyze'], {
      cwd: tree.dir,
      env: withPath(markerDir),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    worker = { child, stderr: () => stderr, exited };
    await until(() => stderr.includes('serving') || child.exitCode !== null, 'the worker to say it serves');
    expect(stderr).toContain('serving glob, grep, read, bash, analyze');

    const remote = await startServer(['--allow-shell', '--data-dir', join(data.dir, 'remote'), '--redis', REDIS_URL, '--redis-prefix', prefix], tree.dir);
    started.push(remote);
    // The in-process server finds `whereami` on its PATH, as the worker does.
    const here = await startServer(['--allow-shell', '--data-dir', join(data.dir, 'here')], tree.dir, withPath(markerDir));
    started.push(here);

    const posted = await api(remote.url, '/v1/runs', { method: 'POST', json: plan });
    expect(posted.status).toBe(202);
    const done = await waitForState(remote.url, posted.body.id, ['succeeded', 'failed', 'cancelled']);
    const postedHere = await api(here.url, '/v1/runs', { method: 'POST', json: plan });
    const doneHere = await waitForState(here.url, postedHere.body.id, ['succeeded', 'failed', 'cancelled']);

    expect(done.state).toBe('failed'); // "missing" fails, both ways
    expect(doneHere.state).toBe('failed');
    expect(done.byState).toEqual({ ...doneHere.byState });
    expect(done.byState.succeeded).toBe(5);
    expect(JSON.stringify(done.report)).toContain('on a worker');
    expect(stable(done.report)).toEqual(stable(doneHere.report));

    // A profile's plan: its tools on the worker, its plan steps (ranking) in the server.
    const profile = { profile: 'explore-codebase', args: { size: 'small' } };
    const profiled = await waitForState(remote.url, (await api(remote.url, '/v1/runs', { method: 'POST', json: profile })).body.id, ['succeeded', 'failed', 'cancelled']);
    const profiledHere = await waitForState(here.url, (await api(here.url, '/v1/runs', { method: 'POST', json: profile })).body.id, ['succeeded', 'failed', 'cancelled']);
    expect(profiled.state).toBe('succeeded');
    expect(profiledHere.state).toBe('succeeded');
    expect(profiled.byState).toEqual(profiledHere.byState);
    expect(stable(profiled.report)).toEqual(stable(profiledHere.report));
    const byKind = profiled.summary.byKind as Record<string, { attempts: number }>;
    expect(byKind['rank-files']?.attempts).toBe(1);
    // Attempts of the tools (a fanned-out parent has none of its own), in both runs.
    const toolAttempts = (summary: { byKind: Record<string, { attempts: number }> }): number =>
      Object.entries(summary.byKind)
        .filter(([kind]) => kind !== 'rank-files')
        .reduce((n, [, counts]) => n + counts.attempts, 0);

    // Every tool operation was the worker's: it counts them as it stops.
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    const [, succeeded, failed] = /stopped; (\d+) succeeded, (\d+) failed/.exec(stderr) ?? [];
    expect(Number(succeeded) + Number(failed)).toBe(toolAttempts(done.summary) + toolAttempts(profiled.summary));
    expect(toolAttempts(done.summary)).toBe(plan.operations.length);
  }, 90_000);

  it('runs the operations of an MCP fanout_read on a fanout worker process', async () => {
    const mcpPrefix = `${prefix}-mcp`;
    // The same relative path in the server's tree and in the worker's (its own root): what
    // the call reads says where it ran.
    const workerTree = join(data.dir, 'worker-tree');
    await mkdir(workerTree);
    await writeFile(join(workerTree, 'where.txt'), 'read on a worker\n');
    await writeFile(join(tree.dir, 'where.txt'), 'read in the server\n');
    await writeFile(join(data.dir, 'tokens'), 'mcp-redis-token-0123456789\n');
    const child = spawn(process.execPath, [CLI, 'worker', '--redis', REDIS_URL, '--redis-prefix', mcpPrefix, '--kinds', 'glob,grep,read'], { cwd: workerTree, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const mcpWorker = { child, stderr: () => stderr, exited };
    try {
      await until(() => stderr.includes('serving') || child.exitCode !== null, 'the worker to say it serves');
      const remote = await startServer(['--token-file', join(data.dir, 'tokens'), '--data-dir', join(data.dir, 'mcp'), '--redis', REDIS_URL, '--redis-prefix', mcpPrefix], tree.dir);
      started.push(remote);
      const client = await connectMcp(remote.url, 'mcp-redis-token-0123456789', 'redis-e2e');
      try {
        const result = await client.callTool({ name: 'fanout_read', arguments: { operations: [{ id: 'where', kind: 'read', input: { path: 'where.txt' } }] } });
        expect(result.isError).not.toBe(true);
        const content = result.structuredContent as { summary: { succeeded: number }; operations: { id: string; output?: { files?: { text?: string }[] } }[] };
        expect(content.summary.succeeded).toBe(1);
        expect(content.operations[0]?.output?.files?.[0]?.text).toBe('read on a worker\n');
      } finally {
        await client.close();
      }
      // The worker counts it as it stops.
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(stderr).toMatch(/stopped; 1 succeeded, 0 failed/);
    } finally {
      if (mcpWorker.child.exitCode === null && mcpWorker.child.signalCode === null) mcpWorker.child.kill('SIGKILL');
      await mcpWorker.exited;
    }
  }, 90_000);
});
