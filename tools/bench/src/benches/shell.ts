import { spawn } from 'node:child_process';
import type { OperationSpec } from '@fanout/scheduler';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

const PROGRAM = '/usr/bin/true';
const CONCURRENCY = 16;

function size(quick: boolean): number {
  return quick ? 20 : 200;
}

/** Runs `n` tasks, `CONCURRENCY` at a time: how the anchors are driven. */
async function pooled(n: number, task: () => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** The anchor: `child_process.spawn` with its defaults, output collected, done at 'close'. */
function rawSpawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROGRAM);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${PROGRAM} exited with ${code}`))));
  });
}

/**
 * One way to run `n` spawns, 16 at a time, ready to be timed. Modules are imported here, not
 * at the top, so that no other benchmark's worker pays for execa's import (0.1–0.14 s) or
 * carries it in its RSS.
 */
async function prepare(subject: Subject, n: number): Promise<() => Promise<void>> {
  switch (subject.name) {
    case 'fanout': {
      const [{ createScheduler }, { bashAdapter }] = await Promise.all([import('@fanout/scheduler'), import('@fanout/adapters/shell')]);
      const scheduler = createScheduler({ adapters: [bashAdapter()] });
      // One plan of n operations through the scheduler: the cost of a real run, all of it.
      return async () => {
        const operations: OperationSpec[] = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'bash', input: { command: [PROGRAM] } }));
        const result = await scheduler.execute({ operations }, { limits: { bash: { limiter: 'fixed', max: CONCURRENCY } } });
        if (!result.ok) throw new Error('fanout: not every spawn succeeded');
      };
    }
    case 'child_process.spawn':
      return () => pooled(n, rawSpawn);
    case 'execa': {
      const { execa } = await import('execa');
      const tuned = subject.params?.options === 'tuned';
      // What the adapter would need from execa at best (see src/shell/bash-adapter.ts in @fanout/adapters).
      const options = tuned ? ({ buffer: false, stripFinalNewline: false, extendEnv: false, env: { PATH: process.env.PATH ?? '' }, cleanup: false, detached: true, stdin: 'ignore', reject: false } as const) : {};
      const once = async (): Promise<void> => {
        const child = execa(PROGRAM, options);
        if (tuned) {
          child.stdout?.on('data', () => {});
          child.stderr?.on('data', () => {});
        }
        await child;
      };
      return () => pooled(n, once);
    }
    default:
      throw new Error(`unknown subject ${subject.name}`);
  }
}

/**
 * `shell-spawn`: the cost of a process through fanout (scheduler + `bash` adapter, one plan of
 * 200 operations) against the raw `child_process.spawn` floor and execa 9 (defaults, and tuned
 * with every option that saves time), each in a fresh process, in the same run. Figures: wall,
 * wall per spawn and CPU of the Node process per spawn (the fork runs in it; steadier than
 * wall on a shared machine). Goal: fanout at most 1.5× raw spawn's wall.
 */
export const shellSpawn: Bench = {
  name: 'shell-spawn',
  description: `200 × ${PROGRAM}, ${CONCURRENCY} at a time: fanout's scheduler + bash adapter against child_process.spawn and execa 9 in the same process (quick: 20)`,
  subjects: () => [{ name: 'fanout' }, { name: 'child_process.spawn' }, { name: 'execa', params: { options: 'defaults' } }, { name: 'execa', params: { options: 'tuned' } }],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = size(quick);
    // Warm-up on a tenth of the work (JIT, module state, the first fork of a fresh heap).
    const warm = await prepare(subject, Math.max(10, n / 10));
    await warm();
    const go = await prepare(subject, n);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await go();
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu0);
    // CPU of this process (the fork happens in it): steadier than wall on a shared machine.
    const cpu = (used.user + used.system) / 1000;
    return { wall_ms: wall, ms_per_op: wall / n, cpu_ms_per_op: cpu / n, ops_per_s: (n / wall) * 1000 };
  },
  goals(rows: Row[]): string[] {
    const ours = find(rows, 'shell-spawn', 'fanout', 'wall_ms');
    const raw = find(rows, 'shell-spawn', 'child_process.spawn', 'wall_ms');
    if (ours === undefined || raw === undefined) return [];
    const ratio = ours.value / raw.value;
    return [`goal: fanout + bash adapter at most 1.5× raw child_process.spawn (wall, 200 spawns at 16): ${ratio.toFixed(2)}× — ${check(ratio <= 1.5)}`];
  },
};

