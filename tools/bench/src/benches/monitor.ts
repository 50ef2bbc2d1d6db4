import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { grepAdapter } from '@fanout/adapters/fs';
import { fetchAdapter, type FetchInput } from '@fanout/adapters/web';
import { createMonitor } from '@fanout/monitor';
import { createScheduler, defineAdapter, GradientLimiter, Histogram, type Adapter, type LimiterFactory, type PoolOptions } from '@fanout/scheduler';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

// ─── A local HTTP service with a knee ────────────────────────────────────────────────────────

/** Service time of one request, below the knee. */
const BASE_MS = 20;

/**
 * The service, run in its own process so that its timing does not share an event loop with
 * fanout: `knee` workers answer in BASE_MS; beyond them requests queue (first come, first
 * served) up to as many again; beyond 2 × knee in the system it answers 503 at once. A message
 * `{ knee }` moves the knee while it runs.
 */
const SERVICE_SOURCE = `
const http = require('node:http');
const { baseMs } = JSON.parse(process.argv[1]);
let knee = JSON.parse(process.argv[1]).knee;
let inSystem = 0;
let busy = 0;
const waiting = [];
function serve(res) {
  busy++;
  res.serving = true;
  setTimeout(() => {
    busy--;
    inSystem--;
    res.end('ok');
    drain();
  }, baseMs);
}
function drain() {
  while (busy < knee && waiting.length > 0) serve(waiting.shift());
}
const server = http.createServer((req, res) => {
  req.resume();
  if (inSystem >= 2 * knee) {
    res.statusCode = 503;
    res.end('busy');
    return;
  }
  inSystem++;
  res.on('close', () => {
    // A client that gave up while queued frees its place.
    const at = res.serving ? -1 : waiting.indexOf(res);
    if (at >= 0) { waiting.splice(at, 1); inSystem--; }
  });
  if (busy < knee) serve(res);
  else waiting.push(res);
});
server.keepAliveTimeout = 120000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (message) => {
  if (message.knee !== undefined) { knee = message.knee; drain(); process.send({ knee }); }
});
process.on('disconnect', () => process.exit(0));
`;

interface Service {
  url: string;
  setKnee(knee: number): Promise<void>;
  close(): void;
}

