/**
 * The grep worker threads of this process, which do the per-file work of every scan pass
 * (greps, `stats`, `markers`). One bound for all passes: at most one thread per core works at
 * a time (a p-limit, since it is a concurrency bound), so 24 concurrent passes share the cores
 * instead of starting 48 threads. A thread that finished
 * an operation's work waits, unreferenced, for the next one for up to 30 seconds: starting a
 * worker costs about 30 ms here (two in parallel were ready after 60–70 ms on this 2-core
 * machine), as much as searching 25 MB. A thread whose operation was aborted or timed out
 * is terminated, never reused. Idle threads do not keep the process alive (`unref`).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import type { ConsumerSpec, ScanTask } from '../scan/work.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

/** The built worker next to this module. */
export const GREP_WORKER_SCRIPT = new URL('./worker.js', import.meta.url);

/** Most worker threads searching at once in this process: one per core. */
export const MAX_GREP_THREADS = Math.max(1, availableParallelism());

/** Bytes a worker has searched before it counts as warm (see {@link warmWorkerIdle}). */
const WARM_BYTES = 8 * 1024 * 1024;
/** How long an idle worker waits for the next operation before it ends (an agent's greps come seconds apart). */
const IDLE_MS = 30_000;

const leases = pLimit(MAX_GREP_THREADS);
const idle: GrepWorker[] = [];
let live = 0;
let busy = 0;

/**
 * The grep worker threads of this process right now: `live` threads exist (started and not yet
 * exited), `busy` of them are lent to an operation, `idle` wait for the next one. For tests
 * and monitoring: after an abort, `busy` drops to 0 and `live` to `idle` once the threads
 * have really ended.
 */
export function grepWorkerCounts(): { live: number; busy: number; idle: number } {
  return { live, busy, idle: idle.length };
}

/**
 * Is a warm worker thread idle (for `script`)? Only then is handing a small search to a worker
 * as cheap as doing it here: a thread that has searched little still runs unoptimised code
 * (measured: the second grep of the TypeScript package took 48 ms on fresh idle workers, 22 ms
 * on the main thread, and 22 ms on the same workers once warm).
 */
export function warmWorkerIdle(script: URL): boolean {
  return idle.some((worker) => worker.usable && worker.warm && worker.script === script.href);
}

/**
 * Ends the idle grep worker threads now (busy ones finish their operation first), e.g. before
 * a process exits on purpose or to measure a cold start. Idle threads never keep a process
 * alive, so this is never required.
 */
export async function endIdleGrepWorkers(): Promise<void> {
  const ending = idle.splice(0, idle.length);
  await Promise.all(ending.map((worker) => worker.terminate()));
}

/** A worker thread and the batches it has been sent. */
export class GrepWorker {
  readonly #worker: Worker;
  /** The script it runs (an idle worker is reused only for the same script). */
  readonly script: string;
  readonly #pending = new Map<number, { resolve: (response: WorkerResponse) => void; reject: (error: Error) => void }>();
  #batch = 0;
  #searched = 0;
  #failure: Error | undefined;
  #exited = false;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Resolves once the thread runs (or fails to start). */
  readonly online: Promise<void>;

  constructor(script: URL) {
    const path = fileURLToPath(script);
    if (!existsSync(path)) throw new Error(`expected the grep worker script at ${path}; build @fanout/adapters (npm run build) or pass workerScript`);
    this.script = script.href;
    // Loaded here, not at import: a grep that ripgrep answers never starts a thread, and
    // node:worker_threads is five internal modules of every short `fanout grep`'s start-up.
    const { Worker: WorkerThread } = process.getBuiltinModule('node:worker_threads');
    this.#worker = new WorkerThread(script);
    live++;
    this.online = new Promise((resolve) => {
      this.#worker.once('online', () => resolve());
      this.#worker.once('exit', () => resolve());
    });
    this.#worker.on('message', (response: WorkerResponse) => {
      const pending = this.#pending.get(response.batch);
      if (pending === undefined) return;
      this.#pending.delete(response.batch);
      this.#searched += response.bytes;
      pending.resolve(response);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.once('exit', (code) => {
      this.#exited = true;
      live--;
      const index = idle.indexOf(this);
      if (index >= 0) idle.splice(index, 1);
      this.#fail(new Error(`the grep worker thread exited (code ${code})`));
    });
  }

  /** Has it searched enough (8 MB) for its hot loops to be optimised? */
  get warm(): boolean {
    return this.#searched >= WARM_BYTES;
  }

  /** False once the thread failed or exited. */
  get usable(): boolean {
    return this.#failure === undefined && !this.#exited;
  }

  /** Sets the consumers of a pass (before its first batch). */
  configure(consumers: ConsumerSpec[], roots: readonly string[]): void {
    this.#post({ type: 'configure', consumers, roots });
  }

  /** Has the worker read and hand out `tasks`: per task, one outcome per consumer it names (and what it read). */
  scan(tasks: ScanTask[]): Promise<WorkerResponse> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const batch = ++this.#batch;
    return new Promise((resolve, reject) => {
      this.#pending.set(batch, { resolve, reject });
      this.#post({ type: 'scan', batch, tasks });
    });
  }

  /** Ends the thread now, even in the middle of a regular expression. */
  terminate(): Promise<unknown> {
    this.#fail(new Error('the grep worker thread was terminated'));
    return this.#worker.terminate();
  }

  /** @internal Lent to an operation: it must keep the process alive. */
  lend(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#worker.ref();
  }

  /** @internal Back in the pool: it must not keep the process alive, and ends after a while. */
  rest(): void {
    this.#worker.unref();
    this.#idleTimer = setTimeout(() => {
      const index = idle.indexOf(this);
      if (index >= 0) idle.splice(index, 1);
      void this.terminate();
    }, IDLE_MS);
    this.#idleTimer.unref();
  }

  #post(request: WorkerRequest): void {
    this.#worker.postMessage(request);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}

/**
 * Runs `work` with a worker thread once one of the process's {@link MAX_GREP_THREADS} slots
 * is free (an idle thread, or a new one). `wanted()` is asked when the slot comes: an
 * operation that has ended meanwhile takes nothing. The thread goes back to the pool when
 * `work` settles, unless it was terminated or failed.
 */
export function withGrepWorker<T>(script: URL, work: (worker: GrepWorker) => Promise<T>, wanted: () => boolean): Promise<T | undefined> {
  return leases(async () => {
    if (!wanted()) return undefined;
    const at = idle.findLastIndex((candidate) => candidate.usable && candidate.script === script.href);
    let worker = at >= 0 ? idle.splice(at, 1)[0] : undefined;
    if (worker === undefined && idle.length + busy >= MAX_GREP_THREADS) {
      // Threads of another script (another adapter's) hold the room: end the oldest.
      void idle.shift()?.terminate();
    }
    worker ??= new GrepWorker(script);
    busy++;
    worker.lend();
    try {
      return await work(worker);
    } finally {
      busy--;
      if (worker.usable) {
        idle.push(worker);
        worker.rest();
      } else {
        void worker.terminate();
      }
    }
  });
}
