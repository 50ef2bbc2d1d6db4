/**
 * One grep operation: the main thread walks and feeds a queue of files; worker threads read
 * and match them in batches; a collector merges the outcomes in walk order, applies the caps
 * and streams each merged piece through `ctx.progress`.
 *
 * Literal patterns start on the main thread (a byte search cannot run away) and hand over to
 * worker threads once they have used `inlineBudgetMs` of search time, so a small tree never
 * pays for starting a thread — unless warm workers are idle from an earlier operation.
 * Regular expressions always run in workers: a pathological pattern backtracking for minutes
 * must stay killable, and only a thread can be stopped in the middle of a match
 * (`worker.terminate()`); the main thread would not even see the abort. An abort or a timeout
 * terminates the operation's workers at once. With `threads: 0` everything runs here, by the
 * user's choice.
 */
import { stat } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AttemptContext } from '@fanout/scheduler';
import { AdapterError, fromFsError } from '../../errors.js';
import type { AllowedRoots } from '../../roots.js';
import { Collector } from './collect.js';
import { FileSearcher, TOO_SLOW, type FileOutcome, type FileSearchConfig, type FileTask } from './file.js';
import { Globs } from './globs.js';
import type { GrepOutput, GrepProgress } from './output.js';
import { compilePattern, regexTooSlow } from './pattern.js';
import { warmWorkerIdle, withGrepWorker, type GrepWorker } from './pool.js';
import { createHeartbeat, REGEX_BUDGET_MS, Watchdog } from './regex-budget.js';
import type { GrepInput } from './schema.js';
import { walk, type Target } from './walk.js';

/** What the adapter passes to each operation. */
export interface GrepEnvironment {
  roots: AllowedRoots;
  /** Most worker threads one operation uses; 0: none, everything on the main thread. */
  threads: number;
  /** Main-thread search time a literal search may use before workers take over. */
  inlineBudgetMs: number;
  /** The worker thread's script. */
  workerScript: URL;
  /** How long a regular expression may spend on one file (see `regex-budget.ts`). @default REGEX_BUDGET_MS */
  regexBudgetMs?: number;
}

/** Default caps when the input sets none (see the schema). */
const CONTENT_MAX_MATCHES = 10_000;
/** Files per batch sent to a worker, at most: enough to amortise a message, few enough to balance the end. */
const MAX_BATCH = 16;
/** A batch being searched and one waiting, per worker, so a worker never idles on a round trip. */
const IN_FLIGHT = 2;
/**
 * Main-thread search slices between two yields to the event loop, where the walk goes on and
 * workers come online (and aborts, progress, other operations get their turn).
 */
const SLICE_MS = 3;

/** Resolves every input path through the allowed roots; the error names the field (the ripgrep engine's check too). */
export async function resolveTargets(paths: readonly string[], roots: AllowedRoots): Promise<Target[]> {
  const targets: Target[] = [];
  for (const [i, path] of paths.entries()) {
    const field = `paths[${i}]`;
    const safe = await roots.check(path, field);
    if (!safe.exists) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} (${JSON.stringify(path)}) to exist, but ${safe.path} does not`, { path: field });
    let info;
    try {
      info = await stat(safe.real);
    } catch (error) {
      throw fromFsError(error, safe.path, field);
    }
    if (!info.isDirectory() && !info.isFile()) {
      throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to be a file or a directory, got something else at ${safe.path}`, { path: field });
    }
    targets.push({ path: safe.path, real: safe.real, isDir: info.isDirectory() });
  }
  return targets;
}

/** Runs one grep operation (the adapter's `run`). */
export async function runGrep(input: GrepInput, ctx: AttemptContext, env: GrepEnvironment): Promise<GrepOutput> {
  const signal = ctx.signal;
  signal.throwIfAborted();
  const matcher = compilePattern(input.pattern, input);
  const targets = await resolveTargets(input.paths, env.roots);
  signal.throwIfAborted();
  const maxMatches = input.maxMatches ?? (input.mode === 'content' ? CONTENT_MAX_MATCHES : Number.POSITIVE_INFINITY);
  const config: FileSearchConfig = {
    matcher,
    mode: input.mode,
    before: input.before ?? input.context,
    after: input.after ?? input.context,
    maxCount: input.maxCount ?? Number.POSITIVE_INFINITY,
    maxFileSize: input.maxFileSize,
    followSymlinks: input.followSymlinks,
    lineMatches: input.mode === 'count' && Number.isFinite(maxMatches),
    budgetMs: env.regexBudgetMs ?? REGEX_BUDGET_MS,
  };
  return new GrepSearch(input, config, targets, ctx, env, maxMatches).run(signal);
}

