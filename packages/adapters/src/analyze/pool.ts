import { Worker } from 'node:worker_threads';
import { AdapterError } from '../errors.js';
import type { Job, TaskMessage, WorkerFailure, WorkerMessage } from './protocol.js';

/**
 * Why a pool of our own on `node:worker_threads` rather than piscina (not installed) or
 * tinypool: an abort or a timeout must end *the* worker running that task, at once, and put
 * a fresh one in its place — `worker.terminate()` does that, and owning the pool keeps it
 * exact (which thread runs which task, how many are alive). No native optional dependencies,
 * and the whole pool is this file.
 */

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** The worker's entry module (`worker.js`). */
  script: URL | string;
  /** Most threads alive at once, those being ended included; further tasks wait in order. */
  maxWorkers: number;
  /**
   * An idle worker is ended after this long; `Infinity` keeps idle workers until `close()`.
   * Idle workers are `unref`ed either way, so they never keep the process alive.
   * @default 30000
   */
  idleTimeoutMs?: number;
}

/** How many worker threads a pool has, for tests and monitoring. */
export interface WorkerCounts {
  /** Threads started and not yet exited (including those being terminated). */
  live: number;
  /** Threads running a task, or being terminated after an abort (the task's work is not over until they exit). */
  busy: number;
  /** Threads waiting for a task. */
  idle: number;
  /** Tasks waiting for a thread. */
  queued: number;
}

interface Task {
  readonly id: number;
  readonly job: Job;
  readonly signal: AbortSignal;
  readonly onProgress: ((data: unknown) => void) | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  slot: Slot | undefined;
  stopListening: () => void;
}

interface Slot {
  readonly worker: Worker;
  readonly exited: Promise<void>;
  /** The task it runs; kept while it is being terminated, so it counts as busy until it exits. */
  task: Task | undefined;
  ready: boolean;
  ending: boolean;
  error: Error | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * A bounded pool of worker threads, started lazily: a thread is created when a task finds
 * none idle and the pool is under `maxWorkers`. One task per thread at a time. An abort ends
 * the task's thread with `terminate()` (V8 stops even a `for (;;) {}`), and the next task gets
 * a fresh thread. Busy threads are `ref`ed, idle ones `unref`ed.
 */
export class WorkerPool {
  readonly #script: URL | string;
  readonly #maxWorkers: number;
  readonly #idleTimeoutMs: number;
  readonly #slots = new Set<Slot>();
  /** Last in, first out: the most recently used thread is the warmest. */
  readonly #idle: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 1;

  constructor(options: WorkerPoolOptions) {
    this.#script = options.script;
    this.#maxWorkers = options.maxWorkers;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  }

  /** Thread and task counts right now. */
  counts(): WorkerCounts {
    let busy = 0;
    for (const slot of this.#slots) if (slot.task !== undefined) busy++;
    return { live: this.#slots.size, busy, idle: this.#idle.length, queued: this.#queue.length };
  }

  /**
   * Runs a job on a worker. Rejects with the signal's reason when it aborts (and ends the
   * thread if the job had started), with an `AdapterError` when the analysis fails.
   */
  run(job: Job, signal: AbortSignal, onProgress?: (data: unknown) => void): Promise<unknown> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = { id: this.#nextId++, job, signal, onProgress, resolve, reject, settled: false, slot: undefined, stopListening: noop };
      const onAbort = (): void => this.#abort(task);
      signal.addEventListener('abort', onAbort, { once: true });
      task.stopListening = () => signal.removeEventListener('abort', onAbort);
      this.#queue.push(task);
      this.#dispatch();
    });
  }

  /**
   * Ends every thread and rejects the tasks still waiting or running (`FANOUT_ABORTED`).
   * Resolves once all threads have exited. The pool can be used again afterwards: it starts
   * new threads lazily.
   */
  async close(): Promise<void> {
    const closed = (): AdapterError => new AdapterError('FANOUT_ABORTED', 'expected the analysis to finish, but its worker pool was closed', { path: 'analyzer' });
    for (const task of this.#queue.splice(0)) this.#settle(task, false, closed());
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.task !== undefined) this.#settle(slot.task, false, closed());
      this.#end(slot);
      exits.push(slot.exited);
    }
    await Promise.all(exits);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (slot === undefined) {
        if (this.#slots.size >= this.#maxWorkers) return;
        slot = this.#spawn();
      }
      this.#assign(slot, this.#queue.shift()!);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(this.#script, { name: 'fanout-analyze' });
    let exited!: () => void;
    const slot: Slot = { worker, exited: new Promise((resolve) => (exited = resolve)), task: undefined, ready: false, ending: false, error: undefined, idleTimer: undefined };
    this.#slots.add(slot);
    worker.on('message', (message: WorkerMessage) => this.#onMessage(slot, message));
    // An uncaught error ends the thread; 'exit' follows and settles its task.
    worker.on('error', (error) => {
      slot.error ??= error;
    });
    worker.on('exit', (code) => {
      this.#slots.delete(slot);
      this.#unidle(slot);
      const task = slot.task;
      slot.task = undefined;
      if (task !== undefined && !task.settled) this.#settle(task, false, this.#crashed(slot, task, code));
      exited();
      this.#dispatch();
    });
    return slot;
  }

  #assign(slot: Slot, task: Task): void {
    this.#unidle(slot);
    slot.task = task;
    task.slot = slot;
    slot.worker.ref();
    const message: TaskMessage = { type: 'task', id: task.id, job: task.job };
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      slot.task = undefined;
      const field = 'options';
      this.#settle(task, false, new AdapterError('FANOUT_ANALYZER_INVALID', `expected ${field} to be copyable to a worker thread (structured clone), got: ${(error as Error).message}`, { path: field, cause: error }));
      this.#release(slot);
    }
  }

