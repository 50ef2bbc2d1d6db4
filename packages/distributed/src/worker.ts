/**
 * A worker: takes the jobs of the kinds it serves from their queues and runs them with its own
 * adapters (its own roots and configuration), sending each outcome back as the job's return value.
 */
import { hostname } from 'node:os';
import { type Adapter, type AttemptContext, type Classification, defaultClassify, describeZodIssues, type ErrorClass, serializeError } from '@fanout/scheduler';
import { type ConnectionOptions, type Job, Queue, WaitingError, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { DistributedError } from './errors.js';
import { check, connectionOptions, describeRedis, forBullmq } from './redis.js';
import { cancelChannel, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_PREFIX, doneChannel, doneLine, type Envelope, type JobData, LOCK_DURATION_MS, MAX_STALLED_COUNT, queueName, STALLED_INTERVAL_MS } from './protocol.js';

export interface WorkerOptions {
  /** `redis://host:port/db` or ioredis options. */
  redis: string | RedisOptions;
  /** Key prefix of the queues; executors and workers of one deployment share it. @default "fanout" */
  prefix?: string | undefined;
  /** The adapters this worker runs, with this machine's roots and configuration. */
  adapters: Iterable<Adapter> | Record<string, Adapter>;
  /** The kinds it serves. @default every adapter's kind */
  kinds?: readonly string[];
  /**
   * Most attempts of one kind this process runs at once (the kind's limit across all workers is
   * the executor's to set). A number for every kind, or one per kind.
   * @default each adapter's maxConcurrency, else 16
   */
  concurrency?: number | Record<string, number> | undefined;
  /** Most bytes of an outcome sent back through Redis (the executor's own cap also applies). @default 4 MiB */
  maxOutputBytes?: number;
  /** Names this worker in the executor's results and in Redis's client list. @default host:pid */
  name?: string;
  /** Lock held on each job, renewed every half of it; a lost worker's jobs move on after it. @default 5000 */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired. @default 1000 */
  stalledIntervalMs?: number;
  /** How long connecting to Redis may take before `ready` fails with `FANOUT_REDIS_UNAVAILABLE`. @default 5000 */
  connectTimeoutMs?: number;
  /** Called with errors of the connection or of BullMQ that no job owns. */
  onError?: (error: Error) => void;
}

/** What a worker did so far. */
export interface WorkerStats {
  completed: number;
  failed: number;
  /** Attempts of non-idempotent operations refused because a previous holder was lost. */
  lost: number;
  /** Idempotent attempts handed back to the queue at shutdown. */
  handedBack: number;
  active: number;
}

/** A running worker; `close()` finishes (or hands back) what it holds and disconnects. */
export class FanoutWorker {
  readonly name: string;
  readonly kinds: readonly string[];
  readonly stats: WorkerStats = { completed: 0, failed: 0, lost: 0, handedBack: 0, active: 0 };
  readonly #workers: Worker[] = [];
  /** Each kind's BullMQ worker, its configured concurrency, and its queue (to read the limit and count workers). */
  readonly #shares: { worker: Worker; configured: number; queue: Queue }[] = [];
  #shareTimer: NodeJS.Timeout | undefined;
  #sharing = false;
  readonly #subscriber: Redis;
  /** Sends outcomes to the executors ({@link doneChannel}). */
  readonly #publisher: Redis;
  readonly #doneChannel: string;
  /** Lines of outcomes not yet sent: one message per event-loop turn carries them all. */
  #outbox: string[] = [];
  /** The envelope of each job as serialised for the size check, reused for the outcome message. */
  readonly #serialised = new WeakMap<Job, string>();
  readonly #adapters: Map<string, Adapter>;
  readonly #maxOutputBytes: number;
  readonly #tokens = new Map<string, string>();
  #stopping = false;
  #closed: Promise<void> | undefined;
  /** Resolves once every queue's worker is connected and the cancel channel subscribed. */
  readonly ready: Promise<void>;

  constructor(options: WorkerOptions) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const adapters = new Map<string, Adapter>();
    const list: Iterable<Adapter> = Symbol.iterator in options.adapters ? (options.adapters as Iterable<Adapter>) : Object.values(options.adapters);
    for (const adapter of list) adapters.set(adapter.kind, adapter);
    this.#adapters = adapters;
    const kinds = options.kinds ?? [...adapters.keys()];
    for (const [i, kind] of kinds.entries()) {
      if (!adapters.has(kind)) check.invalid(`kinds[${i}]`, `one of the kinds this worker has adapters for (${[...adapters.keys()].join(', ')})`, kind);
    }
    if (kinds.length === 0) check.invalid('kinds', 'at least one kind', kinds);
    this.kinds = kinds;
    this.#maxOutputBytes = check.integer(options.maxOutputBytes, 'maxOutputBytes', DEFAULT_MAX_OUTPUT_BYTES);
    const lockDuration = check.integer(options.lockDurationMs, 'lockDurationMs', LOCK_DURATION_MS);
    const stalledInterval = check.integer(options.stalledIntervalMs, 'stalledIntervalMs', STALLED_INTERVAL_MS);
    this.name = options.name ?? `${hostname()}:${process.pid}`;
    const connection = connectionOptions(options.redis);
    const onError = options.onError ?? (() => {});
    this.#doneChannel = doneChannel(prefix);
    this.#publisher = new Redis({ ...connection, connectionName: `fanout-worker-done:${this.name}` });
    this.#publisher.on('error', onError);

    for (const kind of kinds) {
      const adapter = adapters.get(kind)!;
      const concurrency =
        typeof options.concurrency === 'number' ? check.integer(options.concurrency, 'concurrency', 1) : check.integer(options.concurrency?.[kind], `concurrency.${kind}`, adapter.defaults?.maxConcurrency ?? 16);
      const worker = new Worker(queueName(kind), (job: Job, token?: string, signal?: AbortSignal) => this.#process(job, token, signal), {
        connection: forBullmq({ ...connection, connectionName: `fanout-worker:${this.name}` }),
        prefix,
        concurrency,
        lockDuration,
        stalledInterval,
        maxStalledCount: MAX_STALLED_COUNT,
        name: this.name,
        autorun: true,
      });
      worker.on('error', onError);
      const queue = queueName(kind);
      // Sent once BullMQ has stored the outcome: an executor never hears of a job that Redis
      // does not yet hold as finished.
      worker.on('completed', (job: Job, result: unknown) => {
        if (job.id !== undefined) this.#send(doneLine('c', queue, job.id, this.#serialised.get(job) ?? JSON.stringify(result)));
      });
      worker.on('failed', (job: Job | undefined, error: Error) => {
        if (job?.id !== undefined) this.#send(doneLine('f', queue, job.id, JSON.stringify(error.message)));
      });
      this.#workers.push(worker);
      // On the publisher's connection: reading the limit and counting workers needs none of its own.
      const limits = new Queue(queue, { connection: this.#publisher as unknown as ConnectionOptions, prefix });
      limits.on('error', onError);
      this.#shares.push({ worker, configured: concurrency, queue: limits });
    }
    this.#subscriber = new Redis({ ...connection, connectionName: `fanout-worker-cancel:${this.name}` });
    this.#subscriber.on('error', onError);
    this.#subscriber.on('message', (_channel: string, jobId: string) => {
      for (const worker of this.#workers) worker.cancelJob(jobId, 'cancelled by the executor');
    });
    const subscribed = this.#subscriber.subscribe(cancelChannel(prefix));
    const connectTimeoutMs = check.integer(options.connectTimeoutMs, 'connectTimeoutMs', 5_000);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DistributedError('FANOUT_REDIS_UNAVAILABLE', `expected Redis to answer at ${describeRedis(connection)} within ${connectTimeoutMs} ms, got no answer`, { retryable: false })),
        connectTimeoutMs,
      );
    });
    const publishing = new Promise<void>((resolve) => {
      if (this.#publisher.status === 'ready') resolve();
      else this.#publisher.once('ready', () => resolve());
    });
    this.ready = Promise.race([Promise.all([...this.#workers.map((w) => w.waitUntilReady()), subscribed, publishing]).then(() => undefined), timeout]).finally(() => clearTimeout(timer));
    this.ready.catch(() => {});
    this.#shareTimer = setInterval(() => void this.#share(), stalledInterval);
    this.#shareTimer.unref();
    void this.ready.then(() => this.#share()).catch(() => {});
  }

  /**
   * Keeps each kind's concurrency in this process at its share of the kind's limit across
   * workers: ⌈limit ÷ workers serving the kind⌉, never above the configured concurrency.
   * BullMQ's worker asks Redis for another job whenever it holds fewer than its concurrency,
   * one request at a time, and waits for the answer before it starts the jobs that the ends of
   * others brought in the same round trip. With a limit of 64 over 4 workers of 64 each, every
   * worker held ~16 jobs and kept asking for a 17th that the full queue refused: the next job
   * waited 61 ms on average between its fetch and its start, against 18 ms with each worker at
   * 16 (load 12-17). Looked at every `stalledIntervalMs`; a worker that joins or leaves moves the
   * shares within that.
   */
  async #share(): Promise<void> {
    if (this.#sharing || this.#closed !== undefined) return;
    this.#sharing = true;
    try {
      for (const { worker, configured, queue } of this.#shares) {
        const [limit, workers] = await Promise.all([queue.getGlobalConcurrency(), queue.getWorkersCount()]);
        const share = limit === null || workers === 0 ? configured : Math.min(configured, Math.ceil(limit / workers));
        if (worker.concurrency !== share && this.#closed === undefined) worker.concurrency = share;
      }
    } catch {
      // Redis away: the shares stay as they were until it answers again.
    } finally {
      this.#sharing = false;
    }
  }

  /**
   * How many attempts of `kind` this process runs at once now: its configured concurrency, or
   * its share of the kind's limit across workers when that is lower. Undefined for a kind it
   * does not serve.
   */
  concurrency(kind: string): number | undefined {
    const at = this.kinds.indexOf(kind);
    return at < 0 ? undefined : this.#shares[at]?.worker.concurrency;
  }

  /** Queues a line for the executors; the first of a turn schedules the message. */
  #send(line: string): void {
    this.#outbox.push(line);
    if (this.#outbox.length === 1) setImmediate(() => this.#flush());
  }

  #flush(): Promise<unknown> {
    if (this.#outbox.length === 0) return Promise.resolve();
    const message = this.#outbox.join('\n');
    this.#outbox = [];
    // Lost with the connection, the executors find the outcomes in Redis on their next look.
    return this.#publisher.publish(this.#doneChannel, message).catch(() => {});
  }

  async #process(job: Job, token: string | undefined, signal: AbortSignal | undefined): Promise<Envelope> {
    const data = job.data as JobData;
    const adapter = this.#adapters.get(data.kind);
    if (adapter === undefined) return this.#failure(new DistributedError('FANOUT_OPTION_INVALID', `worker ${this.name} got a job of kind "${data.kind}", which it has no adapter for`), 'fatal');
    if (job.stalledCounter > 0 && !data.idempotent) {
      this.stats.lost++;
      return this.#failure(
        new DistributedError(
          'FANOUT_WORKER_LOST',
          `"${data.opId}" (attempt ${data.attempt}) was running on a worker that stopped answering (its lock expired ${job.stalledCounter} time${job.stalledCounter === 1 ? '' : 's'}); it is not idempotent, so it is not run again: its effect may or may not have happened`,
          { retryable: false },
        ),
        'fatal',
      );
    }
    const parsed = adapter.input.safeParse(data.input);
    if (!parsed.success) {
      return this.#failure(
        new DistributedError(
          'FANOUT_OPERATION_FAILED',
          `the input of "${data.opId}" does not fit worker ${this.name}'s "${data.kind}" adapter: ${describeZodIssues(parsed.error, data.input, 'input')
            .map((d) => `${d.path}: ${d.message}`)
            .join('; ')}`,
        ),
        'fatal',
      );
    }
    const aborter = signal ?? new AbortController().signal;
    const context: AttemptContext = {
      id: data.opId,
      kind: data.kind,
      runId: data.runId,
      idempotent: data.idempotent,
      attempt: data.attempt,
      signal: aborter,
      deadline: undefined,
      progress: (value) => {
        job.updateProgress(value as object).catch(() => {});
      },
    };
    if (token !== undefined && job.id !== undefined) this.#tokens.set(job.id, token);
    this.stats.active++;
    let envelope: Envelope;
    try {
      const output = await adapter.run(parsed.data, context);
      envelope = { ok: true, output, worker: this.name };
    } catch (error) {
      if (this.#stopping && aborter.aborted && data.idempotent && token !== undefined) {
        // Shutting down: an idempotent attempt goes back to the queue for another worker.
        await job.moveToWait(token);
        this.stats.handedBack++;
        throw new WaitingError();
      }
      if (this.#stopping && aborter.aborted) {
        envelope = this.#failure(
          new DistributedError('FANOUT_WORKER_LOST', `worker ${this.name} stopped while "${data.opId}" (attempt ${data.attempt}) was running and aborted it; it is not idempotent, so it is not run again`, {
            retryable: false,
          }),
          'fatal',
        );
      } else envelope = this.#failure(error, classify(adapter, error));
    } finally {
      this.stats.active--;
      if (job.id !== undefined) this.#tokens.delete(job.id);
    }
    const cap = Math.min(this.#maxOutputBytes, data.maxOutputBytes);
    let serialised = JSON.stringify(envelope);
    const size = Buffer.byteLength(serialised);
    if (size > cap) {
      envelope = this.#failure(
        new DistributedError('FANOUT_OUTPUT_TOO_LARGE', `the output of "${data.opId}" is ${size} bytes serialised, over the ${cap}-byte cap of outputs sent back through Redis (maxOutputBytes)`, {
          retryable: false,
        }),
        'fatal',
      );
      serialised = JSON.stringify(envelope);
    }
    this.#serialised.set(job, serialised);
    if (envelope.ok) this.stats.completed++;
    else this.stats.failed++;
    return envelope;
  }

  #failure(error: unknown, classification: ErrorClass | Classification): Envelope {
    return { ok: false, error: serializeError(error), classification: typeof classification === 'string' ? { class: classification } : classification, worker: this.name };
  }

  /**
   * Stops taking jobs and waits for those it holds. After `graceMs`, it aborts them: idempotent
   * ones go back to the queue for another worker, the others end `FANOUT_WORKER_LOST`.
   */
  close(graceMs = 30_000): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#shareTimer);
      const closing = Promise.all(this.#workers.map((w) => w.close()));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([closing, grace]);
      clearTimeout(timer);
      if (this.stats.active > 0) {
        this.#stopping = true;
        for (const worker of this.#workers) worker.cancelAllJobs('the worker is shutting down');
      }
      await closing;
      await this.#flush();
      await Promise.all(this.#shares.map(({ queue }) => queue.close().catch(() => {})));
      if (this.#publisher.status === 'ready') await this.#publisher.quit().catch(() => {});
      else this.#publisher.disconnect();
      if (this.#subscriber.status === 'ready') await this.#subscriber.quit().catch(() => {});
      else this.#subscriber.disconnect();
    })();
    return this.#closed;
  }
}

/** The adapter's classification of an error (its `classify`, else the default); a throwing `classify` means fatal. */
function classify(adapter: Adapter, error: unknown): Classification {
  if (adapter.classify === undefined) return defaultClassify(error);
  try {
    const value = adapter.classify(error);
    return typeof value === 'string' ? { class: value } : (value ?? { class: 'fatal' });
  } catch {
    return { class: 'fatal' };
  }
}

/** Starts a worker; await `worker.ready` to know it takes jobs. */
export function startWorker(options: WorkerOptions): FanoutWorker {
  return new FanoutWorker(options);
}
