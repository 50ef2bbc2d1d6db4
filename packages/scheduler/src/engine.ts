/**
 * One run of a plan: its start (journal, pressure, abort signal, deadline, the ready roots),
 * its controls while it goes (cancel, limits, snapshot), and its end (summary, journal, result).
 * The state machine it drives — ready → dispatch → attempt → settle — is in state-machine.ts.
 */
import type { Clock, TimerHandle } from './clock.js';
import { check, FanoutError, type SchedulerErrorCode } from './errors.js';
import type { TerminalState } from './events.js';
import type { JournalMode, JournalSink } from './journal.js';
import { isTerminal, Status } from './op-table.js';
import type { FailurePolicy } from './plan.js';
import type { Pool, PoolOptions } from './pool.js';
import type { PressureSource } from './pressure.js';
import { readyKey } from './ready-queue.js';
import { resultView, type RunResult } from './result.js';
import type { RetryBudget, RetryPolicy } from './retry.js';
import { RunJournal } from './run-journal.js';
import type { CpuMeter } from './sequential.js';
import { RunStateMachine } from './state-machine.js';
import { stateRecord, summarizeRun, type RunSummary } from './summary.js';
import type { CompiledPlan } from './compile.js';

/** Everything the engine needs, resolved from scheduler and run options. */
export interface EngineConfig {
  runId: string;
  clock: Clock;
  random: () => number;
  concurrency: number;
  limits: Record<string, PoolOptions>;
  failure: FailurePolicy;
  timeoutMs: number | undefined;
  deadlineMs: number | undefined;
  queueTimeoutMs: number | undefined;
  retry: RetryPolicy;
  retryBudget: RetryBudget;
  maxOperations: number;
  pressure: PressureSource | undefined;
  journal: { path: string; mode: JournalMode; sync?: 'before-result' | 'after-result' | undefined; sink?: JournalSink | undefined } | undefined;
  signal: AbortSignal | undefined;
  /** CPU readings for the sequential estimate; none: the sum of unit durations. */
  cpu: CpuMeter | undefined;
}

/** A live view of a run, for progress displays. */
export interface RunSnapshot {
  time: number;
  total: number;
  settled: number;
  byState: Record<TerminalState, number>;
  kinds: Record<string, { queued: number; inflight: number; limit: number; admit: boolean; done: number; total: number }>;
}

/** Roots of a large flat plan readied before its first dispatch (at least). */
const ROOTS_FIRST = 512;
/** Roots readied per turn after that (at least): more than the slots that can free up in a turn. */
const ROOTS_CHUNK = 1024;

/** How a run stops early. */
type StopMode = 'halt-soon' | 'halt-now' | 'cancel' | 'deadline';

/**
 * The run-time engine of one plan. Operations move pending → (locking) → queued → running →
 * (retry-wait → …) → terminal; fan-out operations move pending → expanded → terminal once
 * their children are.
 */
export class Engine extends RunStateMachine {
  readonly result: Promise<RunResult>;
  /** Resolves once the journal is synced and closed (at once when the run has none); see `JournalOptions.sync`. */
  readonly synced: Promise<void>;
  #resolve!: (result: RunResult) => void;
  #reject!: (error: unknown) => void;
  #synced!: (done: Promise<void> | undefined) => void;
  #startedAt = '';
  #deadlineHandle: TimerHandle | undefined;
  #unsubscribePressure: (() => void) | undefined;
  #onAbort: (() => void) | undefined;

