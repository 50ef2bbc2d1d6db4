/**
 * Runs and their handles. A tool call starts a run and waits for it until its deadline; a
 * run that outlasts the deadline carries on, and `fanout_status` / `fanout_cancel` find it by
 * its handle. Finished runs are kept (with their outputs, so status can answer again) up to
 * a count, the oldest forgotten first; running ones are never forgotten.
 */
import { Aggregator } from '@fanout/aggregate';
import { STEP_EXTRACTORS } from '@fanout/profiles';
import type { Clock, Plan, Run, RunResult, SchedulerEvent } from '@fanout/scheduler';
import { FanoutMcpError } from './errors.js';
import type { OperationEntry, TextRenderer } from './render.js';
import type { CallRoots } from './roots.js';

/** How a wait ended. */
export type WaitOutcome = 'done' | 'deadline' | 'aborted';

/** What a run was started with. */
export interface RunStart {
  handle: string;
  tool: string;
  title: string;
  plan: Plan;
  roots: CallRoots;
  renderer: TextRenderer;
  clock: Clock;
  /**
   * Starts the run with this event listener attached (before anything happens: a run may
   * emit its first events while it is being started).
   */
  launch: (onEvent: (event: SchedulerEvent) => void) => Run;
}

/** An operation's entry from its `op-finished` event. */
function entryOf(event: Extract<SchedulerEvent, { type: 'op-finished' }>): OperationEntry {
  const entry: OperationEntry = { id: event.id, kind: event.kind, state: event.state, attempts: event.attempts, durationMs: event.durationMs };
  if (event.parent !== undefined) entry.parent = event.parent;
  if (event.state === 'succeeded') entry.output = event.output;
  else if (event.error !== undefined) entry.error = { code: event.error.code ?? 'FANOUT_OPERATION_FAILED', message: event.error.message, ...(event.error.path === undefined ? {} : { path: event.error.path }) };
  return entry;
}

/** One run of a tool call: its plan, its progress, its aggregation and its result. */
export class RunRecord {
  readonly handle: string;
  readonly tool: string;
  readonly title: string;
  readonly plan: Plan;
  readonly roots: CallRoots;
  readonly renderer: TextRenderer;
  readonly run: Run;
  readonly aggregator: Aggregator;
  readonly startedAt: number;
  /** Operations that ended, in the order they did. */
  readonly finished = new Map<string, OperationEntry>();
  readonly #clock: Clock;
  #result: RunResult | undefined;
  #endedAt: number | undefined;
  #failure: unknown;
  readonly #settled: Promise<void>;

  constructor(start: RunStart) {
    this.handle = start.handle;
    this.tool = start.tool;
    this.title = start.title;
    this.plan = start.plan;
    this.roots = start.roots;
    this.renderer = start.renderer;
    this.#clock = start.clock;
    this.startedAt = start.clock.now();
    this.aggregator = new Aggregator({ plan: start.plan, extractors: STEP_EXTRACTORS });
    const listener = this.aggregator.listener;
    this.run = start.launch((event) => {
      if (event.type === 'op-finished') this.finished.set(event.id, entryOf(event));
      listener(event);
    });
    this.#settled = this.run.result.then(
      (result) => {
        this.#result = result;
        this.#endedAt = this.#clock.now();
        this.aggregator.setSummary(result.summary);
      },
      (error: unknown) => {
        // A run whose journal or engine failed: what finished is kept, and said.
        this.#failure = error;
        this.#endedAt = this.#clock.now();
      },
    );
  }

  /** The result once every operation has ended. */
  get result(): RunResult | undefined {
    return this.#result;
  }

  /** Why the run itself failed, if it did (not an operation: the run). */
  get failure(): unknown {
    return this.#failure;
  }

  get done(): boolean {
    return this.#endedAt !== undefined;
  }

  /** Milliseconds from the start to the end (or to now). */
  elapsedMs(): number {
    return (this.#endedAt ?? this.#clock.now()) - this.startedAt;
  }

  /** Resolves when every operation has ended. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** Waits for the run to end, at most `deadlineMs`, or until `signal` aborts. */
  wait(deadlineMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.done) return Promise.resolve('done');
    if (signal?.aborted === true) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      let timer: unknown;
      const finish = (outcome: WaitOutcome): void => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => finish('aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(deadlineMs)) timer = this.#clock.setTimeout(() => finish(this.done ? 'done' : 'deadline'), deadlineMs);
      void this.#settled.then(() => finish('done'));
    });
  }

  /** Cancels what has not ended (each such operation ends `cancelled`, process groups are killed). */
  cancel(reason: string): void {
    if (!this.done) this.run.cancel(reason);
  }
}

/** The runs of a server, by handle. */
export class RunRegistry {
  readonly #runs = new Map<string, RunRecord>();
  readonly #keep: number;

  constructor(keep: number) {
    this.#keep = keep;
  }

  add(record: RunRecord): void {
    this.#runs.set(record.handle, record);
    void record.settled().then(() => this.#evict());
  }

  /** The run with this handle, or a coded error naming the handles known. */
  get(handle: string): RunRecord {
    const record = this.#runs.get(handle);
    if (record !== undefined) return record;
    const known = [...this.#runs.keys()].slice(-5);
    throw new FanoutMcpError(
      'FANOUT_MCP_RUN_NOT_FOUND',
      `expected the handle of a run of this server, got ${JSON.stringify(handle)}${known.length > 0 ? ` (the latest: ${known.join(', ')})` : ' (it has no runs)'}; handles are forgotten after the ${this.#keep} latest finished runs and when the server restarts`,
      { path: 'handle' },
    );
  }

  /** Every run not yet ended. */
  running(): RunRecord[] {
    return [...this.#runs.values()].filter((record) => !record.done);
  }

  /** Cancels every run and waits for all to settle. */
  async cancelAll(reason: string): Promise<void> {
    const running = this.running();
    for (const record of running) record.cancel(reason);
    await Promise.all(running.map((record) => record.settled()));
  }

  #evict(): void {
    const finished = [...this.#runs.values()].filter((record) => record.done);
    for (const record of finished.slice(0, Math.max(0, finished.length - this.#keep))) this.#runs.delete(record.handle);
  }
}
