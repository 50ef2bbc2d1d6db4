/**
 * One pass over a tree for several operations: the shared walk feeds a queue of files, each
 * with the consumers (operations) that want it; each file is read once, on the main thread or
 * in a grep worker thread, and every consumer's outcome goes to its operation, which merges
 * them in its own order (`member.ts`).
 *
 * Where the per-file work runs: a pass whose work is all safe (literal greps, `stats`,
 * `markers`: none can run away) starts on the main thread and hands over to worker threads
 * once it has used `inlineBudgetMs` of work time and what is left would take longer than
 * starting a thread — so a small tree never pays for one — unless warm workers are idle from
 * an earlier pass. A regular expression always runs in a worker: a pathological pattern
 * backtracking for minutes must stay killable, and only a thread can be stopped in the middle
 * of a match (`worker.terminate()`). With `threads: 0` everything runs here, by the user's
 * choice.
 *
 * An operation that ends early (a cap, an abort, a timeout) drops out: its files are no longer
 * read for it, the walk no longer descends for it, and when its signal fired while a worker
 * was matching its regular expression, that worker is ended and the files it held go back to
 * the queue for the others. When every operation has ended, the walk stops.
 */
// `timers.promises` is read at the call, so that the `fanout` command's bundle loads
// node:timers/promises when a walk first yields, not at start-up.
import { promises as timers } from 'node:timers';
import { AdapterError } from '../../errors.js';
import { warmWorkerIdle, withGrepWorker, type GrepWorker } from '../grep/pool.js';
import { createHeartbeat, REGEX_BUDGET_MS, Watchdog } from '../grep/regex-budget.js';
import type { Listings, ScanCounters } from './listings.js';
import type { ScanMember } from './member.js';
import { Walker, type Start } from './walker.js';
import { FileWork, fromClockIndex, type ConsumerOutcome, type ConsumerSpec, type ScanTask } from './work.js';

/** Where a pass does its per-file work. */
export interface PassEnvironment {
  /** Most worker threads one pass uses; 0: none, everything on the main thread. */
  threads: number;
  /** Main-thread work time a safe pass may use before workers take over. */
  inlineBudgetMs: number;
  /** What starting a worker thread is taken to cost (see `FsScanOptions.threadStartMs`). */
  threadStartMs: number;
  /** The grep worker thread's script. */
  workerScript: URL;
  /** Where the pass counts what it read. */
  counters?: ScanCounters;
  /** The allowed roots' real paths: every file read is checked inside them on its descriptor (`opened.ts`). */
  roots: readonly string[];
}

/** An operation of the pass with what it asks of the files. */
export interface PassConsumer {
  member: ScanMember;
  /** Its per-file work; undefined when it only lists files. */
  spec: ConsumerSpec | undefined;
  /** What its cap still allows (a hint for the per-file work). */
  hint(): number;
  /** A grep's regular expression has been in one match attempt on `path` past its budget: fail the operation. */
  stalled?(path: string): void;
}

/**
 * Files per batch sent to a worker, at most: enough to amortise a message (posting one cost
 * 20–60 µs of main-thread time here, and the main thread is what a large pass waits on), few
 * enough to balance the end (a batch takes at most its share of what is queued among the
 * batches in flight).
 */
const MAX_BATCH = 64;
/** A batch being worked on and one waiting, per worker, so a worker never idles on a round trip. */
const IN_FLIGHT = 2;
/** Main-thread work slices between two yields to the event loop (where the walk goes on and workers come online). */
const SLICE_MS = 3;
/**
 * The cost of a file is the lowest work time per file of the windows of this many files so
 * far: the first files run cold (the first one took 5 ms here, the next ones 0.05 ms), and
 * on a busy machine the clock also counts the time the thread waited to run, which only ever
 * adds. The lowest errs towards staying on the main thread, the safe side on two cores (a
 * median started threads for half the runs of a 2,000-file grep under load, which then took
 * longer).
 */
const COST_WINDOW = 16;
/** Windows measured before the first decision. */
const FIRST_DECISION = 4;

/** A worker's batch in flight. */
interface InFlight {
  tasks: ScanTask[];
  promise: Promise<void>;
}

