import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fetchAdapter } from '@fanout/adapters/web';
import { createScheduler, type OperationSpec } from '@fanout/scheduler';
import { Pool } from 'undici';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

export const WAIT_MS = 50;

/**
 * The server answers every request `WAIT_MS` after it arrived, with keep-alive. It runs in a
 * child process, not in the bench worker: in the worker, its request parsing, timers and
 * writes would share one event loop with the client under test, so every figure would carry
 * the server's cost and the client's own overhead could not be told apart. As a child it has
 * the machine's other core, and the worker's loop serves the client alone — for fanout and
 * raw undici alike. It exits when its stdin closes, so it cannot outlive the worker.
 */
const SERVER_SOURCE = `
const http = require('node:http');
const wait = Number(process.argv[1]);
let inflight = 0;
let most = 0;
const server = http.createServer((req, res) => {
  req.resume();
  if (req.url === '/most-in-flight') {
    res.end(String(most));
    most = inflight;
    return;
  }
  inflight++;
  if (inflight > most) most = inflight;
  res.on('finish', () => inflight--);
  if (req.url.startsWith('/warm/')) res.end('ok');
  else setTimeout(() => res.end('ok'), wait);
});
server.keepAliveTimeout = 60000;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface ServerProcess {
  origin: string;
  /** The most requests it had in flight at once since the last call (or its start). */
  mostInFlight(): Promise<number>;
  stop(): Promise<void>;
}

export async function startServer(): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER_SOURCE, String(WAIT_MS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fetch-fanout: the server exited with ${code} before listening`)));
    lines.once('line', resolve);
  });
  lines.close();
  const origin = `http://127.0.0.1:${port.trim()}`;
  return {
    origin,
    mostInFlight: async () => Number(await (await fetch(`${origin}/most-in-flight`)).text()),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

/**
 * Both subjects warm up alike before the measured run: `WARM_ROUNDS` × `warmGets()` GETs that
 * the server answers at once (so warming costs CPU, not 50 ms rounds), on the same pool. The
 * measured run then starts with optimised code and open connections, so it measures the
 * fan-out, not JIT compilation or TCP handshakes. Measured while writing this benchmark: a
 * few hundred requests leave fanout's larger code path (scheduler, adapter) still cold, and
 * its first full run 20–60% slower than its later ones; after about 3,000 it is steady.
 */
const WARM_ROUNDS = 3;

/** GETs per warm-up round; quick mode only checks that the benchmark runs, so it warms less. */
function warmGets(quick: boolean): number {
  return quick ? 200 : 1_000;
}

/** ⌈n / c⌉ rounds of `WAIT_MS`: the least any client can take. */
export function idealFetchMs(n: number, concurrency: number): number {
  return Math.ceil(n / concurrency) * WAIT_MS;
}

function sizes(quick: boolean): { n: number; concurrency: number }[] {
  if (quick) return [{ n: 200, concurrency: 64 }];
  return [200, 1_000].flatMap((n) => [16, 64].map((concurrency) => ({ n, concurrency })));
}

/** GETs through the scheduler and the fetch adapter, `concurrency` at a time. */
async function viaFanout(origin: string, n: number, concurrency: number, warm: number): Promise<number> {
  // One host: its sub-limit and the adapter's pool are as wide as the pool limit, and the
  // limiter is fixed, so the figure is the fan-out itself, not the adaptive limiter's search.
  const fetch = fetchAdapter({ maxConcurrency: concurrency, keyLimit: concurrency, connectionsPerOrigin: concurrency });
  const scheduler = createScheduler({ adapters: [fetch] });
  const limits = { fetch: { limiter: 'fixed' as const, max: concurrency, keyLimit: concurrency } };
  const plan = (count: number, prefix: string, path: string) => ({
    operations: Array.from({ length: count }, (_, i): OperationSpec => ({ id: `${prefix}${i}`, kind: 'fetch', input: { url: `${origin}${path}${i}` } })),
  });
  try {
    for (let round = 0; round < WARM_ROUNDS; round++) {
      const warmed = await scheduler.execute(plan(warm, `w${round}-`, '/warm/'), { limits });
      if (!warmed.ok) throw new Error('fetch-fanout: the warm-up through fanout failed');
    }
    const operations = plan(n, 'g', '/');
    const start = performance.now();
    const result = await scheduler.execute(operations, { limits });
    const wall = performance.now() - start;
    if (result.summary.byState.succeeded !== n) throw new Error(`fetch-fanout: fanout fetched ${result.summary.byState.succeeded} of ${n}`);
    return wall;
  } finally {
    await fetch.close();
  }
}

/** The anchor: the same GETs fired at one undici `Pool` of `concurrency` connections. */
async function viaUndici(origin: string, n: number, concurrency: number, warm: number): Promise<number> {
  const pool = new Pool(origin, { connections: concurrency });
  const get = async (path: string): Promise<void> => {
    const response = await pool.request({ path, method: 'GET' });
    await response.body.text();
    if (response.statusCode !== 200) throw new Error(`fetch-fanout: undici got ${response.statusCode}`);
  };
  try {
    for (let round = 0; round < WARM_ROUNDS; round++) await Promise.all(Array.from({ length: warm }, (_, i) => get(`/warm/${i}`)));
    const start = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => get(`/${i}`)));
    return performance.now() - start;
  } finally {
    await pool.close();
  }
}

const fetchFanout: Bench = {
  name: 'fetch-fanout',
  description: `GETs to a local server (a child process) answering after ${WAIT_MS} ms: 200 and 1,000 at concurrency 16 and 64 (quick: 200 at 64); fanout's scheduler + fetch adapter vs one undici Pool`,
  subjects: (quick) =>
    sizes(quick).flatMap((params) => [
      { name: 'fanout', params },
      { name: 'undici', params },
      { name: 'ideal', params },
    ]),
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const n = subject.params!.n as number;
    const concurrency = subject.params!.concurrency as number;
    if (subject.name === 'ideal') return { wall_ms: idealFetchMs(n, concurrency), ops_per_s: (n / idealFetchMs(n, concurrency)) * 1000 };
    if (subject.name !== 'fanout' && subject.name !== 'undici') throw new Error(`unknown subject ${subject.name}`);
    const server = await startServer();
    try {
      const via = subject.name === 'fanout' ? viaFanout : viaUndici;
      const wall = await via(server.origin, n, concurrency, warmGets(quick));
      return { wall_ms: wall, ops_per_s: (n / wall) * 1000 };
    } finally {
      await server.stop();
    }
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    for (const row of rows) {
      if (row.subject !== 'ideal' || row.metric !== 'wall_ms') continue;
      const params = row.params!;
      const ours = find(rows, 'fetch-fanout', 'fanout', 'wall_ms', params);
      const undici = find(rows, 'fetch-fanout', 'undici', 'wall_ms', params);
      if (ours === undefined || undici === undefined) continue;
      const over = ours.value / row.value - 1;
      const anchorOver = undici.value / row.value - 1;
      lines.push(
        `goal: ${params.n} GETs at ${params.concurrency} within 5% of ideal (${row.value} ms): fanout +${(over * 100).toFixed(1)}%, undici Pool +${(anchorOver * 100).toFixed(1)}% (fanout/undici ${(ours.value / undici.value).toFixed(3)}×) — ${check(over <= 0.05)}`,
      );
    }
    return lines;
  },
};

/** Benchmarks of the web work, registered in ./index.ts. */
export const webBenches: Bench[] = [fetchFanout];