  #onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.type === 'ready') {
      slot.ready = true;
      return;
    }
    const task = slot.task;
    if (task === undefined || task.id !== message.id || task.settled) return;
    if (message.type === 'progress') {
      task.onProgress?.(message.data);
      return;
    }
    slot.task = undefined;
    if (message.type === 'done') this.#settle(task, true, message.value);
    else this.#settle(task, false, fromFailure(message.failure));
    this.#release(slot);
  }

  /** A thread that finished its task takes the next one, or waits, unref'ed. */
  #release(slot: Slot): void {
    if (slot.ending) return;
    const next = this.#queue.shift();
    if (next !== undefined) {
      this.#assign(slot, next);
      return;
    }
    slot.worker.unref();
    this.#idle.push(slot);
    if (Number.isFinite(this.#idleTimeoutMs)) {
      slot.idleTimer = setTimeout(() => this.#end(slot), this.#idleTimeoutMs);
      slot.idleTimer.unref();
    }
  }

  #unidle(slot: Slot): void {
    if (slot.idleTimer !== undefined) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
    }
    const at = this.#idle.indexOf(slot);
    if (at !== -1) this.#idle.splice(at, 1);
  }

  /** Terminates a thread; it stays counted (live, and busy if it had a task) until it exits. */
  #end(slot: Slot): void {
    if (slot.ending) return;
    slot.ending = true;
    this.#unidle(slot);
    void slot.worker.terminate();
  }

  #abort(task: Task): void {
    if (task.settled) return;
    const queued = this.#queue.indexOf(task);
    if (queued !== -1) this.#queue.splice(queued, 1);
    if (task.slot !== undefined && task.slot.task === task) this.#end(task.slot);
    this.#settle(task, false, task.signal.reason);
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.stopListening();
    if (ok) task.resolve(value);
    else task.reject(value);
  }

  #crashed(slot: Slot, task: Task, code: number): AdapterError {
    const field = 'module';
    const options = { path: field, cause: slot.error };
    if (!slot.ready) {
      const why = slot.error?.message ?? `exit code ${code}`;
      return new AdapterError('FANOUT_ANALYZER_FAILED', `expected the analysis worker to start from ${String(this.#script)}, but it could not: ${why}`, options);
    }
    const how = slot.error === undefined ? `exited with code ${code}` : `crashed: ${slot.error.message}`;
    return new AdapterError('FANOUT_ANALYZER_FAILED', `expected the ${task.job.analyzer} analysis to finish, but its worker thread ${how}`, options);
  }
}

function fromFailure(failure: WorkerFailure): AdapterError {
  const cause = failure.cause === undefined ? undefined : Object.assign(new Error(failure.cause.message), { name: failure.cause.name, stack: failure.cause.stack });
  return new AdapterError(failure.code, failure.message, cause === undefined ? { path: failure.field } : { path: failure.field, cause });
}

function noop(): void {}