export class Pass {
  readonly #env: PassEnvironment;
  readonly #listings: Listings;
  readonly #consumers: PassConsumer[];
  readonly #specs: ConsumerSpec[] = [];
  /** Consumer index → its operation. */
  readonly #byConsumer: PassConsumer[] = [];
  readonly #starts: Start[];
  /** Files to do, from `#head` on (those before it were taken: `undefined`). */
  readonly #queue: (ScanTask | undefined)[] = [];
  #head = 0;
  #walker: Walker | undefined;
  #walkDone = false;
  #done = false;
  #waiters: (() => void)[] = [];
  /** Workers at work for this pass, with their batches in flight. */
  readonly #workers = new Map<GrepWorker, Set<InFlight>>();
  /** Workers this pass ended itself (an aborted operation's runaway match): their failure is not the pass's. */
  readonly #ended = new WeakSet<GrepWorker>();
  #online = 0;
  #workersRequested = false;
  #settled!: () => void;
  readonly #finished = new Promise<void>((resolve) => (this.#settled = resolve));

  constructor(env: PassEnvironment, listings: Listings, consumers: PassConsumer[], starts: Start[]) {
    this.#env = env;
    this.#listings = listings;
    this.#consumers = consumers;
    this.#starts = starts;
    for (const consumer of consumers) {
      if (consumer.spec !== undefined) {
        consumer.member.consumer = this.#specs.length;
        this.#byConsumer.push(consumer);
        this.#specs.push(consumer.spec);
      }
      consumer.member.onEnd = () => this.#memberEnded(consumer);
    }
  }

