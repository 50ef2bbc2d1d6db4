/**
 * The hot path of a run: operations become ready, are queued, dispatched under the limits,
 * attempted, retried and settled. Every transition is O(1) or O(log k); per-operation state
 * lives in an {@link OpTable}. What happens around it lives next door: the run's start, end
 * and controls (engine.ts), fan-out (fanout.ts), batches (batch.ts), the journal
 * (run-journal.ts) and pressure readings (pool.ts).
 *
 * Internal: neither this class nor its fields are exported from the package, so its members
 * are plain properties the modules of the run share.
 */
import type { AttemptHost } from './attempt.js';
import { Attempt } from './attempt.js';
import { classifyFailure } from './adapter.js';
import { BatchIndex, endBatch, startBatch } from './batch.js';
import type { Clock } from './clock.js';
import { IntDeque } from './deque.js';
import { FanoutError, type SchedulerErrorCode, serializeError } from './errors.js';
import { EventHub } from './event-hub.js';
import type { EventInit, SchedulerEvent } from './events.js';
import { FanOut } from './fanout.js';
import { LockManager, normalizeLocks } from './locks.js';
import { isTerminal, OpTable, Status, STATE_NAMES, TimerKind } from './op-table.js';
import type { EngineConfig } from './engine.js';
import { Pool } from './pool.js';
import { readyKey } from './ready-queue.js';
import { resolveRefs } from './refs.js';
import { resolveRetry, retryDelay, type RetryPolicy } from './retry.js';
import type { RunJournal } from './run-journal.js';
import { SequentialEstimate } from './sequential.js';
import { MAX_FAILURE_RECORDS, type FailureRecord } from './summary.js';
import { TimerQueue } from './timer-queue.js';
import { OpFlag, type CompiledPlan } from './compile.js';
import { inputError } from './zod-issues.js';

/** The state machine of one run; `Engine` adds its start, end and controls. */
export abstract class RunStateMachine implements AttemptHost {
  readonly hub = new EventHub<SchedulerEvent>();
  readonly compiled: CompiledPlan;
  readonly config: EngineConfig;
  readonly clock: Clock;
  readonly ops: OpTable;
  /** One pool per kind, numbered like the plan's kinds. */
  readonly poolList: Pool[] = [];
  readonly poolByKind = new Map<string, Pool>();
  readonly timers: TimerQueue;
  readonly locks: LockManager;
  readonly planCount: number;
  readonly fanOut = new FanOut();
  readonly batches = new BatchIndex();
  readonly sequential: SequentialEstimate;
  readonly defaultRetry: RetryPolicy;
  journal: RunJournal | undefined;
  globalLimit: number;
  globalInflight = 0;
  peakInflight = 0;
  eventSeq = 0;
  /** Clock time of the run's start. */
  t0 = 0;
  settledCount = 0;
  /** Operations per terminal state, indexed by status − Status.Succeeded. */
  stateCounts = new Float64Array(5);
  failureCount = 0;
  failures: FailureRecord[] = [];
  busyMs = 0;
  /**
   * The current time while a synchronous stretch of work runs (an attempt ended, its
   * successors start), so that one clock read serves them all; NaN outside such a stretch.
   * It is dropped whenever an adapter's code runs, since that code may take time.
   */
  stamp = NaN;
  stopping: 'halt-soon' | 'halt-now' | 'cancel' | 'deadline' | undefined;
  stopReason: string | undefined;
  dispatching = false;
  dispatchAgain = false;
  /** Attempt contexts whose promise has settled, ready for reuse. */
  readonly idleAttempts: Attempt[] = [];
  settleQueue: number[] = [];
  settleValues: unknown[] = [];
  settleStates: number[] = [];
  draining = false;
  finished = false;
  /** Set while roots are readied after the start (engine.ts): they are queued without `op-queued`. */
  quietRoots = false;