class GrepSearch {
  readonly #input: GrepInput;
  readonly #config: FileSearchConfig;
  readonly #targets: Target[];
  readonly #ctx: AttemptContext;
  readonly #env: GrepEnvironment;
  readonly #collector: Collector;
  readonly #started = performance.now();
  readonly #queue: FileTask[] = [];
  #head = 0;
  #discovered = 0;
  readonly #seen = new Set<string>();
  #walkDone = false;
  #done = false;
  #waiters: (() => void)[] = [];
  readonly #workers = new Set<GrepWorker>();
  #online = 0;
  #workersRequested = false;
  #resolve: (output: GrepOutput) => void = () => {};
  #reject: (error: unknown) => void = () => {};

  constructor(input: GrepInput, config: FileSearchConfig, targets: Target[], ctx: AttemptContext, env: GrepEnvironment, maxMatches: number) {
    this.#input = input;
    this.#config = config;
    this.#targets = targets;
    this.#ctx = ctx;
    this.#env = env;
    this.#collector = new Collector({ maxMatches, maxOutputBytes: input.maxOutputBytes }, input.mode, (messages) => {
      // ctx is only valid until the operation settles.
      if (this.#done) return;
      const progress: GrepProgress = { type: 'grep-results', messages, stats: { ...this.#collector.stats } };
      this.#ctx.progress(progress);
    });
  }

  run(signal: AbortSignal): Promise<GrepOutput> {
    return new Promise<GrepOutput>((resolve, reject) => {
      const onAbort = (): void => this.#fail(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#resolve = (output) => {
        signal.removeEventListener('abort', onAbort);
        resolve(output);
      };
      this.#reject = (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      };
      this.#walk().catch((error: unknown) => this.#fail(error));
      // Warm idle workers cost nothing to start: then there is no reason to search here.
      const inline = this.#env.threads === 0 || (this.#config.matcher.literal !== undefined && this.#env.inlineBudgetMs > 0 && !warmWorkerIdle(this.#env.workerScript));
      if (inline) this.#inline().catch((error: unknown) => this.#fail(error));
      else this.#startWorkers();
    });
  }