/**
 * One plan of `n` spawns through the scheduler and a `bash` adapter with the given spawner,
 * 16 at a time. The adapter is made here, so a server-mode run starts with no worker and
 * pays for spawning its pool, as a fresh `fanout exec` would.
 */
async function spawnerRun(spawner: 'direct' | 'server', n: number): Promise<{ go(): Promise<void>; close(): Promise<void> }> {
  const [{ createScheduler }, { bashAdapter }] = await Promise.all([import('@fanout/scheduler'), import('@fanout/adapters/shell')]);
  const adapter = bashAdapter({ spawner });
  const scheduler = createScheduler({ adapters: [adapter] });
  return {
    async go() {
      const operations: OperationSpec[] = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'bash', input: { command: [PROGRAM] } }));
      const result = await scheduler.execute({ operations }, { limits: { bash: { limiter: 'fixed', max: CONCURRENCY } } });
      if (!result.ok) throw new Error(`fanout (${spawner} spawner): not every spawn succeeded`);
    },
    close: () => adapter.close(),
  };
}

/**
 * `shell-spawner`: the `bash` adapter's two spawners side by side, with the raw
 * `child_process.spawn` floor, each in a fresh process, in the same run: 200 ×
 * /usr/bin/true at 16 through the scheduler. `spawner: 'server'` forks in a pool of small
 * bash workers, so Node's main thread no longer forks itself per command; the figures are
 * wall, wall per spawn and the CPU of the Node process per spawn (the part the server mode
 * takes off the main thread). The pool is started inside the measured run.
 */
export const shellSpawner: Bench = {
  name: 'shell-spawner',
  description: `200 × ${PROGRAM}, ${CONCURRENCY} at a time through the scheduler: bash adapter with spawner 'server' vs 'direct' vs raw child_process.spawn (quick: 20)`,
  subjects: () => [{ name: 'fanout', params: { spawner: 'server' } }, { name: 'fanout', params: { spawner: 'direct' } }, { name: 'child_process.spawn' }],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = size(quick);
    const spawner = subject.params?.spawner;
    if (subject.name === 'fanout' && spawner !== 'server' && spawner !== 'direct') throw new Error(`shell-spawner: unknown spawner ${JSON.stringify(spawner)}`);
    const prepared = async (count: number) => (subject.name === 'fanout' ? spawnerRun(spawner as 'direct' | 'server', count) : { go: () => pooled(count, rawSpawn), close: async () => {} });
    // Warm-up on a tenth of the work (JIT, module state, the first fork of a fresh heap), with
    // its own adapter, closed before the measured run.
    const warm = await prepared(Math.max(10, n / 10));
    await warm.go();
    await warm.close();
    const measured = await prepared(n);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    await measured.go();
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu0);
    await measured.close();
    const cpu = (used.user + used.system) / 1000;
    return { wall_ms: wall, ms_per_op: wall / n, cpu_ms_per_op: cpu / n, ops_per_s: (n / wall) * 1000 };
  },
  goals(rows: Row[]): string[] {
    const server = find(rows, 'shell-spawner', 'fanout', 'wall_ms', { spawner: 'server' });
    const direct = find(rows, 'shell-spawner', 'fanout', 'wall_ms', { spawner: 'direct' });
    const raw = find(rows, 'shell-spawner', 'child_process.spawn', 'wall_ms');
    if (server === undefined || direct === undefined || raw === undefined) return [];
    const cpu = (spawner: string) => find(rows, 'shell-spawner', 'fanout', 'cpu_ms_per_op', { spawner })?.value ?? NaN;
    return [
      `spawner 'server' vs 'direct' (wall, same run): ${(direct.value / server.value).toFixed(2)}× faster (${server.value.toFixed(0)} vs ${direct.value.toFixed(0)} ms); Node CPU per spawn ${cpu('server').toFixed(2)} vs ${cpu('direct').toFixed(2)} ms`,
      `spawner 'server' vs raw child_process.spawn (wall, same run): ${(server.value / raw.value).toFixed(2)}× its time (${server.value.toFixed(0)} vs ${raw.value.toFixed(0)} ms)`,
    ];
  },
};

/** Benchmarks of the shell work, registered in ./index.ts. */
export const shellBenches: Bench[] = [shellSpawn, shellSpawner];
