/**
 * Several hosts on one machine: a `fanout worker` in a network namespace of its own, reaching
 * Redis only over a veth pair, runs the operations of a `fanout run --redis` started on the
 * host. Where the machine allows it: the test probes `ip netns add` (root, or CAP_SYS_ADMIN
 * and CAP_NET_ADMIN) and needs `redis-server` to start a Redis bound to the host's end of the
 * pair; without either it is skipped, saying why. The namespace, the pair and that Redis are
 * removed afterwards, whatever happened.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, fanout, stableReport, writeDistributedFixture } from './helpers.js';

const tag = randomBytes(4).toString('hex');
/** Names of our own (interface names have at most 15 characters). */
const NS = `fanout-test-${tag}`;
const HOST_IF = `fo${tag}h`;
const NS_IF = `fo${tag}n`;
/** A /30 of its own in 10.0.0.0/8, host end .1, namespace end .2. */
const net = `10.${200 + (parseInt(tag.slice(0, 2), 16) % 50)}.${parseInt(tag.slice(2, 4), 16)}`;
const HOST_IP = `${net}.1`;
const NS_IP = `${net}.2`;

/** Why the test cannot run here, if it cannot. */
let skipReason: string | undefined;
let dir: string;
let redis: ChildProcess | undefined;
let redisUrl: string;
let worker: { child: ChildProcess; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } | undefined;
let made = { ns: false, veth: false };

function sh(command: string, args: string[]): { ok: boolean; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: result.status === 0, out: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim() };
}

/** Runs a command that must succeed (the setup after the probe). */
function must(command: string, args: string[]): void {
  const { ok, out } = sh(command, args);
  if (!ok) throw new Error(`expected \`${command} ${args.join(' ')}\` to succeed, got: ${out}`);
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until(check: () => boolean, what: string, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`expected ${what}, waited ${tries} polls`);
}

beforeAll(async () => {
  if (process.platform !== 'linux') {
    skipReason = `network namespaces are Linux's; this is ${process.platform}`;
    return;
  }
  if (!sh('redis-server', ['--version']).ok) {
    skipReason = 'redis-server is not installed (it serves the Redis bound to the host end of the veth pair)';
    return;
  }
  const probe = sh('ip', ['netns', 'add', NS]);
  if (!probe.ok) {
    skipReason = `\`ip netns add\` is not allowed here (${probe.out || 'no output'}): it needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN`;
    return;
  }
  made.ns = true;
  const veth = sh('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
  if (!veth.ok) {
    skipReason = `a veth pair cannot be made here: ${veth.out}`;
    return;
  }
  made.veth = true;
  must('ip', ['link', 'set', NS_IF, 'netns', NS]);
  must('ip', ['addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF]);
  must('ip', ['link', 'set', HOST_IF, 'up']);
  must('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF]);
  must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
  must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);

  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-netns-'));
  await mkdir(join(dir, 'redis'));
  await writeDistributedFixture(dir, 'across a veth pair', 4);

  // A Redis of this test's own, reachable only on the host's end of the pair.
  const port = await freePort(HOST_IP);
  redisUrl = `redis://${HOST_IP}:${port}`;
  const server = spawn('redis-server', ['--bind', HOST_IP, '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', join(dir, 'redis')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  redis = server;
  let log = '';
  server.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  await until(() => log.includes('Ready to accept connections') || server.exitCode !== null, `redis-server on ${redisUrl} to be ready`);
  if (server.exitCode !== null) throw new Error(`expected redis-server to start on ${redisUrl}, got exit ${server.exitCode}: ${log}`);
}, 60_000);

afterAll(async () => {
  if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  if (redis !== undefined && redis.exitCode === null && redis.signalCode === null) {
    const gone = new Promise((resolve) => redis!.once('exit', resolve));
    redis.kill('SIGKILL');
    await gone;
  }
  // Deleting the namespace deletes its end of the pair, and so the pair; the host end is
  // deleted by name in case the move into the namespace never happened.
  if (made.ns) sh('ip', ['netns', 'del', NS]);
  if (made.veth) sh('ip', ['link', 'del', HOST_IF]);
  made = { ns: false, veth: false };
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('fanout worker in a network namespace of its own', () => {
  it('runs the operations of fanout run --redis over a veth pair, with the report of a run here', async (context) => {
    if (skipReason !== undefined) {
      context.skip(skipReason);
      return;
    }
    // The worker's network: only its end of the pair (and its own loopback).
    expect(sh('ip', ['netns', 'exec', NS, 'ip', '-o', '-4', 'addr', 'show']).out).toContain(NS_IP);

    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, BIN, 'worker', '--redis', redisUrl, '--redis-prefix', `fanout-netns-${tag}`, '--kinds', 'glob,grep,read,bash'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    worker = { child, stderr: () => stderr, exited };
    await until(() => stderr.includes('serving') || child.exitCode !== null, 'the worker in the namespace to say it serves');
    expect(stderr).toContain(`serving glob, grep, read, bash from ${redisUrl}`);
    // `ip netns exec` runs node in the namespace: the worker's process is in it, not in ours.
    const [theirs, ours, named] = await Promise.all([stat(`/proc/${child.pid}/ns/net`), stat('/proc/self/ns/net'), stat(`/run/netns/${NS}`)]);
    expect(theirs.ino).toBe(named.ino);
    expect(theirs.ino).not.toBe(ours.ino);

    const remote = await fanout(['run', 'plan.json', '--redis', redisUrl, '--redis-prefix', `fanout-netns-${tag}`, '--json'], { cwd: dir });
    const here = await fanout(['run', 'plan.json', '--json'], { cwd: dir });
    expect(remote.code).toBe(1); // "missing" fails, both ways
    expect(here.code).toBe(1);
    expect(remote.stderr).toMatch(/glob 1, grep 1, read 1, bash 1/);
    expect(stableReport(remote.stdout)).toEqual(stableReport(here.stdout));

    // Every operation crossed the pair: the worker counts them as it stops.
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/stopped; 4 succeeded, 1 failed/);
  }, 90_000);
});