  async #walk(): Promise<void> {
    const input = this.#input;
    const steps = walk(this.#targets, {
      hidden: input.hidden,
      ignore: input.ignore,
      gitignore: input.gitignore,
      requireGit: input.requireGit,
      followSymlinks: input.followSymlinks,
      globs: new Globs(input.include, input.exclude),
      roots: this.#env.roots,
      stopped: () => this.#done,
    });
    for await (const step of steps) {
      if (this.#done) return;
      for (const error of step.errors) this.#collector.error(error);
      for (const file of step.files) {
        if (this.#seen.has(file.path)) continue;
        this.#seen.add(file.path);
        this.#queue.push({ index: this.#discovered++, path: file.path, open: file.open, named: file.named });
      }
      this.#notify();
    }
    this.#walkDone = true;
    this.#notify();
    this.#check();
  }

  /** Searches on the main thread (literals, or anything with `threads: 0`), until workers are online if they are asked for. */
  async #inline(): Promise<void> {
    const searcher = new FileSearcher(this.#config);
    let searchMs = 0;
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
      const outcome = searcher.search(task, this.#collector.remainingLines);
      const after = performance.now();
      searchMs += after - before;
      if (this.#tooSlow([outcome])) return;
      this.#collector.add([outcome]);
      this.#check();
      if (!this.#workersRequested && this.#env.threads > 0 && searchMs > this.#env.inlineBudgetMs && (this.#head < this.#queue.length || !this.#walkDone)) this.#startWorkers();
      if (after - slice > SLICE_MS) {
        await yieldToLoop();
        slice = performance.now();
      }
    }
  }

  #startWorkers(): void {
    if (this.#workersRequested) return;
    this.#workersRequested = true;
    const pending = this.#queue.length - this.#head;
    const count = this.#walkDone ? Math.max(1, Math.min(this.#env.threads, pending)) : this.#env.threads;
    for (let i = 0; i < count; i++) {
      withGrepWorker(
        this.#env.workerScript,
        (worker) => this.#consume(worker),
        () => !this.#done,
      ).catch((error: unknown) => {
        this.#fail(error instanceof AdapterError ? error : new AdapterError('FANOUT_IO', `expected grep worker threads to run, got: ${(error as Error).message}`, { cause: error }));
      });
    }
  }

  /** Feeds one worker batches until the queue is drained and the walk is done. */
  async #consume(worker: GrepWorker): Promise<void> {
    this.#workers.add(worker);
    let counted = false;
    let watchdog: Watchdog | undefined;
    try {
      await worker.online;
      if (this.#done) return;
      if (!worker.usable) throw new AdapterError('FANOUT_IO', 'expected a grep worker thread to start, but it exited at once', { classification: { class: 'retryable' } });
      this.#online++;
      counted = true;
      // A match attempt that never ends can only be stopped by ending the thread.
      const heartbeat = createHeartbeat();
      const paths = new Map<number, string>();
      const budgetMs = this.#config.budgetMs ?? REGEX_BUDGET_MS;
      watchdog = new Watchdog(heartbeat, budgetMs, (index) => this.#fail(regexTooSlow(this.#input.pattern, paths.get(index) ?? 'a file', budgetMs)));
      worker.configure({ ...this.#config, heartbeat });
      const inFlight = new Set<Promise<void>>();
      for (;;) {
        while (!this.#done && inFlight.size < IN_FLIGHT) {
          const batch = this.#take(this.#batchSize());
          if (batch.length === 0) break;
          for (const task of batch) paths.set(task.index, task.path);
          const searched: Promise<void> = worker.search(batch, this.#collector.remainingLines).then(
            (results) => {
              inFlight.delete(searched);
              for (const task of batch) paths.delete(task.index);
              if (this.#done || this.#tooSlow(results)) return;
              this.#collector.add(results);
              this.#check();
            },
            (error: unknown) => {
              inFlight.delete(searched);
              throw error;
            },
          );
          inFlight.add(searched);
        }
        if (inFlight.size === 0) {
          if (this.#done || (this.#walkDone && this.#head >= this.#queue.length)) return;
          await this.#waitForWork();
          continue;
        }
        await Promise.race(inFlight);
      }
    } catch (error) {
      if (this.#done) return;
      throw new AdapterError('FANOUT_IO', `a grep worker thread failed: ${(error as Error).message}`, { cause: error, classification: { class: 'retryable' } });
    } finally {
      watchdog?.stop();
      this.#workers.delete(worker);
      if (counted) this.#online--;
    }
  }

  /** Fails the operation when a file's search ran past the regular expression's budget. */
  #tooSlow(outcomes: readonly FileOutcome[]): boolean {
    const slow = outcomes.find((outcome) => outcome.status === 'error' && outcome.code === TOO_SLOW);
    if (slow === undefined) return false;
    this.#fail(regexTooSlow(this.#input.pattern, (slow as { path: string }).path, this.#config.budgetMs ?? REGEX_BUDGET_MS));
    return true;
  }

  #batchSize(): number {
    const pending = this.#queue.length - this.#head;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(pending / (IN_FLIGHT * Math.max(1, this.#online)))));
  }

  #take(count: number): FileTask[] {
    const end = Math.min(this.#queue.length, this.#head + count);
    const batch = this.#queue.slice(this.#head, end);
    this.#head = end;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return batch;
  }

  #waitForWork(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #check(): void {
    if (this.#done) return;
    const collector = this.#collector;
    if (!collector.full && !(this.#walkDone && collector.merged === this.#discovered)) return;
    this.#done = true;
    this.#notify();
    const summary = collector.summary((performance.now() - this.#started) * 1e6);
    this.#resolve({ messages: [...collector.messages, summary], stats: { ...collector.stats }, truncated: collector.truncated, errors: collector.errors });
  }

  #fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#notify();
    // Kill the threads now: a runaway regular expression only stops this way.
    for (const worker of this.#workers) void worker.terminate();
    this.#reject(error);
  }
}