  constructor(compiled: CompiledPlan, config: EngineConfig) {
    this.compiled = compiled;
    this.config = config;
    this.clock = config.clock;
    this.planCount = compiled.count;
    this.globalLimit = config.concurrency;
    this.ops = new OpTable(compiled);
    this.timers = new TimerQueue(this.clock, this.onTimer);
    this.locks = new LockManager(this.onLocksGranted);
    this.sequential = new SequentialEstimate(config.cpu);
    // Pools are numbered like the plan's kinds, so the kind of each operation is its pool.
    for (const adapter of compiled.kinds) this.poolFor(adapter);
    const planDefaults = compiled.plan.defaults;
    for (const pool of this.poolList) pool.defaultTimeoutMs = planDefaults?.timeoutMs ?? pool.timeoutMs ?? config.timeoutMs;
    this.defaultRetry = planDefaults?.retry === undefined ? config.retry : resolveRetry(planDefaults.retry, config.retry);
    config.retryBudget.setOperations(compiled.count);
  }

  /** Ends the run once every operation has settled (and no settle is being drained). */
  abstract checkFinished(): void;
  /** Operation `i` failed or timed out: applies a halt policy once enough have. */
  abstract failed(i: number): void;
  /** Why what was left ended, once the run is stopping. */
  abstract stopError(): FanoutError;

  // ─── Readiness, locks and queueing ──────────────────────────────────────────────────────

  /** All dependencies of `i` have ended: resolve its input, take its locks, queue it. */
  ready(i: number): void {
    const ops = this.ops;
    const flags = ops.flags[i]!;
    const pool = this.poolList[ops.pool[i]!]!;
    if (flags === 0 && pool.plain && this.config.queueTimeoutMs === undefined) {
      // The common case: nothing to resolve, lock or key.
      ops.mark[i] = this.time();
      this.enqueue(i);
      return;
    }
    const spec = ops.spec(i);
    if ((flags & OpFlag.ForEach) !== 0) {
      this.fanOut.expand(this, i);
      return;
    }
    const adapter = pool.adapter;
    if ((flags & OpFlag.Refs) !== 0) {
      let resolved: unknown;
      try {
        resolved = resolveRefs(ops.input(i), this.outputOf, undefined);
      } catch (error) {
        this.settle(i, (error as FanoutError).code === 'FANOUT_DEPENDENCY_FAILED' ? Status.Skipped : Status.Failed, error);
        return;
      }
      const parsed = adapter.input.safeParse(resolved);
      if (!parsed.success) {
        this.settle(i, Status.Failed, inputError(parsed.error, resolved, `operations[${i}].input`, spec.id));
        return;
      }
      ops.setInput(i, parsed.data);
      ops.flags[i] = flags & ~OpFlag.Refs; // resolved once; a retry reuses it
    }
    const input = ops.input(i);
    if (adapter.key !== undefined) {
      const key = adapter.key(input);
      if (key !== undefined) ops.keys.set(i, key);
    }
    if (adapter.batcher !== undefined && !ops.batchKeys.has(i)) {
      let batchKey: string | undefined;
      try {
        batchKey = adapter.batcher.key(pool.kind, input);
      } catch (error) {
        this.settle(i, Status.Failed, error);
        return;
      }
      if (batchKey !== undefined) ops.batchKeys.set(i, batchKey);
    }
    const now = this.time();
    ops.mark[i] = now;
    if (this.config.queueTimeoutMs !== undefined) {
      ops.timerKind[i] = TimerKind.QueueDeadline;
      this.timers.set(i, now + this.config.queueTimeoutMs);
    }
    if ((flags & OpFlag.Locks) !== 0 || adapter.locks !== undefined) {
      let requests = ops.locks.get(i);
      if (requests === undefined) {
        const specs = [...(spec.locks ?? []), ...(adapter.locks?.(input) ?? [])];
        requests = normalizeLocks(specs);
        ops.locks.set(i, requests);
      }
      if (requests.length > 0) {
        ops.status[i] = Status.Locking;
        if (!this.locks.acquire(i, requests)) return;
      }
    }
    this.enqueue(i);
  }

