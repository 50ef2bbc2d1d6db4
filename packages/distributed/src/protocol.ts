/**
 * What the executor and the workers agree on: queue names, job ids, job data, the envelope a
 * worker sends back, and the BullMQ settings both sides use.
 */
import type { Classification, SerializedError } from '@fanout/scheduler';

/** The data of one job: one attempt of one operation. */
export interface JobData {
  runId: string;
  /** The operation's id in its plan (`id[3]` for a fan-out child). */
  opId: string;
  kind: string;
  /** The attempt number the scheduler gave it (1 for the first). */
  attempt: number;
  /** The input, already checked by the adapter's schema on the executor's side. */
  input: unknown;
  /** Whether the attempt may run again when its worker is lost. */
  idempotent: boolean;
  /** Most bytes of the serialised envelope sent back. */
  maxOutputBytes: number;
}

/** What a worker sends back as the job's return value: an output, or an error and what it means. */
export type Envelope = { ok: true; output: unknown; worker: string } | { ok: false; error: SerializedError; classification: Classification; worker: string };

/** The key prefix of every queue when none is given. */
export const DEFAULT_PREFIX = 'fanout';

/** Most bytes of an operation's output that go back through Redis. @default 4 MiB */
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/**
 * Lock settings of every worker. A worker renews the lock of each job it holds every
 * `lockDuration / 2`; a job whose lock expired is found by the next stalled check (every
 * `stalledInterval`) and handed to another worker. With BullMQ's defaults (30 s and 30 s) a job
 * lost with its worker waits up to a minute; these bring it to a few seconds.
 */
export const LOCK_DURATION_MS = 5_000;
export const STALLED_INTERVAL_MS = 1_000;
/** Stalls after which BullMQ fails the job instead of handing it to another worker. */
export const MAX_STALLED_COUNT = 2;

/**
 * How many attempts of a kind one run may have queued or running, per unit of the kind's limit
 * across workers. The limit itself is held by BullMQ (the queue's global concurrency: at most
 * `limit` jobs run at once, whatever the workers); the jobs beyond it wait in the queue, and a
 * worker that finishes one takes the next in the same round trip to Redis instead of waiting
 * for the executor to hear of the end and send another. The hand-off's latency is then off
 * each slot's path. Every host (the executor's adapters, `distribute()`, and through them the
 * CLI, the server and the benchmark) applies it with {@link schedulerLimit}.
 */
export const QUEUED_PER_LIMIT = 2;

/** The scheduler's pool limit of a remote kind whose limit across workers is `limit`. */
export function schedulerLimit(limit: number): number {
  return limit * QUEUED_PER_LIMIT;
}

/** Completed and failed jobs kept for re-sent attempts to find (bounded by age and count). */
export const KEEP_FINISHED = { age: 3_600, count: 10_000 };

/** The pub/sub channel on which executors ask workers to abort an attempt (by job id). */
export function cancelChannel(prefix: string): string {
  return `${prefix}:fanout:cancel`;
}

/**
 * The pub/sub channel on which workers send outcomes to the executors of a prefix: one message
 * per worker per event-loop turn, one line per job that ended there, sent once BullMQ has
 * stored the job as finished (so Redis always agrees with what the executors hear). A line is
 * `c<TAB>queue<TAB>job id<TAB>envelope JSON` for a completed job, or `f<TAB>queue<TAB>job id<TAB>reason JSON`
 * for a failed one. Queue names and job ids are percent-encoded, JSON has no raw tabs or
 * newlines. A message missed (an executor reconnecting) is made up for by the executor's
 * periodic look at the jobs it waits on.
 */
export function doneChannel(prefix: string): string {
  return `${prefix}:fanout:done`;
}

/** One line of a {@link doneChannel} message. */
export function doneLine(type: 'c' | 'f', queue: string, jobId: string, payload: string): string {
  return `${type}\t${queue}\t${jobId}\t${payload}`;
}

/** The lines of a {@link doneChannel} message; malformed lines are skipped. */
export function* doneLines(message: string): Generator<{ type: 'c' | 'f'; queue: string; jobId: string; payload: string }> {
  for (const line of message.split('\n')) {
    const a = line.indexOf('\t');
    const b = line.indexOf('\t', a + 1);
    const c = line.indexOf('\t', b + 1);
    if (a !== 1 || b < 0 || c < 0) continue;
    const type = line[0];
    if (type !== 'c' && type !== 'f') continue;
    yield { type, queue: line.slice(a + 1, b), jobId: line.slice(b + 1, c), payload: line.slice(c + 1) };
  }
}

/** The queue of a kind (BullMQ refuses `:` in queue names, so it is percent-encoded). */
export function queueName(kind: string): string {
  return encodeURIComponent(kind);
}

/**
 * The job id of one attempt: run id, attempt and operation id, so the same attempt sent twice
 * (a re-sent message, an executor restarted with the same run id) is one job. BullMQ refuses `:`
 * in custom ids and ids that are integers; the operation id is percent-encoded.
 */
export function jobIdOf(runId: string, opId: string, attempt: number): string {
  return `${encodeURIComponent(runId)}.${attempt}.${encodeURIComponent(opId)}`;
}
