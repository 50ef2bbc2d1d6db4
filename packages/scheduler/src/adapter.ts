import type { z } from 'zod';
import { FanoutError } from './errors.js';
import type { LockSpec } from './plan.js';

/**
 * What a failed attempt means:
 * - `retryable`: transient; retry it (if the operation is idempotent or the plan forces it).
 * - `drop`: the other side is overloaded (timeout, 429, 503, reset); retry it, and tell the
 *   pool's limiter to back off.
 * - `fatal`: retrying cannot help.
 */
export type ErrorClass = 'retryable' | 'drop' | 'fatal';

/** A classification with details, for errors that say when to come back. */
export interface Classification {
  class: ErrorClass;
  /** Wait at least this long before the next attempt (an HTTP `Retry-After`). */
  retryAfterMs?: number;
}

/** Per-kind defaults an adapter declares; plans and options may override them. */
export interface AdapterDefaults {
  /**
   * Hard cap of concurrent attempts of this kind.
   * @default 16
   */
  maxConcurrency?: number;
  /**
   * Where the adaptive limiter starts.
   * @default half of maxConcurrency
   */
  optimalConcurrency?: number;
  /** Timeout of each attempt. @default the run's `timeoutMs`, else none */
  timeoutMs?: number;
  /**
   * Whether running an operation twice is harmless. Only idempotent operations are retried
   * unless the plan forces it.
   * @default false
   */
  idempotent?: boolean;
  /** Most concurrent attempts per sub-limit key (see {@link Adapter.key}). @default unlimited */
  keyLimit?: number;
  /**
   * Attempts mostly wait on something outside this machine (a server, a timer), so their wall
   * time is what each would take alone however busy the CPU is. The run summary's sequential
   * estimate counts them by wall time; other kinds count by the CPU they used when the cores
   * (or the main thread) were busy.
   * @default false
   */
  waits?: boolean;
}

/**
 * What an attempt is told about itself. It is valid until the attempt's promise settles;
 * the scheduler reuses context objects after that, so do not keep one beyond it.
 */
export interface AttemptContext {
  readonly id: string;
  readonly kind: string;
  /**
   * The run this attempt belongs to (`RunOptions.runId`). The scheduler always sets it; a
   * context made to call an adapter directly may leave it out.
   */
  readonly runId?: string;
  /**
   * Whether running this operation again is harmless: its adapter declares it idempotent, or
   * its retry policy forces retries. An executor that hands attempts to other processes uses it
   * to decide whether an attempt lost with its process may run again. The scheduler always sets it.
   */
  readonly idempotent?: boolean;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * Aborted when the attempt times out, the run is cancelled or halted, or its deadline
   * passes. Adapters must stop their real work when it fires.
   */
  readonly signal: AbortSignal;
  /** Clock time at which this attempt times out, if it has a timeout. */
  readonly deadline: number | undefined;
  /** Reports progress; it reaches event consumers as an `op-progress` event. */
  progress(data: unknown): void;
}

/**
 * An adapter runs one kind of operation. The scheduler validates each input with `input`
 * before the run, calls `run` per attempt, and asks `classify` what an error means.
 *
 * @example
 * const sleep = defineAdapter({
 *   kind: 'sleep',
 *   input: z.object({ ms: z.number() }),
 *   defaults: { maxConcurrency: 64, idempotent: true },
 *   run: ({ ms }, { signal }) => setTimeout(ms, undefined, { signal }),
 * });
 */
// biome-ignore lint/suspicious/noExplicitAny: a map of adapters holds every input type; `unknown` would make run() uncallable there.
export interface Adapter<I = any, O = unknown> {
  readonly kind: string;
  /** zod schema of the input; what it outputs is what `run` receives. */
  // biome-ignore lint/suspicious/noExplicitAny: the schema's input side (before transforms) is whatever the plan holds.
  readonly input: z.ZodType<I, any>;
  run(input: I, context: AttemptContext): O | PromiseLike<O>;
  /** @default {@link defaultClassify} */
  classify?(error: unknown): ErrorClass | Classification;
  /** Resource keys this input needs, e.g. `{ key: "file:/abs/path", mode: "write" }`. */
  locks?(input: I): readonly (string | LockSpec)[];
  /** The sub-limit key of this input (the host of a URL, a search provider). */
  key?(input: I): string | undefined;
  /**
   * Work sharing (see {@link Batcher}): operations whose adapters hold the same batcher and
   * whose inputs give the same batch key run together, through `batcher.run`, instead of
   * through `run` one by one.
   */
  readonly batcher?: Batcher;
  readonly defaults?: AdapterDefaults;
  /**
   * Releases what the adapter holds (worker threads, connection pools, a shared scan) once the
   * runs that use it are over. Adapters that hold nothing leave it out; callers close every
   * adapter the same way, through this method.
   */
  close?(): void | Promise<void>;
}