async function startService(knee: number, baseMs = BASE_MS): Promise<Service> {
  // fork with -e: an IPC channel without a file of its own.
  const child: ChildProcess = fork('-e', [SERVICE_SOURCE, JSON.stringify({ knee, baseMs })], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.unref();
  const [message] = (await once(child, 'message')) as [{ port: number }];
  return {
    url: `http://127.0.0.1:${message.port}`,
    async setKnee(next) {
      child.send({ knee: next });
      await once(child, 'message');
    },
    close() {
      child.kill();
    },
  };
}

/** Requests, refusals and latency of successful requests, as the client saw them. */
interface ClientFigures {
  requests: number;
  refused: number;
  latency: Histogram;
}

/**
 * The `fetch` adapter of `@fanout/adapters/web` (503 is a drop, with the server's Retry-After
 * when it sends one), timed from the client's side. The wrapper leaves out its per-host key:
 * every request goes to one host, and the pool's limiter, not the host's sub-limit, is what
 * is measured.
 */
function measuredFetch(figures: ClientFigures, defaults: { maxConcurrency: number; optimalConcurrency: number }): { adapter: Adapter<FetchInput>; close(): Promise<void> } {
  const real = fetchAdapter({ ...defaults, timeoutMs: 10_000 });
  const adapter = defineAdapter({
    kind: 'fetch',
    input: real.input,
    defaults: real.defaults!,
    classify: (error) => real.classify!(error),
    run: async (input: FetchInput, ctx) => {
      const start = performance.now();
      try {
        const output = await real.run(input, ctx);
        figures.requests++;
        figures.latency.record(performance.now() - start);
        return output;
      } catch (error) {
        const status = (error as { status?: unknown }).status;
        if (typeof status === 'number') figures.requests++;
        if (status === 503) figures.refused++;
        throw error;
      }
    },
  });
  return { adapter, close: () => real.close() };
}

function fetchPlan(url: string, n: number) {
  return { operations: Array.from({ length: n }, (_, i) => ({ id: `f${i}`, kind: 'fetch', input: { url: `${url}/${i}`, as: 'text' } })) };
}

/** The drop-blind baseline: our gradient limiter with the flaw of Netflix's Gradient2. */
const dropBlind: LimiterFactory = (options) => new GradientLimiter({ ...options, ignoreDrops: true });

function limitsOf(subject: string): PoolOptions {
  if (subject === 'adaptive') return { limiter: 'adaptive' };
  if (subject === 'gradient-no-drops') return { limiter: dropBlind };
  const fixed = /^fixed-(\d+)$/.exec(subject);
  if (fixed === null) throw new Error(`unknown subject ${subject}`);
  return { limiter: 'fixed', max: Number(fixed[1]) };
}

/** Adaptive pools may go up to this; the knee is far below. */
const FETCH_MAX = 128;
const FETCH_OPTIMAL = 16;

// ─── adaptive-knee ──────────────────────────────────────────────────────────────────────────

const KNEE = 20;
const FIXED = [4, 8, 16, 32, 64, 128];

export const adaptiveKnee: Bench = {
  name: 'adaptive-knee',
  description: `5,000 GETs (the fetch adapter) to a local service flat to ${KNEE} concurrent (${BASE_MS} ms), queueing beyond, 503 beyond ${2 * KNEE}: adaptive limiter vs fixed limits vs a gradient limiter blind to drops (quick: 200 GETs, three subjects)`,
  subjects: (quick) => (quick ? ['adaptive', 'fixed-16', 'gradient-no-drops'] : ['adaptive', ...FIXED.map((n) => `fixed-${n}`), 'gradient-no-drops']).map((name) => ({ name })),
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = quick ? 200 : 5000;
    const service = await startService(KNEE);
    try {
      // Warm up connections and JIT below the knee, then measure on a fresh adapter and scheduler.
      await run(service.url, { requests: 0, refused: 0, latency: new Histogram() }, quick ? 50 : 200, { limiter: 'fixed', max: 16 });
      const figures: ClientFigures = { requests: 0, refused: 0, latency: new Histogram() };
      const start = performance.now();
      const result = await run(service.url, figures, n, limitsOf(subject.name));
      const wall = performance.now() - start;
      const succeeded = result.summary.byState.succeeded;
      return {
        ops_per_s: (succeeded / wall) * 1000,
        p50_ms: figures.latency.quantile(0.5),
        p99_ms: figures.latency.quantile(0.99),
        error_rate: figures.requests === 0 ? 0 : figures.refused / figures.requests,
        failed_ops: n - succeeded,
        final_limit: result.summary.byKind.fetch!.limit.final,
      };
    } finally {
      service.close();
    }
  },
  goals(rows: Row[]): string[] {
    const ours = (metric: string) => find(rows, 'adaptive-knee', 'adaptive', metric)?.value;
    const fixed = FIXED.map((c) => ({
      c,
      ops: find(rows, 'adaptive-knee', `fixed-${c}`, 'ops_per_s')?.value,
      p99: find(rows, 'adaptive-knee', `fixed-${c}`, 'p99_ms')?.value,
      errors: find(rows, 'adaptive-knee', `fixed-${c}`, 'error_rate')?.value,
    })).filter((f): f is { c: number; ops: number; p99: number; errors: number } => f.ops !== undefined && f.p99 !== undefined && f.errors !== undefined);
    const ops = ours('ops_per_s');
    const p99 = ours('p99_ms');
    const errors = ours('error_rate');
    if (ops === undefined || p99 === undefined || errors === undefined || fixed.length === 0) return [];
    // The best fixed limit is the fastest that the service does not refuse (< 1% 503s): a
    // limit that is fast only by being refused is not one anybody would pick.
    const usable = fixed.filter((f) => f.errors < 0.01);
    const best = (usable.length > 0 ? usable : fixed).reduce((a, b) => (b.ops > a.ops ? b : a));
    const blind = find(rows, 'adaptive-knee', 'gradient-no-drops', 'error_rate')?.value;
    return [
      `goal: adaptive throughput ≥ 90% of the best fixed limit's (fixed-${best.c}): ${((ops / best.ops) * 100).toFixed(1)}% — ${check(ops >= 0.9 * best.ops)}`,
      `goal: adaptive p99 ≤ 1.5× the best fixed limit's: ${(p99 / best.p99).toFixed(2)}× (${p99.toFixed(1)} vs ${best.p99.toFixed(1)} ms) — ${check(p99 <= 1.5 * best.p99)}`,
      `goal: adaptive 503s under 1% of requests: ${(errors * 100).toFixed(2)}% — ${check(errors < 0.01)}${blind === undefined ? '' : ` (gradient-no-drops: ${(blind * 100).toFixed(2)}%)`}`,
    ];
  },
};

async function run(url: string, figures: ClientFigures, n: number, fetchLimits: PoolOptions) {
  const fetch = measuredFetch(figures, { maxConcurrency: FETCH_MAX, optimalConcurrency: FETCH_OPTIMAL });
  try {
    const scheduler = createScheduler({ adapters: [fetch.adapter] });
    return await scheduler.execute(fetchPlan(url, n), { limits: { fetch: fetchLimits } });
  } finally {
    await fetch.close();
  }
}