  onLocksGranted = (i: number): void => {
    if (this.ops.status[i] !== Status.Locking) return;
    this.enqueue(i);
    this.dispatch();
  };

  enqueue(i: number): void {
    const ops = this.ops;
    const pool = this.poolList[ops.pool[i]!]!;
    ops.status[i] = Status.Queued;
    pool.queue.push(i, readyKey(ops.priority[i]!, ops.path[i]!));
    pool.queued++;
    if (ops.batchKeys.size > 0) {
      const batchKey = ops.batchKeys.get(i);
      if (batchKey !== undefined) this.batches.add(pool.adapter.batcher!, batchKey, i);
    }
    if (this.hub.active && !this.quietRoots) this.emit({ type: 'op-queued', id: ops.ids[i]!, kind: pool.kind });
  }

  outputOf = (id: string): unknown => {
    const target = this.compiled.index.get(id);
    const status = this.ops.status[target]!;
    if (status !== Status.Succeeded) {
      throw new FanoutError<SchedulerErrorCode>('FANOUT_DEPENDENCY_FAILED', `needs the output of "${id}", which ended ${STATE_NAMES[status] ?? 'without output'}`);
    }
    return this.ops.output(target);
  };

  // ─── Dispatch ───────────────────────────────────────────────────────────────────────────

