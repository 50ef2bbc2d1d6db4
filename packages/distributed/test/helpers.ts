import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearPrefix } from '../src/index.js';

/** The Redis the tests use: `.ci/run` exports FANOUT_TEST_REDIS_URL when it starts one. */
export const REDIS_URL = process.env.FANOUT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

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

export async function startWorkerChild(prefix: string, concurrency = 4, graceMs = 30_000): Promise<WorkerChild> {
  const child = spawn(process.execPath, [WORKER, REDIS_URL, prefix, String(concurrency), String(graceMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (out.includes('ready\n')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code }) => reject(new Error(`worker exited ${code} before it was ready: ${err}`)));
  });
  return { child, output: () => out + err, exited };
}

/** Resolves once `condition` holds, looking every `everyMs` (for conditions on files other processes write). */
export async function until(condition: () => boolean, everyMs = 20): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, everyMs));
}
