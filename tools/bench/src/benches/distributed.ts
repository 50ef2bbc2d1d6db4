/**
 * distributed-scale: the same plans in-process and on 1, 2 and 4 worker processes over Redis
 * (@fanout/distributed), and the time a kill -9 of a worker costs.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearPrefix, createExecutor, type Distributed, distribute, jobIdOf, queueName } from '@fanout/distributed';
import { type Adapter, createScheduler, type OperationSpec, type PoolOptions } from '@fanout/scheduler';
import { benchAdapters, FETCH_LIMIT } from '../distributed-adapters.js';
import { analyse, readJobs, readSpans } from '../distributed-trace.js';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { idealFetchMs, startServer } from './web.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WORKER = fileURLToPath(new URL('../distributed-worker.js', import.meta.url));
const WORKER_COUNTS = [1, 2, 4];
const SPIN_ROUNDS = 1_000;
/** Each worker's own concurrency per kind; the limit across workers is the executor's. */
const PER_WORKER = { fetch: FETCH_LIMIT, spin: 1, noop: 64, hold: 8 };
/**
 * Long enough that a second worker started on a loaded machine (seconds, at load 15–20) is up
 * before the held operations would have ended on their own.
 */
const HOLD_MS = 12_000;
const PLANS = ['io', 'cpu', 'noop', 'burst', 'recovery'] as const;
/**
 * Warm-up fetches per round (3 rounds) for each process that runs the I/O plan. With 500 a
 * round for the whole run, each of 4 workers saw 375 and ran the measured plan half-optimised;
 * measured (load 10-20, alternating, 2 runs each): 1 worker 2.1-2.4 s with 2,000 a round vs
 * 3.4-4.3 s with 500, CPU per operation (executor, worker, Redis) 0.69-0.71 vs 0.82-0.92 ms;
 * 4 workers 4.0-7.7 s with 500 a round per worker vs 12.2-13.8 s with 500 for all of them.
 * fetch-fanout found the same: fanout's path is steady after about 3,000 operations.
 */
const WARM_FETCHES = 1_000;

/** The plans to measure: `BENCH_DISTRIBUTED_PLANS=io,recovery` (default: all of them). */
function chosenPlans(): Set<string> {
  const raw = process.env.BENCH_DISTRIBUTED_PLANS;
  if (raw === undefined || raw.trim() === '') return new Set(PLANS);
  const chosen = raw.split(',').map((p) => p.trim());
  for (const plan of chosen) if (!(PLANS as readonly string[]).includes(plan)) throw new Error(`distributed-scale: expected BENCH_DISTRIBUTED_PLANS to name plans among ${PLANS.join(', ')}, got ${JSON.stringify(plan)}`);
  return new Set(chosen);
}

type PlanName = 'io' | 'cpu' | 'noop' | 'burst';

function sizes(quick: boolean): Record<PlanName, number> {
  return quick ? { io: 200, cpu: 20, noop: 50, burst: 200 } : { io: 2_000, cpu: 200, noop: 300, burst: 2_000 };
}

function redisAnswers(): string | undefined {
  try {
    const reply = execFileSync('redis-cli', ['-u', REDIS_URL, 'ping'], { encoding: 'utf8', timeout: 3_000 }).trim();
    return reply === 'PONG' ? undefined : `redis-cli ping ${REDIS_URL} answered ${JSON.stringify(reply)}`;
  } catch (error) {
    return `no Redis answers at ${REDIS_URL} (set BENCH_REDIS_URL): ${(error as Error).message.split('\n')[0]}`;
  }
}

interface Workers {
  children: ChildProcess[];
  stop(): Promise<void>;
}

async function startWorkers(count: number, prefix: string, traceDir?: string): Promise<Workers> {
  const children = await Promise.all(Array.from({ length: count }, () => startWorker(prefix, traceDir)));
  return {
    children,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

function startWorker(prefix: string, traceDir: string | undefined): Promise<ChildProcess> {
  const env = traceDir === undefined ? process.env : { ...process.env, BENCH_DISTRIBUTED_TRACE_DIR: traceDir };
  const child = spawn(process.execPath, [WORKER, REDIS_URL, prefix, JSON.stringify(PER_WORKER)], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('ready\n')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`distributed-scale: a worker exited with ${code} before it was ready`)));
  });
}