  /** Starts queued operations while the global cap, their pool and their key allow. */
  dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    if (this.stopping !== undefined || this.finished) return;
    this.dispatching = true;
    const ops = this.ops;
    try {
      do {
        this.dispatchAgain = false;
        while (this.globalInflight < this.globalLimit && this.stopping === undefined) {
          const pool = this.pickPool();
          if (pool === undefined) break;
          const i = pool.queue.pop();
          // An entry a batch left behind goes first, whatever the state now: counting one
          // per pop keeps the live entry of an operation queued again after a retry.
          if (ops.stale.size > 0 && ops.takeStale(i)) continue;
          if (ops.status[i] !== Status.Queued) continue; // settled while queued
          pool.queued--;
          const key = ops.keys.size === 0 ? undefined : ops.keys.get(i);
          if (key !== undefined && (pool.keyInflight.get(key) ?? 0) >= pool.keyLimitOf(key)) {
            let parked = pool.parked.get(key);
            if (parked === undefined) pool.parked.set(key, (parked = new IntDeque()));
            parked.push(i);
            pool.queued++;
            continue;
          }
          if (ops.batchKeys.size > 0 && ops.batchKeys.has(i)) startBatch(this, i, pool);
          else this.startAttempt(i, pool, key);
        }
      } while (this.dispatchAgain && this.stopping === undefined);
    } finally {
      this.dispatching = false;
    }
  }

  /**
   * The open pool whose next operation comes first: priority, critical path, arrival. Pressure
   * never stops a run outright: when nothing of it runs, the pressure comes from elsewhere
   * (another process) and waiting would not relieve it, so a paused pool may start one
   * operation at a time. Without this a run paused by a busy neighbour would wait with no
   * timer or socket to keep the process alive, and the process would exit with the run unfinished.
   */
  pickPool(): Pool | undefined {
    const pools = this.poolList;
    const idle = this.globalInflight === 0;
    if (pools.length === 1) {
      const pool = pools[0]!;
      return pool.queue.size > 0 && (pool.open || (idle && pool.inflight < pool.limit)) ? pool : undefined;
    }
    let best: Pool | undefined;
    let bestKey = -Infinity;
    let bestSeq = Infinity;
    for (let p = 0; p < pools.length; p++) {
      const pool = pools[p]!;
      if (pool.queue.size === 0 || !(pool.open || (idle && pool.inflight < pool.limit))) continue;
      const key = pool.queue.peekKey();
      if (key < bestKey) continue;
      const seq = this.ops.mark[pool.queue.peek()]!;
      if (key > bestKey || seq < bestSeq) {
        best = pool;
        bestKey = key;
        bestSeq = seq;
      }
    }
    return best;
  }

  // ─── Attempts ───────────────────────────────────────────────────────────────────────────

  startAttempt(i: number, pool: Pool, key: string | undefined): void {
    const ops = this.ops;
    const now = this.time();
    const inflight = ++pool.inflight;
    this.globalInflight++;
    if (inflight > pool.stats.peakInflight) pool.stats.peakInflight = inflight;
    if (this.globalInflight > this.peakInflight) this.peakInflight = this.globalInflight;
    if (key !== undefined) pool.keyInflight.set(key, (pool.keyInflight.get(key) ?? 0) + 1);
    ops.startInflight[i] = inflight;
    this.sequential.change(now, 1, pool.waits);
    const deadline = this.beginAttempt(i, pool, now);
    const attempt = ops.attempts[i]!;

    const generation = ops.generation[i]!;
    if (this.hub.active) this.emit({ type: 'op-started', id: ops.ids[i]!, kind: pool.kind, attempt, inflight, limit: pool.limit });

    const context = this.context(i, deadline);
    let outcome: unknown;
    this.stamp = NaN;
    try {
      outcome = pool.adapter.run(ops.input(i), context);
    } catch (error) {
      this.idleAttempts.push(context);
      this.attemptFailed(i, generation, error);
      return;
    }
    if (outcome !== null && typeof outcome === 'object' && typeof (outcome as PromiseLike<unknown>).then === 'function') {
      (outcome as PromiseLike<unknown>).then(context.resolve, context.reject);
    } else {
      this.idleAttempts.push(context);
      this.attemptSucceeded(i, generation, outcome);
    }
  }

  /** Marks the start of an attempt of `i`: status, counts, queue wait, timer. Returns its deadline. */
  beginAttempt(i: number, pool: Pool, now: number): number | undefined {
    const ops = this.ops;
    ops.status[i] = Status.Running;
    ops.attempts[i]!++;
    ops.generation[i]!++;
    pool.stats.attempts++;
    pool.stats.queueWait.record(now - ops.mark[i]!);
    ops.mark[i] = now;
    const timeoutMs = (ops.flags[i]! & OpFlag.Timeout) !== 0 ? ops.spec(i).timeoutMs : pool.defaultTimeoutMs;
    if (timeoutMs !== undefined) {
      const deadline = now + timeoutMs;
      ops.timerKind[i] = TimerKind.Attempt;
      this.timers.set(i, deadline);
      return deadline;
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.timers.clear(i);
    }
    return undefined;
  }

  /** An attempt context for the current attempt of `i` (a reused one when there is one). */
  context(i: number, deadline: number | undefined): Attempt {
    const context = this.idleAttempts.pop() ?? new Attempt(this);
    context.index = i;
    context.generation = this.ops.generation[i]!;
    context.attempt = this.ops.attempts[i]!;
    context.deadline = deadline;
    return context;
  }

  /** Feeds a pool's limiter one sample. */
  learn(pool: Pool, latencyMs: number, inflight: number, outcome: 'ok' | 'drop' | 'ignore', now: number): void {
    if (!pool.learns) return;
    const before = pool.limiter.limit;
    const sample = pool.sample;
    sample.latencyMs = latencyMs;
    sample.inflight = inflight;
    sample.outcome = outcome;
    sample.now = now;
    pool.limiter.onSample(sample);
    if (pool.limiter.limit !== before) this.limitMaybeChanged(pool, pool.limiter.reason ?? 'limiter');
  }

  /**
   * An attempt's promise settled: its context goes back to the idle list (contexts are reused,
   * so an attempt costs no closures), and the result counts if the attempt is still current.
   */
  settled(context: Attempt, ok: boolean, value: unknown): void {
    const i = context.index;
    const generation = context.generation;
    this.idleAttempts.push(context);
    if (ok) this.attemptSucceeded(i, generation, value);
    else this.attemptFailed(i, generation, value);
  }

  /** Frees the attempt's slot and feeds the limiter; returns the attempt's duration. */
  endAttempt(i: number, outcome: 'ok' | 'drop' | 'ignore'): number {
    const ops = this.ops;
    const pool = this.poolList[ops.pool[i]!]!;
    const now = this.time();
    const duration = now - ops.mark[i]!;
    ops.duration[i] = duration;
    ops.status[i] = Status.Ended;
    const unit = ops.units.size === 0 ? undefined : ops.units.get(i);
    if (unit === undefined) {
      pool.inflight--;
      this.globalInflight--;
      this.sequential.change(now, -1, pool.waits);
    }
    const key = ops.keys.size === 0 ? undefined : ops.keys.get(i);
    if (key !== undefined) {
      const left = (pool.keyInflight.get(key) ?? 1) - 1;
      if (left === 0) pool.keyInflight.delete(key);
      else pool.keyInflight.set(key, left);
      pool.unpark(key, ops);
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.timers.clear(i);
    }
    if (ops.controllers.size > 0) ops.controllers.delete(i);
    pool.stats.busyMs += duration;
    pool.stats.runTime.record(duration);
    this.busyMs += duration;
    if (unit === undefined) this.learn(pool, duration, ops.startInflight[i]!, outcome, now);
    else {
      ops.units.delete(i);
      if (outcome === 'drop') unit.dropped = true;
      if (--unit.left === 0) endBatch(this, unit, now);
    }
    return duration;
  }

  attemptSucceeded(i: number, generation: number, value: unknown): void {
    const ops = this.ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    this.stamp = this.clock.now();
    this.endAttempt(i, 'ok');
    this.settle(i, Status.Succeeded, value);
    this.dispatch();
    this.stamp = NaN;
  }

  attemptFailed(i: number, generation: number, error: unknown): void {
    const ops = this.ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    const pool = this.poolList[ops.pool[i]!]!;
    const classification = classifyFailure(pool.adapter, error);
    this.stamp = this.clock.now();
    this.endAttempt(i, classification.class === 'drop' ? 'drop' : 'ignore');
    const timedOut = error instanceof FanoutError && error.code === 'FANOUT_ATTEMPT_TIMEOUT';
    const delay = retryDelay(this, i, pool, classification);
    if (delay === undefined) {
      this.settle(i, timedOut ? Status.TimedOut : Status.Failed, error);
    } else {
      ops.status[i] = Status.RetryWait;
      pool.stats.retries++;
      this.locks.release(i);
      ops.timerKind[i] = TimerKind.Retry;
      this.timers.set(i, this.time() + delay);
      if (this.hub.active) {
        this.emit({ type: 'op-retrying', id: ops.ids[i]!, kind: pool.kind, attempt: ops.attempts[i]!, delayMs: delay, error: serializeError(error) });
      }
    }
    this.dispatch();
    this.stamp = NaN;
  }

  onTimer = (i: number): void => {
    const ops = this.ops;
    const kind = ops.timerKind[i];
    ops.timerKind[i] = TimerKind.None;
    const status = ops.status[i];
    if (kind === TimerKind.Attempt && status === Status.Running) {
      const pool = this.poolList[ops.pool[i]!]!;
      const timeoutMs = (ops.flags[i]! & OpFlag.Timeout) !== 0 ? ops.spec(i).timeoutMs : pool.defaultTimeoutMs;
      const error = new FanoutError<SchedulerErrorCode>('FANOUT_ATTEMPT_TIMEOUT', `attempt ${ops.attempts[i]} of "${ops.ids[i]}" timed out after ${timeoutMs} ms`);
      ops.controllers.get(i)?.abort(error);
      this.attemptFailed(i, ops.generation[i]!, error);
    } else if (kind === TimerKind.Retry && status === Status.RetryWait) {
      ops.status[i] = Status.Pending;
      this.ready(i);
      this.dispatch();
    } else if (kind === TimerKind.QueueDeadline && (status === Status.Queued || status === Status.Locking)) {
      this.settle(i, Status.TimedOut, new FanoutError<SchedulerErrorCode>('FANOUT_QUEUE_TIMEOUT', `"${ops.ids[i]}" waited ${this.config.queueTimeoutMs} ms without starting`));
      this.dispatch();
    }
  };

  /** The signal of attempt `generation` of `i`, created on first use. */
  signalFor(i: number, generation: number): AbortSignal {
    const ops = this.ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) {
      return AbortSignal.abort(ops.errors.get(i) ?? new FanoutError<SchedulerErrorCode>('FANOUT_CANCELLED', 'the attempt is over'));
    }
    let controller = ops.controllers.get(i);
    if (controller === undefined) {
      controller = new AbortController();
      ops.controllers.set(i, controller);
    }
    return controller.signal;
  }

  progress(i: number, generation: number, data: unknown): void {
    const ops = this.ops;
    if (!this.hub.active || ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    this.emit({ type: 'op-progress', id: ops.ids[i]!, kind: this.poolList[ops.pool[i]!]!.kind, attempt: ops.attempts[i]!, data });
  }

  idOf(i: number): string {
    return this.ops.ids[i]!;
  }

  kindOf(i: number): string {
    return this.poolList[this.ops.pool[i]!]!.kind;
  }

  get runId(): string {
    return this.config.runId;
  }

  idempotentOf(i: number): boolean {
    const ops = this.ops;
    if (this.poolList[ops.pool[i]!]!.idempotent) return true;
    const policy = (ops.flags[i]! & OpFlag.Retry) !== 0 ? resolveRetry(ops.spec(i).retry, this.defaultRetry) : this.defaultRetry;
    return policy.force;
  }

  // ─── Settling ───────────────────────────────────────────────────────────────────────────

  /**
   * Ends operation `i` in `status`. Settling cascades (dependents skipped, parents completed),
   * so settles go through a queue drained in a loop rather than by recursion: a chain of a
   * hundred thousand skips must not overflow the stack.
   */
  settle(i: number, status: number, value: unknown): void {
    if (this.draining) {
      this.settleQueue.push(i);
      this.settleStates.push(status);
      this.settleValues.push(value);
      return;
    }
    this.draining = true;
    try {
      this.settleOne(i, status, value);
      if (this.settleQueue.length > 0) this.drainQueue();
    } finally {
      this.draining = false;
    }
    this.checkFinished();
  }

  /** Settles what was queued while settling; the caller holds `draining`. */
  drainQueue(): void {
    try {
      for (let k = 0; k < this.settleQueue.length; k++) {
        this.settleOne(this.settleQueue[k]!, this.settleStates[k]!, this.settleValues[k]);
      }
    } finally {
      this.settleQueue.length = 0;
      this.settleStates.length = 0;
      this.settleValues.length = 0;
    }
  }

  drain(): void {
    this.draining = true;
    try {
      this.drainQueue();
    } finally {
      this.draining = false;
    }
    this.checkFinished();
  }

  settleOne(i: number, status: number, value: unknown): void {
    const ops = this.ops;
    const previous = ops.status[i]!;
    if (isTerminal(previous)) return;
    const pool = this.poolList[ops.pool[i]!]!;
    if (previous === Status.Running) {
      // Ended from outside (cancelled, halted): free the slot now; a late result is ignored.
      ops.controllers.get(i)?.abort(value);
      this.endAttempt(i, 'ignore');
      ops.generation[i]!++;
    } else if (previous === Status.Queued) {
      pool.queued--;
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.timers.clear(i);
    }
    ops.status[i] = status;
    this.settledCount++;
    const state = STATE_NAMES[status]!;
    this.stateCounts[status - Status.Succeeded]!++;
    pool.stats.counts[status - Status.Succeeded]!++;
    if (status === Status.Succeeded) ops.setOutput(i, value);
    else {
      ops.errors.set(i, value);
      if (this.failures.length < MAX_FAILURE_RECORDS) {
        this.failures.push({ id: ops.ids[i]!, kind: pool.kind, state: state as FailureRecord['state'], error: value === undefined ? undefined : serializeError(value) });
      }
    }
    const resumed = ops.resumed.size > 0 && ops.resumed.has(i);
    const parent = ops.parent[i]! - 1;
    if (this.journal !== undefined && !resumed) this.journal.record(i, pool.kind, state, value);
    if (this.hub.active) {
      const event: EventInit<SchedulerEvent> = {
        type: 'op-finished',
        id: ops.ids[i]!,
        kind: pool.kind,
        state,
        attempts: ops.attempts[i]!,
        durationMs: ops.duration[i]!,
        ...(status === Status.Succeeded ? (value === undefined ? {} : { output: value }) : { error: serializeError(value) }),
        ...(resumed ? { resumed: true } : {}),
        ...(parent >= 0 ? { parent: ops.ids[parent]! } : {}),
      };
      this.emit(event);
    }
    // Released after the event: a waiter granted the lock starts at once, and its op-started
    // must not come before this op-finished.
    if (ops.locks.size > 0 && ops.locks.delete(i)) this.locks.release(i);

    if (parent >= 0) this.fanOut.childEnded(this, parent);
    if (i < this.planCount) this.releaseDependents(i, status);
    if ((status === Status.Failed || status === Status.TimedOut) && !resumed) this.failed(i);
  }

  releaseDependents(i: number, status: number): void {
    const { dependentStart, dependents } = this.compiled.graph;
    const end = dependentStart[i + 1];
    if (end === undefined) return;
    const ops = this.ops;
    const proceed = status === Status.Succeeded || this.config.failure === 'continue';
    for (let k = dependentStart[i]!; k < end; k++) {
      const d = dependents[k]!;
      if (ops.status[d] !== Status.Pending) continue;
      if (!proceed) {
        this.settle(d, Status.Skipped, new FanoutError<SchedulerErrorCode>('FANOUT_DEPENDENCY_FAILED', `skipped because "${ops.ids[i]}" ended ${STATE_NAMES[status]}`));
      } else if (--ops.depsLeft[d]! === 0) {
        if (this.stopping !== undefined) this.settle(d, Status.Cancelled, this.stopError());
        else this.ready(d);
      }
    }
  }

  // ─── Limits ─────────────────────────────────────────────────────────────────────────────

  limitMaybeChanged(pool: Pool, reason: string): void {
    const from = pool.limit;
    if (!pool.refreshLimit()) return;
    const time = this.now();
    pool.stats.recordLimit({ time, limit: pool.limit, reason });
    if (this.hub.active) this.emit({ type: 'limit-changed', kind: pool.kind, from, to: pool.limit, reason });
  }

  // ─── Helpers ────────────────────────────────────────────────────────────────────────────

  poolFor(adapter: CompiledPlan['kinds'][number]): Pool {
    let pool = this.poolByKind.get(adapter.kind);
    if (pool === undefined) {
      pool = new Pool(this.poolList.length, adapter, this.config.limits[adapter.kind] ?? {}, this.config.random);
      this.poolList.push(pool);
      this.poolByKind.set(adapter.kind, pool);
    }
    return pool;
  }

  now(): number {
    return this.time() - this.t0;
  }

  /** Clock time, from the stamp of the current synchronous stretch when there is one. */
  time(): number {
    const stamp = this.stamp;
    return Number.isNaN(stamp) ? this.clock.now() : stamp;
  }

  emit(init: EventInit<SchedulerEvent>): void {
    const event = init as SchedulerEvent;
    event.seq = this.eventSeq++;
    event.time = this.now();
    this.hub.emit(event);
  }
}