// ─── adaptive-shift ─────────────────────────────────────────────────────────────────────────

const SHIFT_HIGH = 60;

export const adaptiveShift: Bench = {
  name: 'adaptive-shift',
  description: `the same service with its knee moved from ${KNEE} to ${SHIFT_HIGH} and back mid-run; follow_s = time until the adaptive limit enters the new knee's band [knee, 2 × knee] (quick: the way down only, short phases)`,
  // The drop-blind baseline shows its flaw on the way down: refused work looks fast to it.
  subjects: (quick) =>
    quick
      ? [{ name: 'adaptive', params: { direction: 'down' } }]
      : [
          { name: 'adaptive', params: { direction: 'up' } },
          { name: 'adaptive', params: { direction: 'down' } },
          { name: 'gradient-no-drops', params: { direction: 'down' } },
        ],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const direction = subject.params!.direction as 'up' | 'down';
    const [settle, high, low] = quick ? [1000, 1500, 1500] : [8000, 10_000, 10_000];
    const service = await startService(KNEE);
    const limits: { time: number; limit: number }[] = [];
    const figures: ClientFigures = { requests: 0, refused: 0, latency: new Histogram() };
    const fetch = measuredFetch(figures, { maxConcurrency: FETCH_MAX, optimalConcurrency: FETCH_OPTIMAL });
    const scheduler = createScheduler({ adapters: [fetch.adapter] });
    // About twice what the phases can get through (≤ 3,000/s at the high knee); the run is
    // cancelled at the end.
    const running = scheduler.run(fetchPlan(service.url, quick ? 20_000 : 100_000), { limits: { fetch: limitsOf(subject.name) } });
    running.on((event) => {
      if (event.type === 'limit-changed') limits.push({ time: performance.now(), limit: event.to });
    });
    try {
      await sleep(settle);
      const up = performance.now();
      await service.setKnee(SHIFT_HIGH);
      await sleep(high);
      let shift = up;
      let inBand = (limit: number) => limit >= SHIFT_HIGH;
      if (direction === 'down') {
        shift = performance.now();
        await service.setKnee(KNEE);
        await sleep(low);
        inBand = (limit) => limit <= 2 * KNEE;
      }
      const followed = limits.find((p) => p.time >= shift && inBand(p.limit));
      // Not followed within the phase: no figure (the goal line says so).
      return followed === undefined ? { error_rate: figures.refused / figures.requests } : { follow_s: (followed.time - shift) / 1000, error_rate: figures.refused / figures.requests };
    } finally {
      running.cancel();
      await running.result.catch(() => undefined);
      await fetch.close();
      service.close();
    }
  },
  goals(rows: Row[]): string[] {
    return ['up', 'down'].flatMap((direction) => {
      const subject = rows.find((r) => r.bench === 'adaptive-shift' && r.subject === 'adaptive' && r.params?.direction === direction);
      if (subject === undefined) return [];
      const follow = find(rows, 'adaptive-shift', 'adaptive', 'follow_s', { direction })?.value;
      const blind = direction === 'down' && rows.some((r) => r.bench === 'adaptive-shift' && r.subject === 'gradient-no-drops') ? find(rows, 'adaptive-shift', 'gradient-no-drops', 'follow_s', { direction }) : undefined;
      const baseline = blind === undefined ? '' : ` (gradient-no-drops: ${blind.value.toFixed(2)} s)`;
      const missing = direction === 'down' && blind === undefined && rows.some((r) => r.subject === 'gradient-no-drops') ? ' (gradient-no-drops: did not follow within the phase)' : '';
      return [
        `goal: the limit follows the knee ${direction} within 5 s: ${follow === undefined ? 'did not follow within the phase' : `${follow.toFixed(2)} s`}${baseline}${missing} — ${check(follow !== undefined && follow <= 5)}`,
      ];
    });
  },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ─── contention ─────────────────────────────────────────────────────────────────────────────

/**
 * The CPU-heavy plan: fanout's own grep adapter (worker threads on a large tree) counting the
 * lines that match a regular expression in the workspace's `typescript` package (23.6 MB of
 * text), over and over.
 */
const GREP_CORPUS = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'lib');

const CONTENTION_FETCH_MS = 50;