function planOf(name: PlanName, n: number, origin: string, path = '/'): { operations: OperationSpec[] } {
  return {
    operations: Array.from({ length: n }, (_, i): OperationSpec => {
      if (name === 'io') return { id: `f${i}`, kind: 'fetch', input: { url: `${origin}${path}${i}` } };
      if (name === 'cpu') return { id: `s${i}`, kind: 'spin', input: { rounds: SPIN_ROUNDS } };
      // All at once: the hand-off's cost per operation when it is pipelined.
      if (name === 'burst') return { id: `b${i}`, kind: 'noop', input: { i } };
      // One after another: the hand-off's latency, not its throughput.
      return { id: `n${i}`, kind: 'noop', input: { i }, ...(i === 0 ? {} : { after: [`n${i - 1}`] }) };
    }),
  };
}

/** Runs a plan in-process (workers 0) or on `workers` worker processes; returns its wall time. */
async function runPlan(name: PlanName, workers: number, quick: boolean): Promise<Measurement> {
  const n = sizes(quick)[name];
  const server = name === 'io' ? await startServer() : undefined;
  const prefix = `fanout-bench-${randomUUID()}`;
  const local = benchAdapters();
  const traceDir = process.env.BENCH_DISTRIBUTED_TRACE === '1' && name === 'io' && workers > 0 ? mkdtempSync(join(tmpdir(), 'fanout-bench-trace-')) : undefined;
  const pool = workers === 0 ? undefined : await startWorkers(workers, prefix, traceDir);
  const limit: Record<PlanName, number> = { io: FETCH_LIMIT, cpu: Math.max(1, workers), noop: 1, burst: 64 };
  const kind = { io: 'fetch', cpu: 'spin', noop: 'noop', burst: 'noop' }[name];
  const configured: Record<string, PoolOptions> = { [kind]: { limiter: 'fixed', max: limit[name] } };
  // On workers, the scheduler's limits are what `fanout run --redis` gives it (twice the limit
  // across workers queued or running: QUEUED_PER_LIMIT of @fanout/distributed).
  let distributed: Distributed | undefined;
  let measured: Measurement;
  let traced: { jobs: ReturnType<typeof readJobs>; runId: string; from: number; to: number } | undefined;
  try {
    distributed = workers === 0 ? undefined : await distribute({ redis: REDIS_URL, prefix, adapters: local, limits: configured });
    const pools = distributed?.limits ?? configured;
    // One origin: the per-host sub-limit is the kind's whole limit here.
    const limits: Record<string, PoolOptions> = name === 'io' ? { [kind]: { ...pools[kind], keyLimit: pools[kind]?.max ?? limit[name] } } : pools;
    const scheduler = createScheduler({ adapters: (distributed?.adapters ?? local) as Adapter[] });
    const origin = server?.origin ?? '';
    // Warm-up alike for every subject: code optimised, connections (HTTP and Redis) open. The
    // I/O plan warms each process that runs it with as many fetches (WARM_FETCHES per worker
    // process, the jobs spreading over them), so that 4 workers are as warm as 1.
    const warmSize = name === 'io' ? (quick ? 100 : WARM_FETCHES) * Math.max(1, workers) : Math.min(n, 20);
    for (let round = 0; round < 3; round++) {
      const warm = await scheduler.execute(planOf(name, warmSize, origin, '/warm/'), { limits });
      if (!warm.ok) throw new Error(`distributed-scale: the ${name} warm-up failed`);
    }
    await server?.mostInFlight(); // counts from here
    const before = costs(pool?.children ?? []);
    const runId = randomUUID();
    const from = Date.now();
    const start = performance.now();
    const plan = planOf(name, n, origin);
    const result = await scheduler.execute(plan, { limits, runId });
    const wall = performance.now() - start;
    const to = Date.now();
    const after = costs(pool?.children ?? []);
    if (!result.ok) throw new Error(`distributed-scale: the ${name} plan failed: ${JSON.stringify([...result.operations()].find((op) => op.state !== 'succeeded'))}`);
    measured = { wall_ms: wall, ops_per_s: (n / wall) * 1000, ms_per_op: wall / n, operations: n };
    // The limit is the most fetches in flight at once, whatever the workers hold ahead of it.
    if (server !== undefined) measured.server_in_flight_max = await server.mostInFlight();
    if (before !== undefined && after !== undefined) {
      measured.cpu_ms_per_op = (after.cpuMs - before.cpuMs) / n;
      if (workers > 0) {
        measured.cpu_here_ms_per_op = (after.hereMs - before.hereMs) / n;
        measured.cpu_workers_ms_per_op = (after.workersMs - before.workersMs) / n;
        measured.cpu_redis_ms_per_op = (after.redisMs - before.redisMs) / n;
      }
      measured.redis_cmds_per_op = (after.redisCommands - before.redisCommands) / n;
    }
    if (traceDir !== undefined && distributed !== undefined) {
      const queue = `${prefix}:${queueName(kind)}`;
      traced = {
        jobs: readJobs(
          REDIS_URL,
          (opId) => `${queue}:${jobIdOf(runId, opId, 1)}`,
          plan.operations.map((op) => op.id),
        ),
        runId,
        from,
        to,
      };
    }
  } finally {
    await distributed?.executor.close();
    await pool?.stop();
    await Promise.all(local.map((adapter) => adapter.close?.()));
    await server?.stop();
    await clearPrefix(REDIS_URL, prefix);
  }
  if (traceDir !== undefined) {
    try {
      if (traced !== undefined) Object.assign(measured, analyse(traced.jobs, readSpans(traceDir, traced.runId), limit[name], traced.from, traced.to));
    } finally {
      rmSync(traceDir, { recursive: true, force: true });
    }
  }
  return measured;
}