/**
 * One operation of a batch: its own input, its own attempt context (its own signal, aborted by
 * its own timeout or a cancellation; its own progress), and its own outcome.
 */
export interface BatchMember<I = unknown> {
  readonly kind: string;
  readonly input: I;
  readonly context: AttemptContext;
  /** Ends this member's attempt with an output. Later calls, and calls after its signal fired, are ignored. */
  resolve(output: unknown): void;
  /** Ends this member's attempt with an error, classified by its adapter as usual. */
  reject(error: unknown): void;
}

/**
 * Shares work between operations that are ready at the same time: a walk of one tree, one
 * read of each file, one pass of several patterns. The scheduler takes the operations queued
 * with the same batcher (by identity, so adapters of several kinds can share one) and the same
 * key, and hands them to `run` as one batch. A batch is one unit of work: it holds one slot of
 * the global limit and one of each member kind's pool, whatever its size, so `-j 1` runs
 * batches one at a time too. Every member keeps its own events, attempt count, timeout,
 * retries, journal record and result: sharing must never change what an operation returns.
 * An operation whose key is defined always runs through `run`, alone or not, so that its
 * output cannot depend on whether it had company.
 *
 * @example
 * const batcher: Batcher = {
 *   key: (kind, input) => 'tree:' + (input as { root: string }).root,
 *   run(members) {
 *     const shared = walkOnce(members[0]!.input);
 *     for (const m of members) shared.then((tree) => m.resolve(filter(tree, m.input)), m.reject);
 *   },
 * };
 */
export interface Batcher {
  /** The batch key of an input of `kind`; `undefined` runs it alone through the adapter's `run`. */
  key(kind: string, input: unknown): string | undefined;
  /**
   * Most operations in one batch.
   * @default 64
   */
  readonly maxSize?: number;
  /**
   * Runs a batch. Every member must end, through its `resolve` or `reject`, or by its signal
   * (a member whose signal fired has already ended; the batcher should stop its share of the
   * work). A synchronous throw fails every member that has not ended.
   */
  run(members: readonly BatchMember[]): void;
}

/** Identity function that infers an adapter's input and output types. */
export function defineAdapter<I, O>(adapter: Adapter<I, O>): Adapter<I, O> {
  return adapter;
}

const DROP_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'FANOUT_ATTEMPT_TIMEOUT']);
const RETRYABLE_CODES = new Set(['EAI_AGAIN', 'ECONNREFUSED', 'EPIPE', 'EBUSY', 'EMFILE', 'ENFILE']);

/**
 * The classification used when an adapter has no `classify`: an error's own
 * `retryAfterMs`, `retryable` or `drop` fields first, then well-known network codes; anything
 * else is fatal.
 */
export function defaultClassify(error: unknown): Classification {
  if (typeof error !== 'object' || error === null) return { class: 'fatal' };
  const fields = error as { code?: unknown; retryable?: unknown; drop?: unknown; retryAfterMs?: unknown };
  const retryAfterMs = typeof fields.retryAfterMs === 'number' && fields.retryAfterMs >= 0 ? fields.retryAfterMs : undefined;
  const withDelay = (cls: ErrorClass): Classification => (retryAfterMs === undefined ? { class: cls } : { class: cls, retryAfterMs });
  if (fields.drop === true) return withDelay('drop');
  if (fields.retryable === true) return withDelay('retryable');
  if (fields.retryable === false) return { class: 'fatal' };
  const code = typeof fields.code === 'string' ? fields.code : '';
  if (DROP_CODES.has(code)) return withDelay('drop');
  if (RETRYABLE_CODES.has(code)) return withDelay('retryable');
  if (retryAfterMs !== undefined) return withDelay('retryable');
  return { class: 'fatal' };
}

/**
 * What a failed attempt means for the scheduler: a timeout is a drop (overload) whatever the
 * adapter says; otherwise the adapter's `classify` (a throwing one counts as fatal), or
 * {@link defaultClassify}.
 */
export function classifyFailure(adapter: Adapter, error: unknown): Classification {
  if (error instanceof FanoutError && error.code === 'FANOUT_ATTEMPT_TIMEOUT') return { class: 'drop' };
  if (adapter.classify === undefined) return defaultClassify(error);
  try {
    return toClassification(adapter.classify(error));
  } catch {
    return { class: 'fatal' };
  }
}

/** Normalises what `classify` returned. */
export function toClassification(value: ErrorClass | Classification | undefined): Classification {
  if (value === undefined) return { class: 'fatal' };
  if (typeof value === 'string') return { class: value };
  return value;
}
