/**
 * Where the I/O plan's time goes on workers (`BENCH_DISTRIBUTED_TRACE=1`): each worker process
 * records when its adapter started and ended each attempt; BullMQ keeps, in each job's hash, when
 * the executor queued it (`timestamp`), when a worker took it (`processedOn`) and when that worker
 * asked Redis to finish it (`finishedOn`). A job taken by the call that finished another on the
 * same worker (BullMQ's moveToFinished fetching the next job) has `processedOn` equal to that
 * job's `finishedOn`: the two form one slot, and the time from the first's end to the second's
 * start is that slot's gap. Every timestamp is the system clock of one machine.
 *
 * The wall time splits into what the slots did: limit × wall = the adapters' time + the time
 * jobs were held in Redis without running (hand-off on the worker) + the time slots were free
 * while jobs waited (workers not asking) + the time slots were free with nothing queued (the
 * executor behind) + the tail, when every job was queued and the last ones run.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Measurement } from './types.js';

/** One attempt as its worker's adapter saw it (`runId opId start end`, ms since the epoch). */
export interface Span {
  runId: string;
  opId: string;
  start: number;
  end: number;
  /** The worker process (its file's name). */
  pid: string;
}

/** One job as BullMQ recorded it. */
export interface JobTimes {
  opId: string;
  added: number;
  taken: number;
  finished: number;
  worker: string;
}

/** The spans the worker processes wrote into `dir` (one `<pid>.tsv` each) for `runId`. */
export function readSpans(dir: string, runId: string): Map<string, Span> {
  const spans = new Map<string, Span>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.tsv')) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const [run, opId, start, end] = line.split('\t');
      if (run !== runId || opId === undefined) continue;
      spans.set(opId, { runId: run, opId, start: Number(start), end: Number(end), pid: file.slice(0, -4) });
    }
  }
  return spans;
}

/** The BullMQ times of each job of `opIds` (first attempts), read with one redis-cli pipe. */
export function readJobs(redisUrl: string, jobKey: (opId: string) => string, opIds: readonly string[]): JobTimes[] {
  const input = opIds.map((opId) => `HMGET ${jobKey(opId)} timestamp processedOn finishedOn pb\n`).join('');
  const lines = execFileSync('redis-cli', ['-u', redisUrl], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
  const jobs: JobTimes[] = [];
  for (const [i, opId] of opIds.entries()) {
    const [added, taken, finished, worker] = lines.slice(i * 4, i * 4 + 4);
    if (!added || !taken || !finished) throw new Error(`distributed-scale trace: expected job ${jobKey(opId)} to have timestamp, processedOn and finishedOn, got ${JSON.stringify([added, taken, finished])}`);
    jobs.push({ opId, added: Number(added), taken: Number(taken), finished: Number(finished), worker: worker ?? '' });
  }
  return jobs;
}

const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);

/**
 * The run's time split by what the slots did, in ms of wall time (slot-ms ÷ limit), and the
 * slots' gaps (ms). `from`/`to` bound the measured run (ms since the epoch).
 */
export function analyse(jobs: readonly JobTimes[], spans: ReadonlyMap<string, Span>, limit: number, from: number, to: number): Measurement {
  const wall = to - from;
  let running = 0;
  let held = 0;
  const durations: number[] = [];
  for (const job of jobs) {
    const span = spans.get(job.opId);
    if (span === undefined) throw new Error(`distributed-scale trace: no span for ${job.opId}`);
    running += span.end - span.start;
    held += job.finished - job.taken - (span.end - span.start);
    durations.push(span.end - span.start);
  }
  // Slots: a job taken at the instant another ended on the same worker was fetched by that end.
  const endings = new Map<string, JobTimes[]>();
  for (const job of jobs) {
    const key = `${job.worker}@${job.finished}`;
    const list = endings.get(key);
    if (list === undefined) endings.set(key, [job]);
    else list.push(job);
  }
  const gaps: number[] = [];
  const beforeFinish: number[] = [];
  const afterTake: number[] = [];
  const fetchedAlone: number[] = [];
  for (const job of jobs) {
    const span = spans.get(job.opId)!;
    const previous = endings.get(`${job.worker}@${job.taken}`)?.pop();
    if (previous === undefined) {
      fetchedAlone.push(span.start - job.taken);
      continue;
    }
    const before = spans.get(previous.opId)!;
    gaps.push(span.start - before.end);
    beforeFinish.push(previous.finished - before.end);
    afterTake.push(span.start - job.taken);
  }
  // Free slots over time, split by whether jobs were waiting in the queue.
  const events: [number, number, number][] = [];
  for (const job of jobs) events.push([job.added, 1, 0], [job.taken, -1, 1], [job.finished, 0, -1]);
  events.sort((a, b) => a[0] - b[0]);
  const lastAdded = Math.max(...jobs.map((job) => job.added));
  let waiting = 0;
  let active = 0;
  let at = from;
  let freeWaiting = 0;
  let freeEmpty = 0;
  let tail = 0;
  for (const [t, dw, da] of events) {
    const until = Math.min(Math.max(t, from), to);
    if (until > at) {
      const free = Math.max(0, limit - active) * (until - at);
      if (waiting > 0) freeWaiting += free;
      else if (at >= lastAdded) tail += free;
      else freeEmpty += free;
      at = until;
    }
    waiting += dw;
    active += da;
  }
  if (to > at) tail += Math.max(0, limit - active) * (to - at);
  // How long after the run's start every slot was first busy: the `limit`-th earliest start.
  const starts = [...spans.values()].map((span) => span.start).sort((a, b) => a - b);
  const firstAdded = Math.min(...jobs.map((job) => job.added));
  return {
    trace_first_added_ms: firstAdded - from,
    trace_all_busy_ms: (starts[Math.min(limit, starts.length) - 1] ?? Number.NaN) - from,
    trace_idle_between_ms: idleBetween(spans),
    trace_fetch_ms: mean(durations),
    trace_running_ms: running / limit,
    trace_held_ms: held / limit,
    trace_free_waiting_ms: freeWaiting / limit,
    trace_free_empty_ms: freeEmpty / limit,
    trace_tail_ms: tail / limit,
    trace_slot_gap_ms: mean(gaps),
    trace_gap_to_finish_ms: mean(beforeFinish),
    trace_gap_from_take_ms: mean(afterTake),
    trace_chained: gaps.length / jobs.length,
    trace_fetched_start_ms: mean(fetchedAlone),
    trace_wall_ms: wall,
  };
}

/**
 * How long a worker's slot stays idle between one attempt's end and the next attempt's start,
 * whatever hands the slot on (BullMQ's moveToFinished taking the next job, or a permit handed
 * to a job held ahead): on each worker, every start after the first ones is paired with the
 * earliest end not yet paired before it. Mean, ms.
 */
function idleBetween(spans: ReadonlyMap<string, Span>): number {
  const byWorker = new Map<string, [number, 0 | 1][]>();
  for (const span of spans.values()) {
    const events = byWorker.get(span.pid) ?? [];
    events.push([span.start, 1], [span.end, 0]);
    byWorker.set(span.pid, events);
  }
  const gaps: number[] = [];
  for (const events of byWorker.values()) {
    // Ends before starts at the same instant: a permit handed on within the same millisecond.
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const ends: number[] = [];
    let first = 0;
    for (const [at, isStart] of events) {
      if (isStart === 0) ends.push(at);
      else if (first < ends.length) gaps.push(at - ends[first++]!);
    }
  }
  return mean(gaps);
}
