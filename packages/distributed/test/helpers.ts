import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearPrefix } from '../src/index.js';

/** The Redis the tests use: `.ci/run` exports TEST_REDIS_URL when it starts one. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const WORKER = join(import.meta.dirname, 'fixtures', 'worker.mjs');

/** A key prefix of one test, and a cleanup that deletes every key under it. */
export function testPrefix(): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `fanout-test-${randomUUID()}`;
  return {
    prefix,
    async cleanup() {
      await clearPrefix(REDIS_URL, prefix);
    },
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fanout-distributed-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** How many times each operation really ran (its side-effect file's lines). */
export function runCounts(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.runs')) continue;
    out[decodeURIComponent(name.slice(0, -5))] = readFileSync(join(dir, name), 'utf8').trim().split('\n').length;
  }
  return out;
}

/** Operations started (before their pause), with the pid that started each. */
export function starts(dir: string): { id: string; pid: number }[] {
  let text = '';
  try {
    text = readFileSync(join(dir, 'started'), 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [id, pid] = line.split(' ');
      return { id: id!, pid: Number(pid) };
    });
}

/** A worker child process, resolved once it takes jobs. */
export interface WorkerChild {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startWorkerChild(prefix: string, concurrency = 4, graceMs = 30_000, url = REDIS_URL): Promise<WorkerChild> {
  const held = await loadWorkerChild(prefix, concurrency, graceMs, url);
  await held.start();
  return held;
}

/** A worker child loaded but not started: `start()` starts it (SIGUSR2) and resolves once it takes jobs. */
export interface HeldWorkerChild extends WorkerChild {
  start(): Promise<void>;
}

/**
 * A worker child with its modules loaded and its worker not yet started: for a test that needs
 * a second worker at a precise moment (a cold start takes seconds on a loaded machine).
 */
export async function loadWorkerChild(prefix: string, concurrency = 4, graceMs = 30_000, url = REDIS_URL): Promise<HeldWorkerChild> {
  const child = spawn(process.execPath, [WORKER, url, prefix, String(concurrency), String(graceMs), 'held'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const printed = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onData = (): void => {
        if (out.includes(line)) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      onData();
      void exited.then(({ code }) => reject(new Error(`worker exited ${code} before it printed ${JSON.stringify(line)}: ${err}`)));
    });
  await printed('loaded\n');
  return {
    child,
    output: () => out + err,
    exited,
    start: async () => {
      child.kill('SIGUSR2');
      await printed('ready\n');
    },
  };
}

/** Resolves once `condition` holds, looking every `everyMs` (for conditions on files other processes write). */
export async function until(condition: () => boolean, everyMs = 20): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, everyMs));
}

/** Whether Debian's redis-server is on this machine (for the tests that restart a Redis of their own). */
export const HAS_REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server of a test's own on `port`, keeping nothing on disk; resolves once it answers. */
export async function startRedisServer(port: number): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (;;) {
    const reply = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim();
    if (reply === 'PONG') break;
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