/**
 * What a run costs, counted before and after it: the CPU time of this process (executor and
 * scheduler, or everything in-process), of the worker processes and of Redis (all its clients:
 * the figure is only clean when nothing else uses it), and the commands Redis has run (those
 * its scripts call included). On a loaded machine the wall time says more about the other
 * processes than about the hand-off; these say what each operation costs wherever it runs,
 * in total and split (this process, the workers, Redis): only the workers' share and Redis's
 * lie between one fetch's end and the next one's start on a worker. Undefined where /proc or redis-cli is missing.
 */
function costs(workers: readonly ChildProcess[]): { cpuMs: number; hereMs: number; workersMs: number; redisMs: number; redisCommands: number } | undefined {
  try {
    const own = process.cpuUsage();
    const hereMs = (own.user + own.system) / 1000;
    let workersMs = 0;
    for (const child of workers) {
      // utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux).
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      workersMs += (Number(fields[11]) + Number(fields[12])) * 10;
    }
    const info = execFileSync('redis-cli', ['-u', REDIS_URL, 'info', 'all'], { encoding: 'utf8', timeout: 3_000 });
    const redisMs = (Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1])) * 1000;
    let redisCommands = 0;
    for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) redisCommands += Number(match[1]);
    const cpuMs = hereMs + workersMs + redisMs;
    return Number.isFinite(cpuMs) ? { cpuMs, hereMs, workersMs, redisMs, redisCommands } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kill -9 of a worker holding 8 idempotent operations of 6 s: the time from the kill to the
 * last of them starting again on the other worker, and to the end of the run.
 */