export const contention: Bench = {
  name: 'contention',
  description: `a fetch-heavy plan (GETs answered in ${CONTENTION_FETCH_MS} ms, adaptive pool) alone, then with a grep-heavy plan at once on ${cpus().length} cores; the monitor (sampling every 250 ms, CPU sustained 1 s) pauses and shrinks the CPU pool. The grep plan is fanout's grep adapter counting regex matches in the typescript package (23.6 MB), over and over (quick: 300 GETs)`,
  subjects: () => [{ name: 'fetch-alone' }, { name: 'fetch-with-grep' }],
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = quick ? 300 : 3000;
    const service = await startService(100_000, CONTENTION_FETCH_MS);
    const monitor = createMonitor({ intervalMs: 250, signals: { cpu: { sustainMs: 1000, releaseMs: 1000 } } });
    const figures: ClientFigures = { requests: 0, refused: 0, latency: new Histogram() };
    const fetch = measuredFetch(figures, { maxConcurrency: 32, optimalConcurrency: 16 });
    const grep = grepAdapter({ roots: [GREP_CORPUS] });
    const scheduler = createScheduler({ adapters: [fetch.adapter, grep as Adapter], pressure: monitor, limits: { grep: { max: 16, optimal: 8 } } });
    const grepInput = (pattern: string) => ({ pattern, paths: [GREP_CORPUS], mode: 'count' });
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const grepLimits: number[] = [];
    let grepFailure: string | undefined;
    try {
      // Warm-up: connections, JIT, and the grep workers' corpus.
      await scheduler.execute(fetchPlan(service.url, 100), { limits: { fetch: { limiter: 'fixed', max: 16 } } });
      await scheduler.execute({ operations: Array.from({ length: 4 }, (_, i) => ({ id: `w${i}`, kind: 'grep', input: grepInput('interface\\s+\\w+') })) });
      let grepRun: ReturnType<typeof scheduler.run> | undefined;
      if (subject.name === 'fetch-with-grep') {
        grepRun = scheduler.run({ operations: Array.from({ length: 10_000 }, (_, i) => ({ id: `g${i}`, kind: 'grep', input: grepInput(i % 2 === 0 ? 'interface\\s+\\w+' : 'function\\s+\\w+\\(') })) });
        grepRun.on((event) => {
          if (event.type === 'limit-changed') grepLimits.push(event.to);
          if (event.type === 'op-finished' && event.state === 'failed') grepFailure ??= event.error?.message ?? 'unknown error';
        });
        grepLimits.push(grepRun.snapshot().kinds.grep!.limit);
        // The fetch plan arrives on a machine the grep plan has held for a while: past the
        // monitor's first reaction (1 s sustained over 250 ms samples).
        await sleep(quick ? 1200 : 2000);
      }
      loop.enable();
      const start = performance.now();
      const result = await scheduler.execute(fetchPlan(service.url, n));
      const wall = performance.now() - start;
      loop.disable();
      const grepDone = grepRun?.snapshot().byState.succeeded ?? 0;
      grepRun?.cancel();
      await grepRun?.result.catch(() => undefined);
      // A grep that fails burns no CPU: the figures would say nothing about contention.
      if (grepFailure !== undefined) throw new Error(`contention: expected the grep operations to succeed, one failed: ${grepFailure}`);
      return {
        ops_per_s: (result.summary.byState.succeeded / wall) * 1000,
        event_loop_p99_ms: Math.max(0, loop.percentile(99) / 1e6 - 10),
        p99_ms: figures.latency.quantile(0.99),
        ...(grepRun === undefined ? {} : { grep_limit_start: grepLimits[0]!, grep_limit_min: Math.min(...grepLimits), grep_ops: grepDone }),
      };
    } finally {
      monitor.stop();
      await (grep as { close?: () => Promise<void> }).close?.();
      await fetch.close();
      service.close();
    }
  },
  goals(rows: Row[]): string[] {
    const alone = find(rows, 'contention', 'fetch-alone', 'ops_per_s')?.value;
    const shared = find(rows, 'contention', 'fetch-with-grep', 'ops_per_s')?.value;
    const loop = find(rows, 'contention', 'fetch-with-grep', 'event_loop_p99_ms')?.value;
    const start = find(rows, 'contention', 'fetch-with-grep', 'grep_limit_start')?.value;
    const min = find(rows, 'contention', 'fetch-with-grep', 'grep_limit_min')?.value;
    if (alone === undefined || shared === undefined || loop === undefined) return [];
    return [
      `goal: the CPU pool shrinks: grep limit ${start ?? '?'} → min ${min ?? '?'} — ${check(start !== undefined && min !== undefined && min < start)}`,
      `goal: fetch throughput with grep within 10% of alone: ${((shared / alone) * 100).toFixed(1)}% — ${check(shared >= 0.9 * alone)}`,
      `goal: event-loop delay p99 under 50 ms with grep: ${loop.toFixed(1)} ms — ${check(loop < 50)}`,
    ];
  },
};

/** Benchmarks of the monitor work, registered in ./index.ts. */
export const monitorBenches: Bench[] = [adaptiveKnee, adaptiveShift, contention];
