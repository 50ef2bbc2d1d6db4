/**
 * The executor: adapters that look like the local ones to the scheduler (same schema, locks,
 * keys and defaults) but whose attempts run on BullMQ workers. The scheduler keeps the DAG,
 * references, retries, cancellation and the journal; each attempt becomes one job.
 */
import { randomUUID } from 'node:crypto';
import { type Adapter, type AttemptContext, type Classification, defaultClassify, type Run } from '@fanout/scheduler';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { DistributedError, RemoteError } from './errors.js';
import { cancelChannel, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PREFIX, doneChannel, doneLines, type Envelope, type JobData, jobIdOf, KEEP_FINISHED, queueName, schedulerLimit } from './protocol.js';
import { check, connectionOptions, describeRedis, expectAnswer, forBullmq } from './redis.js';

/** A rate limit of a kind across every worker: at most `max` attempts started per `durationMs`. */
export interface RateLimit {
  max: number;
  durationMs: number;
}

export interface ExecutorOptions {
  /** `redis://host:port/db` or ioredis options. */
  redis: string | RedisOptions;
  /** Key prefix of the queues; executors and workers of one deployment share it. @default "fanout" */
  prefix?: string | undefined;
  /**
   * The adapters of the kinds to run remotely, as the executor's side knows them: their
   * schemas check plans before anything is queued, their locks and keys feed the scheduler.
   * Workers run their own instances of the same kinds.
   */
  adapters: Iterable<Adapter> | Record<string, Adapter>;
  /**
   * Most attempts of a kind running at once across every worker (BullMQ's global concurrency
   * of the kind's queue). `follow(run)` keeps it in step with the run's adaptive limit, never
   * above this. The executor's adapters declare {@link schedulerLimit} of it as their
   * `maxConcurrency` (twice the limit): the jobs beyond the limit wait in the queue, and a
   * worker takes the next as it finishes one, in the same round trip to Redis, without waiting
   * for this executor to hear of the end and send another. The hand-off's latency is then off
   * the critical path; what runs at once is still the limit.
   * @default each adapter's maxConcurrency, else 16
   */
  limits?: Record<string, number>;
  /** Rate limits per kind across every worker. */
  rates?: Record<string, RateLimit>;
  /** Most bytes of an outcome sent back through Redis. @default 4 MiB */
  maxOutputBytes?: number;
  /**
   * An attempt whose kind has had no worker connected for this long ends `FANOUT_NO_WORKER`
   * instead of waiting silently. @default 15000
   */
  noWorkerTimeoutMs?: number;
  /** How often the workers of a kind with attempts waiting are counted. @default 1000 */
  workerCheckIntervalMs?: number;
  /** How long connecting to Redis may take before `ready()` fails. @default 5000 */
  connectTimeoutMs?: number;
  /** Called with what deserves a warning (Redis may evict keys). */
  onWarning?: (message: string) => void;
}

/** A worker connected to a kind's queue. */
export interface WorkerInfo {
  kind: string;
  name: string;
  addr: string;
}

interface Pending {
  kind: string;
  jobId: string;
  data: JobData;
  /** When its job was queued (the look at jobs in Redis skips it until then); undefined before. */
  addedAt: number | undefined;
  fail(error: Error): void;
  /** The job's return value (an {@link Envelope}, parsed or not). */
  completed(value: unknown): void;
  failed(reason: string): void;
}

interface KindState {
  queue: Queue;
  ready: Promise<void>;
  pending: Map<string, Pending>;
  /** Attempts to queue at the end of this event-loop turn, in one round trip. */
  toAdd: Pending[];
  timer: NodeJS.Timeout | undefined;
  noWorkerSince: number | undefined;
  checking: boolean;
}

/** Classifications of errors rebuilt from workers' envelopes. */
const remoteClass = new WeakMap<object, Classification>();

/**
 * Runs attempts on BullMQ workers. Give `executor.adapters` to `createScheduler`, and the
 * run's id to `run()` (job ids are derived from it).
 *
 * @example
 * const executor = createExecutor({ redis: 'redis://127.0.0.1:6379', adapters: fsAdapters() });
 * await executor.ready();
 * const scheduler = createScheduler({ adapters: executor.adapters });
 * const result = await scheduler.execute(plan);
 * await executor.close();
 */