async function recovery(): Promise<Measurement> {
  const prefix = `fanout-bench-${randomUUID()}`;
  const dir = mkdtempSync(join(tmpdir(), 'fanout-bench-recovery-'));
  const local = benchAdapters();
  const first = await startWorkers(1, prefix);
  const executor = createExecutor({ redis: REDIS_URL, prefix, adapters: local });
  let second: Workers | undefined;
  try {
    await executor.ready();
    const scheduler = createScheduler({ adapters: executor.adapters as Adapter[] });
    const ops = 8;
    const run = scheduler.run({ operations: Array.from({ length: ops }, (_, i) => ({ id: `h${i}`, kind: 'hold', input: { ms: HOLD_MS, dir } })) });
    const startsOf = (): string[][] => {
      try {
        return readFileSync(join(dir, 'starts'), 'utf8')
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => l.split(' '));
      } catch {
        return [];
      }
    };
    while (startsOf().length < ops) await new Promise((resolve) => setTimeout(resolve, 10));
    second = await startWorkers(1, prefix);
    const victim = first.children[0]!;
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    if (Math.max(...startsOf().map(([, , at]) => Number(at))) + HOLD_MS <= killedAt) throw new Error('distributed-scale: the second worker started after the operations had ended; nothing to recover');
    const result = await run.result;
    const endedAt = Date.now();
    if (!result.ok) throw new Error('distributed-scale: the recovery run failed');
    const restarts = startsOf().filter(([, pid]) => Number(pid) === second!.children[0]!.pid);
    if (restarts.length !== ops) throw new Error(`distributed-scale: expected ${ops} restarts on the second worker, got ${restarts.length}`);
    const lastRestart = Math.max(...restarts.map(([, , at]) => Number(at)));
    return { recovery_ms: lastRestart - killedAt, end_after_kill_ms: endedAt - killedAt };
  } finally {
    await executor.close();
    await first.stop();
    await second?.stop();
    await Promise.all(local.map((adapter) => adapter.close?.()));
    await clearPrefix(REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  }
}