  /** Runs the pass; resolves when every operation has ended. */
  run(): Promise<void> {
    this.#walker = new Walker(this.#starts, this.#listings, (id, file, consumers) => {
      if (consumers.length === 0) return;
      const task: ScanTask = { id, path: file.path, follow: file.follow, named: file.named, consumers, limits: [] };
      if (file.open !== file.path) task.open = file.open;
      this.#queue.push(task);
      this.#notify();
    });
    this.#walker.run().then(
      () => {
        this.#walkDone = true;
        this.#notify();
        this.#check();
      },
      (error: unknown) => this.#fail(error),
    );
    if (this.#specs.length > 0) {
      const safe = this.#specs.every((spec) => spec.type !== 'grep' || spec.config.matcher.literal !== undefined);
      // Warm idle workers cost nothing to start: then there is no reason to work here.
      const inline = this.#env.threads === 0 || (safe && this.#env.inlineBudgetMs > 0 && !warmWorkerIdle(this.#env.workerScript));
      if (inline) this.#inline().catch((error: unknown) => this.#fail(error));
      else this.#startWorkers();
    }
    this.#check();
    return this.#finished;
  }

  #memberEnded(consumer: PassConsumer): void {
    const member = consumer.member;
    if (member.context.signal.aborted && member.consumer !== undefined) {
      const spec = this.#specs[member.consumer]!;
      if (spec.type === 'grep' && spec.config.matcher.literal === undefined) this.#endRunaways(member.consumer);
    }
    this.#check();
  }

  /** Ends the workers matching an aborted operation's regular expression; their other files go back to the queue. */
  #endRunaways(consumer: number): void {
    for (const [worker, batches] of this.#workers) {
      const held = [...batches].flatMap((batch) => batch.tasks);
      if (!held.some((task) => task.consumers.includes(consumer))) continue;
      this.#ended.add(worker);
      this.#workers.delete(worker);
      void worker.terminate();
      // The others' files, ahead of the rest (the queue is a FIFO from #head).
      this.#queue.splice(this.#head, 0, ...held);
    }
    this.#notify();
  }

  /** Does files on the main thread, until workers are online if they are asked for. */
  async #inline(): Promise<void> {
    const work = new FileWork(this.#specs, this.#env.roots);
    let workMs = 0;
    let done = 0;
    let windowMs = 0;
    let perFileMs = Number.POSITIVE_INFINITY;
    let slice = performance.now();
    while (!this.#done && this.#online === 0) {
      const task = this.#take(1)[0];
      if (task === undefined) {
        if (this.#walkDone) return;
        await this.#waitForWork();
        slice = performance.now();
        continue;
      }
      const before = performance.now();
      const files = work.filesRead;
      const bytes = work.bytesRead;
      const outcomes = work.run(task);
      const after = performance.now();
      this.#count(work.filesRead - files, work.bytesRead - bytes);
      workMs += after - before;
      windowMs += after - before;
      this.#deliver(task, outcomes);
      if (++done % COST_WINDOW === 0 && !this.#workersRequested && this.#env.threads > 0) {
        perFileMs = Math.min(perFileMs, windowMs / COST_WINDOW);
        windowMs = 0;
        // Weighed once the budget is spent, at each window once a few are measured.
        if (done >= COST_WINDOW * FIRST_DECISION && workMs > this.#env.inlineBudgetMs && this.#worthWorkers(perFileMs)) this.#startWorkers();
      }
      if (after - slice > SLICE_MS) {
        await timers.setImmediate();
        slice = performance.now();
      }
    }
  }

  /**
   * Would worker threads finish sooner than the main thread alone, at `perFileMs` a file? With
   * `n` threads, what is left (`left`) takes `s + w + left / n`: `s` to start them, and `w`
   * more while their code is still cold (a fresh worker does its first megabytes at about half
   * the speed of the warm main thread; measured, `w` is about `s`). Worth it when
   * `left * (1 - 1/n) > 2s`: four times the start-up with two threads, which on a 2-core
   * machine keeps a 2,000-file repository on the main thread and sends a 27,000-file one to
   * the threads. With one thread, the bound of two (the main thread still walks and merges).
   */
  #worthWorkers(perFileMs: number): boolean {
    const files = this.#queue.length - this.#head + (this.#walkDone ? 0 : (this.#walker?.filesAhead ?? 0));
    const threads = Math.max(2, this.#env.threads);
    return files * perFileMs * (1 - 1 / threads) > 2 * this.#env.threadStartMs;
  }

  #startWorkers(): void {
    if (this.#workersRequested) return;
    this.#workersRequested = true;
    const pending = this.#queue.length - this.#head;
    const count = this.#walkDone ? Math.max(1, Math.min(this.#env.threads, pending)) : this.#env.threads;
    for (let i = 0; i < count; i++) this.#startWorker();
  }

  #startWorker(): void {
    withGrepWorker(
      this.#env.workerScript,
      (worker) => this.#consume(worker),
      () => !this.#done,
    ).catch((error: unknown) => {
      this.#fail(error instanceof AdapterError ? error : new AdapterError('FANOUT_IO', `expected grep worker threads to run, got: ${(error as Error).message}`, { cause: error }));
    });
  }

  /** Feeds one worker batches until the queue is drained and the walk is done. */
  async #consume(worker: GrepWorker): Promise<void> {
    const inFlight = new Set<InFlight>();
    this.#workers.set(worker, inFlight);
    let counted = false;
    let watchdog: Watchdog | undefined;
    try {
      await worker.online;
      if (this.#done) return;
      if (!worker.usable) throw new AdapterError('FANOUT_IO', 'expected a grep worker thread to start, but it exited at once', { classification: { class: 'retryable' } });
      this.#online++;
      counted = true;
      // A match attempt that never ends can only be stopped by ending the thread: the
      // worker's greps count their attempts where the watchdog sees them (see `regex-budget.ts`).
      const heartbeat = createHeartbeat();
      const budgets = this.#specs.flatMap((spec) => (spec.type === 'grep' && spec.config.matcher.literal === undefined ? [spec.config.budgetMs ?? REGEX_BUDGET_MS] : []));
      if (budgets.length > 0) watchdog = new Watchdog(heartbeat, Math.min(...budgets), (index) => this.#stalled(worker, index));
      worker.configure(
        this.#specs.map((spec) => (spec.type === 'grep' ? { ...spec, config: { ...spec.config, heartbeat } } : spec)),
        this.#env.roots,
      );
      for (;;) {
        while (!this.#done && inFlight.size < IN_FLIGHT && this.#workers.has(worker)) {
          const tasks = this.#take(this.#batchSize());
          if (tasks.length === 0) break;
          const batch: InFlight = {
            tasks,
            promise: worker.scan(tasks).then(
              ({ results, files, bytes }) => {
                inFlight.delete(batch);
                this.#count(files, bytes);
                if (this.#done) return;
                for (let i = 0; i < tasks.length; i++) this.#deliver(tasks[i]!, results[i]!);
              },
              (error: unknown) => {
                inFlight.delete(batch);
                throw error;
              },
            ),
          };
          inFlight.add(batch);
        }
        if (inFlight.size === 0) {
          if (this.#done || !this.#workers.has(worker) || (this.#walkDone && this.#head >= this.#queue.length)) return;
          await this.#waitForWork();
          continue;
        }
        await Promise.race([...inFlight].map((batch) => batch.promise));
      }
    } catch (error) {
      if (this.#done || this.#ended.has(worker)) {
        // Ended for an aborted operation: the others' files were queued again; a fresh thread takes them.
        if (!this.#done && this.#ended.has(worker)) this.#startWorker();
        return;
      }
      throw new AdapterError('FANOUT_IO', `a grep worker thread failed: ${(error as Error).message}`, { cause: error, classification: { class: 'retryable' } });
    } finally {
      watchdog?.stop();
      if (this.#workers.get(worker) === inFlight) this.#workers.delete(worker);
      if (counted) this.#online--;
    }
  }

  /** The watchdog of `worker` saw a match attempt stand still past its budget: that grep fails, the thread ends, the others' files go back to the queue. */
  #stalled(worker: GrepWorker, index: number): void {
    const { file, place } = fromClockIndex(index, this.#specs.length);
    const consumer = this.#byConsumer[place];
    const task = [...(this.#workers.get(worker) ?? [])].flatMap((batch) => batch.tasks).find((held) => held.id === file);
    // Even when the operation has ended (at a cap), the thread must not stay stuck in its match.
    if (consumer !== undefined && !consumer.member.ended) consumer.stalled?.(task?.path ?? 'a file');
    this.#endRunaways(place);
  }

  #batchSize(): number {
    const pending = this.#queue.length - this.#head;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(pending / (IN_FLIGHT * Math.max(1, this.#online)))));
  }

  /** The next files, each with the consumers still interested (and their hints); files nobody wants any more are dropped. */
  #take(count: number): ScanTask[] {
    const batch: ScanTask[] = [];
    while (batch.length < count && this.#head < this.#queue.length) {
      const task = this.#queue[this.#head]!;
      // Let go once taken, so a file's task is garbage once done rather than kept to the end
      // of the pass (through every young-generation collection before).
      this.#queue[this.#head++] = undefined;
      const consumers: number[] = [];
      const limits: number[] = [];
      for (const id of task.consumers) {
        const consumer = this.#byConsumer[id]!;
        if (consumer.member.ended) continue;
        consumers.push(id);
        limits.push(consumer.hint());
      }
      if (consumers.length === 0) continue;
      // The task itself, not a copy: it is taken once (or again, whole, after a runaway's
      // worker was ended, when this is worked out anew), and a copy per file was garbage.
      task.consumers = consumers;
      task.limits = limits;
      batch.push(task);
    }
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return batch;
  }

  #count(files: number, bytes: number): void {
    const counters = this.#env.counters;
    if (counters === undefined) return;
    counters.filesRead += files;
    counters.bytesRead += bytes;
  }

  #deliver(task: ScanTask, outcomes: readonly ConsumerOutcome[]): void {
    for (let k = 0; k < task.consumers.length; k++) this.#byConsumer[task.consumers[k]!]!.member.deliver(task.id, outcomes[k]!);
  }

  #waitForWork(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #check(): void {
    if (this.#done) return;
    if (!this.#consumers.every(({ member }) => member.ended)) return;
    this.#done = true;
    this.#walker?.stop();
    this.#notify();
    this.#settled();
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    for (const { member } of this.#consumers) member.fail(error);
    // Kill the threads now: a runaway regular expression only stops this way.
    for (const worker of this.#workers.keys()) void worker.terminate();
    this.#check();
  }
}