  constructor(compiled: CompiledPlan, config: EngineConfig) {
    super(compiled, config);
    this.result = new Promise<RunResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.synced = new Promise<void>((resolve) => (this.#synced = resolve));
    // Handled here: a caller that never looks at it (most) must not get an unhandled rejection.
    this.synced.catch(() => undefined);
  }

  get pools(): readonly Pool[] {
    return this.poolList;
  }

  /** Starts the run on the next microtask, so that listeners attached now see every event. */
  start(): void {
    queueMicrotask(() => {
      this.#begin().catch((error: unknown) => this.#fatal(error));
    });
  }

  // ─── Control ────────────────────────────────────────────────────────────────────────────

  /** Cancels the run: what runs is aborted, everything not yet ended ends `cancelled`. */
  cancel(reason?: unknown): void {
    if (this.finished) return;
    const message = reason === undefined ? 'the run was cancelled' : `the run was cancelled: ${reason instanceof Error ? reason.message : String(reason)}`;
    this.#stop('cancel', new FanoutError<SchedulerErrorCode>('FANOUT_CANCELLED', message, { cause: reason }));
  }

  /** Changes a kind's hard limit while running. */
  setLimit(kind: string, max: number): void {
    const pool = this.poolByKind.get(kind);
    if (pool === undefined) throw new FanoutError<SchedulerErrorCode>('FANOUT_OPTION_INVALID', `expected a kind of this run (${[...this.poolByKind.keys()].join(', ')}), got "${kind}"`);
    check.integer(max, `limits.${kind}.max`, 1);
    pool.max = max;
    pool.limiter.setMax?.(max);
    this.limitMaybeChanged(pool, 'set by the user');
    this.dispatch();
  }

  /** Changes the global cap while running. */
  setGlobalLimit(limit: number): void {
    check.integer(limit, 'concurrency', 1);
    this.globalLimit = limit;
    this.dispatch();
  }

  /** Changes the sub-limit of one key (a host, a provider) of a kind while running. */
  setKeyLimit(kind: string, key: string, limit: number): void {
    const pool = this.poolByKind.get(kind);
    if (pool === undefined) throw new FanoutError<SchedulerErrorCode>('FANOUT_OPTION_INVALID', `expected a kind of this run, got "${kind}"`);
    check.number(limit, `keyLimits.${key}`, 1, { min: 1, infinite: true });
    pool.keyLimits.set(key, limit);
    pool.unpark(key, this.ops);
    this.dispatch();
  }

  snapshot(): RunSnapshot {
    const kinds: RunSnapshot['kinds'] = {};
    for (const pool of this.poolList) {
      const s = pool.stats;
      kinds[pool.kind] = {
        queued: pool.queued,
        inflight: pool.inflight,
        limit: pool.limit,
        admit: pool.admit,
        done: s.counts.reduce((a, b) => a + b, 0),
        total: s.total,
      };
    }
    return { time: this.now(), total: this.ops.count, settled: this.settledCount, byState: stateRecord(this.stateCounts), kinds };
  }

  // ─── Start and finish ───────────────────────────────────────────────────────────────────

  async #begin(): Promise<void> {
    const config = this.config;
    if (config.journal !== undefined) {
      this.journal = new RunJournal(config.journal, config.runId, this.ops);
      await this.journal.open();
    }
    this.t0 = this.clock.now();
    this.sequential.begin(this.t0);
    this.#startedAt = new Date().toISOString();
    this.poolList.forEach((pool, p) => {
      pool.stats.total = this.compiled.kindCounts[p]!;
    });

    const carried = this.journal?.carryOver(this.planCount) ?? [];
    if (this.hub.active) {
      this.emit({ type: 'run-started', runId: config.runId, name: this.compiled.plan.name, operations: this.planCount, resumed: carried.length });
    }
    this.journal?.started({ ...(this.compiled.plan.name === undefined ? {} : { name: this.compiled.plan.name }), startedAt: this.#startedAt, operations: this.planCount });

    if (config.pressure !== undefined) {
      this.#unsubscribePressure = config.pressure.subscribe(() => this.#readPressure());
      this.#readPressure();
    }
    if (config.signal !== undefined) {
      if (config.signal.aborted) {
        this.cancel(config.signal.reason);
      } else {
        this.#onAbort = () => this.cancel(config.signal!.reason);
        config.signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
    if (config.deadlineMs !== undefined && !this.finished) {
      this.#deadlineHandle = this.clock.setTimeout(() => {
        this.#deadlineHandle = undefined;
        this.#stop('deadline', new FanoutError<SchedulerErrorCode>('FANOUT_RUN_DEADLINE', `the run deadline of ${config.deadlineMs} ms passed`));
      }, config.deadlineMs);
    }

    for (const [i, output, state] of carried) this.settle(i, state, output);
    this.stamp = this.clock.now();
    if (this.stopping === undefined) this.#readyRoots();
    this.checkFinished();
    this.dispatch();
    this.stamp = NaN;
  }

  /**
   * Makes the operations without dependencies ready. The common case (no references, locks,
   * keys, queue deadline or listener) is done in one tight loop: for a flat plan of a million
   * operations this loop is most of the start-up cost. A large flat plan of one kind readies
   * its first {@link ROOTS_FIRST} operations (or twice the global limit) before the first
   * dispatch and the rest in chunks, a chunk a turn (see {@link #readyRest}).
   */
  #readyRoots(): void {
    const pools = this.poolList;
    const flat = this.compiled.graph.dependents.length === 0 && this.compiled.priority === undefined && pools.length === 1;
    // A flat plan's roots all land in one bucket: size it once rather than doubling it twenty times.
    if (flat) pools[0]!.queue.reserve(readyKey(0, 0), this.planCount);
    const now = this.time();
    const first = Math.max(ROOTS_FIRST, 2 * this.globalLimit);
    if (!flat || this.hub.active || this.config.queueTimeoutMs !== undefined || this.planCount <= first) {
      this.#readyRange(0, this.planCount, now);
      return;
    }
    this.#readyRange(0, first, now);
    this.#readyRest(first, now);
  }

  /**
   * Readies the roots from `from` on, {@link ROOTS_CHUNK} (or twice the global limit) a turn,
   * dispatching after each chunk. Only for a flat plan of one kind, with no priorities, no
   * listener and no queue deadline at the start: the operations are queued in plan order as
   * before, marked ready at the run's start (queue waits are what they were), and those not
   * readied yet when the run stops are settled by the stop like the others. No `op-queued` is
   * emitted for them: with no listener at the start there would have been none. Measured: a
   * flat plan of 2,000 keyed fetches readied all of them in 7–18 ms (cold code, a scavenge of
   * the plan just built) before the first of the 128 that could start did.
   */
  #readyRest(from: number, now: number): void {
    setImmediate(() => {
      if (this.stopping !== undefined || this.finished) return;
      const to = Math.min(this.planCount, from + Math.max(ROOTS_CHUNK, 2 * this.globalLimit));
      try {
        this.stamp = now;
        this.quietRoots = true;
        this.#readyRange(from, to, now);
        this.quietRoots = false;
        this.stamp = this.clock.now();
        this.dispatch();
      } catch (error) {
        this.#fatal(error);
        return;
      } finally {
        this.quietRoots = false;
        this.stamp = NaN;
      }
      if (to < this.planCount) this.#readyRest(to, now);
    });
  }

  /** Readies the operations of `from .. to` that have no dependencies. */
  #readyRange(from: number, to: number, now: number): void {
    const { status, depsLeft, flags, pool: poolOf, mark, priority, path } = this.ops;
    const pools = this.poolList;
    const simple = this.config.queueTimeoutMs === undefined && !this.hub.active;
    for (let i = from; i < to; i++) {
      if (status[i] !== Status.Pending || depsLeft[i] !== 0) continue;
      const pool = pools[poolOf[i]!]!;
      if (!simple || flags[i] !== 0 || !pool.plain) {
        this.ready(i);
        continue;
      }
      status[i] = Status.Queued;
      mark[i] = now;
      pool.queue.push(i, readyKey(priority[i]!, path[i]!));
      pool.queued++;
    }
  }