export const distributedScale: Bench = {
  name: 'distributed-scale',
  description: `in-process vs 1, 2 and 4 worker processes over Redis (${REDIS_URL}): 2,000 fetches of a 50 ms loopback server at a limit of ${FETCH_LIMIT}; 200 CPU-bound operations (~20 ms of SHA-256 each); 300 chained no-ops (the hand-off's latency) and 2,000 at once (its cost when pipelined); recovery after kill -9 (quick: 200, 20, 50 and 200 operations, on 2 workers — 1 for no-ops and bursts — and no recovery run)`,
  subjects(quick: boolean) {
    const skip = redisAnswers();
    const subjects: Subject[] = [];
    // Quick (npm test's smoke run): each plan once in-process and once over workers, and no
    // recovery run, which waits out a 12 s hold (@fanout/distributed's tests kill a worker too).
    const workerCounts = quick ? [2] : WORKER_COUNTS;
    for (const plan of ['io', 'cpu'] as const) {
      subjects.push({ name: 'in-process', params: { plan, workers: 0 } });
      for (const workers of workerCounts) subjects.push({ name: 'workers', params: { plan, workers } });
    }
    subjects.push({ name: 'in-process', params: { plan: 'noop', workers: 0 } }, { name: 'workers', params: { plan: 'noop', workers: 1 } });
    subjects.push({ name: 'in-process', params: { plan: 'burst', workers: 0 } }, { name: 'workers', params: { plan: 'burst', workers: 1 } });
    if (!quick) subjects.push({ name: 'workers', params: { plan: 'burst', workers: 2 } }, { name: 'workers', params: { plan: 'recovery', workers: 2 } });
    const plans = chosenPlans();
    const chosen = subjects.filter((subject) => plans.has(String(subject.params?.plan)));
    return skip === undefined ? chosen : chosen.map((subject) => ({ ...subject, skip }));
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const { plan, workers } = subject.params as { plan: PlanName | 'recovery'; workers: number };
    if (plan === 'recovery') return recovery();
    return runPlan(plan, workers, quick);
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    const wall = (plan: string, workers: number): number | undefined => find(rows, 'distributed-scale', workers === 0 ? 'in-process' : 'workers', 'wall_ms', { plan, workers })?.value;
    const ioInProcess = wall('io', 0);
    if (ioInProcess !== undefined) {
      const n = find(rows, 'distributed-scale', 'in-process', 'operations', { plan: 'io', workers: 0 })?.value ?? 0;
      const ideal = idealFetchMs(n, FETCH_LIMIT);
      lines.push(`io: ideal ⌈${n} / ${FETCH_LIMIT}⌉ × 50 ms = ${ideal} ms; in-process ${(ioInProcess / ideal).toFixed(3)}× ideal`);
      for (const workers of WORKER_COUNTS) {
        const w = wall('io', workers);
        if (w !== undefined)
          lines.push(`goal: io on ${workers} worker${workers === 1 ? '' : 's'} within 10% of ideal: ${(w / ideal).toFixed(3)}× ideal (${((w / ideal - 1) * 100).toFixed(1)}%) — ${check(w <= ideal * 1.1)}`);
      }
      for (const workers of [0, ...WORKER_COUNTS]) {
        const most = find(rows, 'distributed-scale', workers === 0 ? 'in-process' : 'workers', 'server_in_flight_max', { plan: 'io', workers })?.value;
        if (most !== undefined)
          lines.push(
            `goal: io ${workers === 0 ? 'in-process' : `on ${workers} worker${workers === 1 ? '' : 's'}`}, fetches in flight at the server never over the limit: at most ${most} of ${FETCH_LIMIT} — ${check(most <= FETCH_LIMIT)}`,
          );
      }
    }
    const cpuInProcess = wall('cpu', 0);
    if (cpuInProcess !== undefined) {
      const cores = cpus().length;
      for (const workers of WORKER_COUNTS) {
        const w = wall('cpu', workers);
        if (w === undefined) continue;
        const ideal = cpuInProcess / Math.min(workers, cores);
        lines.push(`cpu on ${workers} worker${workers === 1 ? '' : 's'}: ${(cpuInProcess / w).toFixed(2)}× in-process; ideal ${Math.min(workers, cores)}× (${cores} cores) — ${(w / ideal).toFixed(2)}× the ideal time`);
      }
    }
    for (const workers of [0, ...WORKER_COUNTS]) {
      const cpu = find(rows, 'distributed-scale', workers === 0 ? 'in-process' : 'workers', 'cpu_ms_per_op', { plan: 'io', workers })?.value;
      const commands = find(rows, 'distributed-scale', workers === 0 ? 'in-process' : 'workers', 'redis_cmds_per_op', { plan: 'io', workers })?.value;
      const part = (metric: string): string => find(rows, 'distributed-scale', 'workers', metric, { plan: 'io', workers })?.value.toFixed(2) ?? '?';
      const split = workers === 0 ? 'this process' : `this process ${part('cpu_here_ms_per_op')}, workers ${part('cpu_workers_ms_per_op')}, Redis ${part('cpu_redis_ms_per_op')}`;
      if (cpu !== undefined)
        lines.push(
          `io cost ${workers === 0 ? 'in-process' : `on ${workers} worker${workers === 1 ? '' : 's'}`}: ${cpu.toFixed(2)} ms CPU per operation (${split})${commands === undefined ? '' : `, ${commands.toFixed(1)} Redis commands`}`,
        );
    }
    const noopHere = find(rows, 'distributed-scale', 'in-process', 'ms_per_op', { plan: 'noop', workers: 0 })?.value;
    const noopThere = find(rows, 'distributed-scale', 'workers', 'ms_per_op', { plan: 'noop', workers: 1 })?.value;
    if (noopHere !== undefined && noopThere !== undefined) {
      const overhead = noopThere - noopHere;
      lines.push(`hand-off latency (chained no-ops, 1 worker, one at a time): +${overhead.toFixed(2)} ms per operation over in-process`);
    }
    const burstHere = find(rows, 'distributed-scale', 'in-process', 'ms_per_op', { plan: 'burst', workers: 0 })?.value;
    for (const workers of [1, 2]) {
      const burstThere = find(rows, 'distributed-scale', 'workers', 'ms_per_op', { plan: 'burst', workers })?.value;
      if (burstHere !== undefined && burstThere !== undefined) {
        const overhead = burstThere - burstHere;
        lines.push(`goal: hand-off overhead ≤ 2 ms per operation (no-ops, 64 in flight, ${workers} worker${workers === 1 ? '' : 's'}): ${overhead.toFixed(2)} ms — ${check(overhead <= 2)}`);
      }
    }
    const recovered = find(rows, 'distributed-scale', 'workers', 'recovery_ms', { plan: 'recovery', workers: 2 })?.value;
    if (recovered !== undefined) lines.push(`goal: recovery after kill -9 ≤ 10 s: ${(recovered / 1000).toFixed(1)} s to the last restart — ${check(recovered <= 10_000)}`);
    return lines;
  },
};