export class DistributedExecutor {
  /** Adapters for the scheduler: each attempt of their kinds becomes a job. */
  readonly adapters: readonly Adapter[];
  readonly prefix: string;
  readonly #connection: RedisOptions;
  readonly #client: Redis;
  readonly #local: Map<string, Adapter>;
  /** The current limit of each kind across workers (the run's, once it moves). */
  readonly #limits: Map<string, number>;
  /** The configured limit of each kind across workers: what `follow` never exceeds. */
  readonly #caps: Map<string, number>;
  readonly #rates: Record<string, RateLimit>;
  readonly #maxOutputBytes: number;
  readonly #noWorkerTimeoutMs: number;
  readonly #checkMs: number;
  readonly #connectTimeoutMs: number;
  readonly #onWarning: (message: string) => void;
  readonly #kinds = new Map<string, KindState>();
  /** The same states by queue name, for the outcomes the workers send. */
  readonly #byQueue = new Map<string, KindState>();
  /** Subscribed to the workers' outcomes ({@link doneChannel}). */
  #results: Redis | undefined;
  readonly #runId = randomUUID();
  /** The stop functions of the live `watchWorkers` calls. */
  readonly #watchers = new Set<() => void>();
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: ExecutorOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof this.prefix !== 'string' || this.prefix === '') check.invalid('prefix', 'a non-empty string', this.prefix);
    this.#connection = connectionOptions(options.redis);
    this.#maxOutputBytes = check.integer(options.maxOutputBytes, 'maxOutputBytes', DEFAULT_MAX_OUTPUT_BYTES);
    this.#noWorkerTimeoutMs = check.integer(options.noWorkerTimeoutMs, 'noWorkerTimeoutMs', 15_000, { min: 0 });
    this.#checkMs = check.integer(options.workerCheckIntervalMs, 'workerCheckIntervalMs', 1_000);
    this.#connectTimeoutMs = check.integer(options.connectTimeoutMs, 'connectTimeoutMs', 5_000);
    this.#onWarning = options.onWarning ?? (() => {});
    const local = new Map<string, Adapter>();
    const list: Iterable<Adapter> = Symbol.iterator in options.adapters ? (options.adapters as Iterable<Adapter>) : Object.values(options.adapters);
    for (const adapter of list) local.set(adapter.kind, adapter);
    this.#local = local;
    this.#limits = new Map();
    for (const [kind, adapter] of local) this.#limits.set(kind, check.integer(options.limits?.[kind], `limits.${kind}`, adapter.defaults?.maxConcurrency ?? 16));
    this.#caps = new Map(this.#limits);
    this.#rates = {};
    for (const [kind, rate] of Object.entries(options.rates ?? {})) {
      this.#rates[kind] = { max: check.integer(rate?.max, `rates.${kind}.max`, 1), durationMs: check.integer(rate?.durationMs, `rates.${kind}.durationMs`, 1000) };
    }
    this.#client = new Redis({ ...this.#connection, lazyConnect: true, connectionName: 'fanout-executor', maxRetriesPerRequest: null });
    this.#client.on('error', () => {});
    this.adapters = [...local.values()].map((adapter) => this.#remote(adapter));
  }

  /**
   * Connects to Redis and checks it: fails with `FANOUT_REDIS_UNAVAILABLE` when it does not
   * answer, warns when its `maxmemory-policy` may evict queue keys.
   */
  ready(): Promise<void> {
    this.#ready ??= (async () => {
      await expectAnswer(this.#client, this.#connection, this.#connectTimeoutMs);
      try {
        const reply = (await this.#client.config('GET', 'maxmemory-policy')) as string[];
        const policy = reply[1];
        if (policy !== undefined && policy !== 'noeviction') {
          this.#onWarning(`Redis at ${describeRedis(this.#connection)} has maxmemory-policy "${policy}": it may evict queue keys and lose jobs; set it to "noeviction"`);
        }
      } catch {
        // CONFIG may be disabled (managed Redis); nothing to check then.
      }
      const results = new Redis({ ...this.#connection, connectionName: 'fanout-executor-results', maxRetriesPerRequest: null });
      results.on('error', () => {});
      results.on('message', (_channel: string, message: string) => this.#outcomes(message));
      this.#results = results;
      // Before any job is queued: no outcome can be sent before it is listened for.
      await results.subscribe(doneChannel(this.prefix));
      if (this.#closed) await results.quit().catch(() => results.disconnect());
    })();
    return this.#ready;
  }

  /**
   * The queue and limits of a kind, made on its first attempt. Outcomes come from the workers
   * on one channel for every kind ({@link doneChannel}), subscribed to before anything is
   * queued; what a missed message or a job that had ended before it was sent again leaves
   * waiting, the periodic look at the jobs in Redis settles.
   */
  #kind(kind: string): KindState {
    const known = this.#kinds.get(kind);
    if (known !== undefined) return known;
    const name = queueName(kind);
    const queue = new Queue(name, { connection: forBullmq(this.#connection), prefix: this.prefix });
    queue.on('error', () => {});
    const rate = this.#rates[kind];
    const made: KindState = { queue, ready: Promise.resolve(), pending: new Map(), toAdd: [], timer: undefined, noWorkerSince: undefined, checking: false };
    made.ready = (async () => {
      await queue.waitUntilReady();
      await queue.setGlobalConcurrency(this.#limits.get(kind) ?? 16);
      if (rate !== undefined) await queue.setGlobalRateLimit(rate.max, rate.durationMs);
    })();
    made.ready.catch(() => {});
    this.#kinds.set(kind, made);
    this.#byQueue.set(name, made);
    return made;
  }

  /** A message of outcomes from a worker: settles the attempts this executor waits on. */
  #outcomes(message: string): void {
    for (const { type, queue, jobId, payload } of doneLines(message)) {
      const pending = this.#byQueue.get(queue)?.pending.get(jobId);
      if (pending === undefined) continue; // another executor's, or settled already
      try {
        if (type === 'c') pending.completed(payload);
        else pending.failed(String(JSON.parse(payload)));
      } catch (error) {
        pending.fail(new DistributedError('FANOUT_OPERATION_FAILED', `the outcome of "${pending.data.opId}" (attempt ${pending.data.attempt}) sent by its worker could not be read: ${(error as Error).message}`));
      }
    }
  }

  #remote(local: Adapter): Adapter {
    const kind = local.kind;
    const remote: Adapter = {
      kind,
      input: local.input,
      // Attempts wait on other machines: the summary's sequential estimate counts their wall time.
      // The scheduler may have twice the limit across workers queued or running (QUEUED_PER_LIMIT):
      // BullMQ runs at most the limit, the rest wait in the queue for the next free worker slot.
      defaults: { ...local.defaults, waits: true, maxConcurrency: schedulerLimit(this.#caps.get(kind) ?? 16) },
      classify: (error: unknown) => (typeof error === 'object' && error !== null ? remoteClass.get(error) : undefined) ?? defaultClassify(error),
      run: (input: unknown, context: AttemptContext) => this.#dispatch(kind, input, context),
    };
    if (local.locks !== undefined) Object.assign(remote, { locks: local.locks.bind(local) });
    if (local.key !== undefined) Object.assign(remote, { key: local.key.bind(local) });
    return remote;
  }

  async #dispatch(kind: string, input: unknown, context: AttemptContext): Promise<unknown> {
    if (this.#closed) throw new DistributedError('FANOUT_CANCELLED', `the executor is closed; "${context.id}" was not sent`);
    const signal = context.signal;
    const { id: opId, attempt } = context;
    // A context from the scheduler has both; one made to call the adapter directly may not.
    const runId = context.runId ?? this.#runId;
    const idempotent = context.idempotent ?? this.#local.get(kind)?.defaults?.idempotent ?? false;
    await this.ready();
    const state = this.#kind(kind);
    await state.ready;
    signal.throwIfAborted();
    const jobId = jobIdOf(runId, opId, attempt);
    const data: JobData = { runId, opId, kind, attempt, input, idempotent, maxOutputBytes: this.#maxOutputBytes };
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        signal.removeEventListener('abort', onAbort);
        state.pending.delete(jobId);
        return true;
      };
      const onAbort = (): void => {
        if (!finish()) return;
        void this.#cancel(state, jobId);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const pending: Pending = {
        kind,
        jobId,
        data,
        addedAt: undefined,
        fail: (error) => {
          if (finish()) reject(error);
        },
        completed: (value) => {
          if (!finish()) return;
          const envelope = (typeof value === 'string' ? JSON.parse(value) : value) as Envelope;
          if (envelope.ok) resolve(envelope.output);
          else {
            const error = new RemoteError(envelope.error, envelope.worker);
            remoteClass.set(error, envelope.classification);
            reject(error);
          }
        },
        failed: (reason) => {
          if (!finish()) return;
          if (/stalled/i.test(reason)) {
            reject(
              new DistributedError(
                'FANOUT_WORKER_LOST',
                `"${opId}" (attempt ${attempt}) was lost with its workers more than once (${reason})${idempotent ? '' : '; it is not idempotent, so it is not run again: its effect may or may not have happened'}`,
                { retryable: idempotent },
              ),
            );
          } else reject(new DistributedError('FANOUT_OPERATION_FAILED', `the job of "${opId}" (attempt ${attempt}) failed on its worker: ${reason}`));
        },
      };
      state.pending.set(jobId, pending);
      this.#add(state, pending);
      this.#watch(kind, state);
    });
  }

  /**
   * Queues an attempt with the others of this event-loop turn (one round trip for all). A job
   * with this id already queued (the same attempt sent again) is not queued twice: BullMQ keeps
   * the existing job, whose outcome is this attempt's (heard from its worker, or found in Redis
   * by the next look if it had ended already).
   */
  #add(state: KindState, pending: Pending): void {
    state.toAdd.push(pending);
    if (state.toAdd.length === 1) setImmediate(() => this.#flush(state));
  }

  #flush(state: KindState): void {
    // Those that ended meanwhile (cancelled, the executor closed) are not queued.
    const batch = state.toAdd.splice(0).filter((pending) => state.pending.get(pending.jobId) === pending);
    if (batch.length === 0) return;
    state.queue.addBulk(batch.map(({ data, jobId }) => ({ name: data.kind, data, opts: { jobId, attempts: 1, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED } }))).then(
      () => {
        const now = Date.now();
        for (const pending of batch) pending.addedAt = now;
      },
      (error: unknown) => {
        for (const pending of batch) pending.fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /**
   * Looks at the jobs of the attempts waiting longer than `workerCheckIntervalMs`, one round
   * trip for all: a job that ended (its outcome message missed, or it had ended before this
   * attempt was sent again) settles its attempt; a job gone from Redis (a Redis restarted
   * without its data, keys flushed or evicted) is queued again under the same id when it is
   * idempotent, and ends the others `FANOUT_JOB_LOST` (their effect may have happened).
   * Nothing waits forever on a job Redis no longer has, or on a message it did not get.
   */
  async #look(kind: string, state: KindState): Promise<void> {
    const before = Date.now() - this.#checkMs;
    const waiting = [...state.pending.values()].filter((pending) => pending.addedAt !== undefined && pending.addedAt <= before);
    if (waiting.length === 0) return;
    const pipeline = this.#client.pipeline();
    for (const pending of waiting) pipeline.hmget(state.queue.toKey(pending.jobId), 'name', 'finishedOn', 'returnvalue', 'failedReason');
    const replies = (await pipeline.exec()) ?? [];
    let requeued = false;
    for (const [i, pending] of waiting.entries()) {
      const [error, fields] = replies[i] ?? [new Error('no reply')];
      if (error !== null || state.pending.get(pending.jobId) !== pending) continue;
      const [name, finishedOn, returnvalue, failedReason] = fields as (string | null)[];
      if (name !== null) {
        if (finishedOn === null) continue; // waiting or running
        if (returnvalue !== null) pending.completed(returnvalue);
        else pending.failed(failedReason ?? 'failed');
        continue;
      }
      if (pending.data.idempotent) {
        pending.addedAt = undefined;
        this.#add(state, pending);
        requeued = true;
        continue;
      }
      pending.fail(
        new DistributedError(
          'FANOUT_JOB_LOST',
          `the job of "${pending.data.opId}" (attempt ${pending.data.attempt}) is gone from Redis at ${describeRedis(this.#connection)} (restarted without its data, flushed, or keys evicted); it is not idempotent, so it is not queued again: its effect may or may not have happened`,
          { retryable: false },
        ),
      );
    }
    // The queue's settings went with its keys.
    if (requeued) {
      await state.queue.setGlobalConcurrency(this.#limits.get(kind) ?? 16);
      const rate = this.#rates[kind];
      if (rate !== undefined) await state.queue.setGlobalRateLimit(rate.max, rate.durationMs);
    }
  }

  /** Asks the workers to abort an attempt, and takes it off the queue if it has not started. */
  async #cancel(state: KindState, jobId: string): Promise<void> {
    try {
      await this.#client.publish(cancelChannel(this.prefix), jobId);
      await state.queue.remove(jobId);
    } catch {
      // Gone already, or Redis away: the attempt has ended for the scheduler either way.
    }
  }

  /**
   * While attempts of a kind wait: looks for jobs lost with Redis, and counts the kind's
   * workers; none for `noWorkerTimeoutMs` fails the attempts.
   */
  #watch(kind: string, state: KindState): void {
    if (state.timer !== undefined) return;
    const tick = async (): Promise<void> => {
      if (state.pending.size === 0 || this.#closed) {
        clearInterval(state.timer);
        state.timer = undefined;
        state.noWorkerSince = undefined;
        return;
      }
      if (state.checking) return;
      state.checking = true;
      let count: number;
      try {
        await this.#look(kind, state);
        count = await state.queue.getWorkersCount();
      } catch {
        return;
      } finally {
        state.checking = false;
      }
      if (count > 0) {
        state.noWorkerSince = undefined;
        return;
      }
      const now = Date.now();
      state.noWorkerSince ??= now;
      if (now - state.noWorkerSince < this.#noWorkerTimeoutMs) return;
      for (const pending of [...state.pending.values()]) {
        const removed = await state.queue.remove(pending.jobId).catch(() => 0);
        if (removed === 0 && (await state.queue.getJobState(pending.jobId).catch(() => 'unknown')) === 'active') continue;
        pending.fail(
          new DistributedError(
            'FANOUT_NO_WORKER',
            `no worker serves kind "${kind}" on ${describeRedis(this.#connection)} (prefix "${this.prefix}") for ${this.#noWorkerTimeoutMs} ms; start one with \`fanout worker --redis URL --kinds ${kind}\``,
            { retryable: false },
          ),
        );
      }
    };
    state.timer = setInterval(() => void tick(), this.#checkMs);
    state.timer.unref();
    void tick();
  }

  /**
   * Keeps each kind's limit across workers in step with the run's adaptive limit, never above
   * the configured one (`limits`). The run's limit counts the attempts queued as well as those
   * running (up to {@link schedulerLimit} of the configured one): while it is above the
   * configured limit the workers run that many; below it, they run what the run allows.
   * Returns an unsubscribe (the run's end also ends it).
   */
  follow(run: Run): () => void {
    return run.on((event) => {
      if (event.type !== 'limit-changed') return;
      const state = this.#kinds.get(event.kind);
      if (state === undefined) return;
      const limit = Math.max(1, Math.min(event.to, this.#caps.get(event.kind) ?? event.to));
      this.#limits.set(event.kind, limit);
      state.ready.then(() => state.queue.setGlobalConcurrency(limit)).catch(() => {});
    });
  }

  /** The workers connected to the queues of the given kinds (default: every kind of this executor). */
  async workers(kinds: readonly string[] = [...this.#local.keys()]): Promise<WorkerInfo[]> {
    await this.ready();
    const out: WorkerInfo[] = [];
    for (const kind of kinds) {
      const queue = this.#kind(kind).queue;
      for (const worker of await queue.getWorkers()) out.push({ kind, name: String(worker.rawname ?? worker.name ?? ''), addr: String(worker.addr ?? '') });
    }
    return out;
  }

  /**
   * Calls `onChange` with how many workers serve each of `kinds`, once they are first counted
   * and again whenever a count changes (workers are counted every `intervalMs`). For a live
   * view of who runs a plan. Returns a function that stops it; closing the executor does too.
   *
   * @example
   * const stop = executor.watchWorkers(['grep', 'read'], (counts) => console.log(counts)); // { grep: 2, read: 1 }
   */
  watchWorkers(kinds: readonly string[], onChange: (counts: Record<string, number>) => void, intervalMs: number = this.#checkMs): () => void {
    check.integer(intervalMs, 'intervalMs', 1_000);
    let last: string | undefined;
    let busy = false;
    const poll = async (): Promise<void> => {
      if (busy || this.#closed || !this.#watchers.has(stop)) return;
      busy = true;
      try {
        await this.ready();
        const counts: Record<string, number> = {};
        for (const kind of kinds) counts[kind] = await this.#kind(kind).queue.getWorkersCount();
        const key = JSON.stringify(counts);
        if (key !== last && this.#watchers.has(stop)) {
          last = key;
          onChange(counts);
        }
      } catch {
        // Redis away, or closing: the next count tries again.
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll(), intervalMs);
    timer.unref();
    const stop = (): void => {
      clearInterval(timer);
      this.#watchers.delete(stop);
    };
    this.#watchers.add(stop);
    void poll();
    return stop;
  }

  /** Stops sending; attempts still waiting are cancelled. Closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#watchers]) stop();
    for (const state of this.#kinds.values()) {
      clearInterval(state.timer);
      for (const pending of [...state.pending.values()]) pending.fail(new DistributedError('FANOUT_CANCELLED', `the executor was closed while "${pending.jobId}" was running`));
    }
    await Promise.all([...this.#kinds.values()].map((state) => state.queue.close()));
    if (this.#results !== undefined) await this.#results.quit().catch(() => this.#results?.disconnect());
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}

/** Creates a {@link DistributedExecutor}. */
export function createExecutor(options: ExecutorOptions): DistributedExecutor {
  return new DistributedExecutor(options);
}