  checkFinished(): void {
    if (this.finished || this.settledCount < this.ops.count || this.draining) return;
    this.finished = true;
    void this.#finish();
  }

  async #finish(): Promise<void> {
    this.#release();
    const summary = this.#summarize();
    let journalError: unknown;
    try {
      await this.journal?.end(summary);
    } catch (error) {
      journalError = error;
    }
    this.#synced(this.journal?.synced);
    if (this.hub.active) this.emit({ type: 'run-finished', summary });
    this.hub.end();
    if (journalError !== undefined) {
      this.#reject(journalError);
      return;
    }
    this.#resolve(
      resultView(
        this.ops,
        this.compiled.index,
        this.poolList.map((p) => p.kind),
        summary,
      ),
    );
  }

  /** A bug or an I/O failure outside any operation (reading the journal): end the run. */
  #fatal(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.#release();
    this.hub.end();
    // What a sink still holds is written, if it can be, before the caller hears of the
    // failure: a caller that exits then would otherwise lose records a resume needs.
    const abandoned = this.journal?.abandon() ?? Promise.resolve();
    this.#synced(abandoned);
    void abandoned.then(() => this.#reject(error));
  }

  /** Lets go of timers, the pressure subscription and the abort listener. */
  #release(): void {
    this.timers.stop();
    if (this.#deadlineHandle !== undefined) this.clock.clearTimeout(this.#deadlineHandle);
    this.#unsubscribePressure?.();
    if (this.#onAbort !== undefined) this.config.signal?.removeEventListener('abort', this.#onAbort);
  }

  #summarize(): RunSummary {
    return summarizeRun({
      runId: this.config.runId,
      name: this.compiled.plan.name,
      startedAt: this.#startedAt,
      wallMs: this.#startedAt === '' ? 0 : this.now(),
      total: this.ops.count,
      stateCounts: this.stateCounts,
      resumed: this.ops.resumed.size,
      retryBudget: this.config.retryBudget,
      busyMs: this.busyMs,
      sequentialMs: this.#startedAt === '' ? 0 : this.sequential.total(this.time()),
      sequentialMeasured: this.sequential.measured,
      peakInflight: this.peakInflight,
      pools: this.poolList,
      failures: this.failures,
      stopReason: this.stopReason,
    });
  }

  // ─── Stopping early ─────────────────────────────────────────────────────────────────────

  /** Applies a halt policy once enough operations have failed. */
  failed(i: number): void {
    this.failureCount++;
    const policy = this.config.failure;
    if (typeof policy !== 'object' || this.stopping !== undefined) return;
    if (this.failureCount < (policy.failures ?? 1)) return;
    const error = new FanoutError<SchedulerErrorCode>('FANOUT_HALTED', `the run halted (${policy.halt}) after "${this.ops.ids[i]}" failed`);
    this.#stop(policy.halt === 'now' ? 'halt-now' : 'halt-soon', error);
  }

  stopError(): FanoutError {
    return new FanoutError<SchedulerErrorCode>(this.stopping === 'deadline' ? 'FANOUT_RUN_DEADLINE' : this.stopping === 'cancel' ? 'FANOUT_CANCELLED' : 'FANOUT_HALTED', this.stopReason ?? 'the run stopped');
  }

  /** Stops the run: nothing new starts; what is not running ends now; running ones per mode. */
  #stop(mode: StopMode, error: FanoutError): void {
    if (this.finished) return;
    if (this.stopping !== undefined && !(this.stopping === 'halt-soon' && mode !== 'halt-soon')) return;
    this.stopping = mode;
    this.stopReason = error.message;
    const ops = this.ops;
    const status = mode === 'deadline' ? Status.TimedOut : Status.Cancelled;
    const keepRunning = mode === 'halt-soon';
    // Settles are queued and drained once, by the drain already under way if there is one
    // (a halt decided while settling a failure).
    const outer = this.draining;
    this.draining = true;
    try {
      for (let i = 0; i < ops.count; i++) {
        const s = ops.status[i]!;
        if (isTerminal(s) || s === Status.Expanded || (keepRunning && s === Status.Running)) continue;
        this.settle(i, status, error);
      }
      // Fan-out parents end with their children; any left (no children running) end here.
      for (let i = 0; i < ops.count; i++) {
        if (ops.status[i] === Status.Expanded && (ops.childrenLeft.get(i) ?? 0) > 0 && !keepRunning) this.settle(i, status, error);
      }
    } finally {
      this.draining = outer;
    }
    if (!outer) this.drain();
  }

  // ─── Pressure ───────────────────────────────────────────────────────────────────────────

  #readPressure(): void {
    const source = this.config.pressure;
    if (source === undefined || this.finished) return;
    for (const pool of this.poolList) {
      let reading;
      try {
        reading = source.read(pool.kind);
      } catch {
        continue;
      }
      const change = pool.applyPressure(reading);
      if (change === undefined) continue;
      if (change.shrunk) this.limitMaybeChanged(pool, reading.reason ?? 'resource pressure');
      if (change.admitChanged && this.hub.active) this.emit({ type: 'pressure-changed', kind: pool.kind, admit: pool.admit, reason: reading.reason });
    }
    this.dispatch();
  }
}
