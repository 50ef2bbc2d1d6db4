import { defaultClassify, toClassification, type Classification } from './adapter.js';
import { Attempt, type AttemptHost } from './attempt.js';
import { BatchIndex, BatchUnit, DEFAULT_BATCH_SIZE, Member } from './batch.js';
import type { Clock, TimerHandle } from './clock.js';
import { IntDeque } from './deque.js';
import { describeValue, FanoutError, serializeError } from './errors.js';
import { EventHub } from './event-hub.js';
import type { EventInit, SchedulerEvent, TerminalState } from './events.js';
import { carryOver, fingerprint, JournalWriter, readJournal, type JournalMode, type JournalOpRecord, type JournalState } from './journal.js';
import { LockManager, normalizeLocks } from './locks.js';
import { isTerminal, OpTable, Status, STATE_NAMES, TimerKind } from './op-table.js';
import { resultView, type RunResult } from './result.js';
import type { FailurePolicy, OperationSpec } from './plan.js';
import { Pool, type PoolOptions } from './pool.js';
import type { PressureSource } from './pressure.js';
import { readyKey } from './ready-queue.js';
import { pathSteps, resolveRefs, walk } from './refs.js';
import { backoffDelay, resolveRetry, RetryBudget, type RetryPolicy } from './retry.js';
import { SequentialEstimate, type CpuMeter } from './sequential.js';
import { MAX_FAILURE_RECORDS, stateRecord, summarizeRun, type FailureRecord, type RunSummary } from './summary.js';
import { TimerQueue } from './timer-queue.js';
import { OpFlag, type CompiledPlan } from './validate.js';
import { fromZodIssues } from './zod-issues.js';

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
  journal: { path: string; mode: JournalMode } | undefined;
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


/**
 * The run-time state machine of one plan. Operations move pending → (locking) → queued →
 * running → (retry-wait → …) → terminal; fan-out operations move pending → expanded →
 * terminal once their children are. Every transition is O(1) or O(log k); the per-operation
 * state lives in an {@link OpTable}.
 */
export class Engine implements AttemptHost {
  readonly hub = new EventHub<SchedulerEvent>();
  readonly #compiled: CompiledPlan;
  readonly #config: EngineConfig;
  readonly #clock: Clock;
  readonly #ops: OpTable;
  readonly #pools: Pool[] = [];
  readonly #poolByKind = new Map<string, Pool>();
  readonly #timers: TimerQueue;
  readonly #locks: LockManager;
  readonly #planCount: number;
  #globalLimit: number;
  #globalInflight = 0;
  #peakInflight = 0;
  #eventSeq = 0;
  #t0 = 0;
  #startedAt = '';
  #settled = 0;
  /** Operations per terminal state, indexed by status − Status.Succeeded. */
  #stateCounts = new Float64Array(5);
  #failureCount = 0;
  #failures: FailureRecord[] = [];
  #busyMs = 0;
  readonly #sequential: SequentialEstimate;
  readonly #batches = new BatchIndex();
  readonly #defaultRetry: RetryPolicy;
  /**
   * The current time while a synchronous stretch of work runs (an attempt ended, its
   * successors start), so that one clock read serves them all; NaN outside such a stretch.
   * It is dropped whenever an adapter's code runs, since that code may take time.
   */
  #stamp = NaN;
  #stopping: 'halt-soon' | 'halt-now' | 'cancel' | 'deadline' | undefined;
  #stopReason: string | undefined;
  #dispatching = false;
  #dispatchAgain = false;
  /** First child and number of children of each expanded fan-out (children are contiguous). */
  readonly #childRanges = new Map<number, [number, number]>();
  /** Attempt contexts whose promise has settled, ready for reuse. */
  readonly #idleAttempts: Attempt[] = [];
  #settleQueue: number[] = [];
  #settleValues: unknown[] = [];
  #settleStates: number[] = [];
  #draining = false;
  #finished = false;
  #deadlineHandle: TimerHandle | undefined;
  #journal: JournalWriter | undefined;
  #journalState: JournalState | undefined;
  #unsubscribePressure: (() => void) | undefined;
  #onAbort: (() => void) | undefined;
  #resolve!: (result: RunResult) => void;
  #reject!: (error: unknown) => void;
  readonly result: Promise<RunResult>;

  constructor(compiled: CompiledPlan, config: EngineConfig) {
    this.#compiled = compiled;
    this.#config = config;
    this.#clock = config.clock;
    this.#planCount = compiled.count;
    this.#globalLimit = config.concurrency;
    this.#ops = new OpTable(compiled);
    this.#timers = new TimerQueue(this.#clock, this.#onTimer);
    this.#locks = new LockManager(this.#onLocksGranted);
    this.#sequential = new SequentialEstimate(config.cpu);
    this.result = new Promise<RunResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });

    // Pools are numbered like the plan's kinds, so the kind of each operation is its pool.
    for (const adapter of compiled.kinds) this.#poolFor(adapter);
    const planDefaults = compiled.plan.defaults;
    for (const pool of this.#pools) pool.defaultTimeoutMs = planDefaults?.timeoutMs ?? pool.timeoutMs ?? config.timeoutMs;
    this.#defaultRetry = planDefaults?.retry === undefined ? config.retry : resolveRetry(planDefaults.retry, config.retry);
    config.retryBudget.setOperations(compiled.count);
  }

  get pools(): readonly Pool[] {
    return this.#pools;
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
    if (this.#finished) return;
    const message = reason === undefined ? 'the run was cancelled' : `the run was cancelled: ${reason instanceof Error ? reason.message : String(reason)}`;
    this.#stop('cancel', new FanoutError('FANOUT_CANCELLED', message, { cause: reason }));
  }

  /** Changes a kind's hard limit while running. */
  setLimit(kind: string, max: number): void {
    const pool = this.#poolByKind.get(kind);
    if (pool === undefined) throw new FanoutError('FANOUT_OPTION_INVALID', `expected a kind of this run (${[...this.#poolByKind.keys()].join(', ')}), got "${kind}"`);
    if (!Number.isInteger(max) || max < 1) throw new FanoutError('FANOUT_OPTION_INVALID', `expected a positive integer limit for "${kind}", got ${String(max)}`);
    pool.max = max;
    pool.limiter.setMax?.(max);
    this.#limitMaybeChanged(pool, 'set by the user');
    this.#dispatch();
  }

  /** Changes the global cap while running. */
  setGlobalLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) throw new FanoutError('FANOUT_OPTION_INVALID', `expected a positive integer global limit, got ${String(limit)}`);
    this.#globalLimit = limit;
    this.#dispatch();
  }

  /** Changes the sub-limit of one key (a host, a provider) of a kind while running. */
  setKeyLimit(kind: string, key: string, limit: number): void {
    const pool = this.#poolByKind.get(kind);
    if (pool === undefined) throw new FanoutError('FANOUT_OPTION_INVALID', `expected a kind of this run, got "${kind}"`);
    if (!(limit >= 1)) throw new FanoutError('FANOUT_OPTION_INVALID', `expected a key limit ≥ 1, got ${String(limit)}`);
    pool.keyLimits.set(key, limit);
    this.#unpark(pool, key);
    this.#dispatch();
  }

  snapshot(): RunSnapshot {
    const kinds: RunSnapshot['kinds'] = {};
    for (const pool of this.#pools) {
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
    return { time: this.#now(), total: this.#ops.count, settled: this.#settled, byState: stateRecord(this.#stateCounts), kinds };
  }

  // ─── Start and finish ───────────────────────────────────────────────────────────────────

  async #begin(): Promise<void> {
    const config = this.#config;
    if (config.journal !== undefined) {
      if (config.journal.mode !== 'append') this.#journalState = await readJournal(config.journal.path);
      this.#journal = new JournalWriter(config.journal.path);
    }
    this.#t0 = this.#clock.now();
    this.#sequential.begin(this.#t0);
    this.#startedAt = new Date().toISOString();
    this.#pools.forEach((pool, p) => (pool.stats.total = this.#compiled.kindCounts[p]!));

    const carried = this.#journalState === undefined ? [] : this.#carryOver();
    if (this.hub.active) {
      this.#emit({ type: 'run-started', runId: config.runId, name: this.#compiled.plan.name, operations: this.#planCount, resumed: carried.length });
    }
    this.#journal?.append({
      type: 'run',
      version: 1,
      runId: config.runId,
      ...(this.#compiled.plan.name === undefined ? {} : { name: this.#compiled.plan.name }),
      startedAt: this.#startedAt,
      operations: this.#planCount,
    });

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
    if (config.deadlineMs !== undefined && !this.#finished) {
      this.#deadlineHandle = this.#clock.setTimeout(() => {
        this.#deadlineHandle = undefined;
        this.#stop('deadline', new FanoutError('FANOUT_RUN_DEADLINE', `the run deadline of ${config.deadlineMs} ms passed`));
      }, config.deadlineMs);
    }

    for (const [i, output, state] of carried) this.#settle(i, state, output);
    this.#stamp = this.#clock.now();
    if (this.#stopping === undefined) this.#readyRoots();
    this.#checkFinished();
    this.#dispatch();
    this.#stamp = NaN;
  }

  /**
   * Makes every operation without dependencies ready. The common case (no references, locks,
   * keys, queue deadline or listener) is done in one tight loop: for a flat plan of a million
   * operations this loop is most of the start-up cost.
   */
  #readyRoots(): void {
    const ops = this.#ops;
    const { status, depsLeft, flags, pool: poolOf, mark, priority, path } = ops;
    const pools = this.#pools;
    const simple = this.#config.queueTimeoutMs === undefined && !this.hub.active;
    const now = this.#time();
    // A flat plan's roots all land in one bucket: size it once rather than doubling it twenty times.
    if (this.#compiled.graph.dependents.length === 0 && this.#compiled.priority === undefined && pools.length === 1) {
      pools[0]!.queue.reserve(readyKey(0, 0), this.#planCount);
    }
    for (let i = 0; i < this.#planCount; i++) {
      if (status[i] !== Status.Pending || depsLeft[i] !== 0) continue;
      const pool = pools[poolOf[i]!]!;
      if (!simple || flags[i] !== 0 || !pool.plain) {
        this.#ready(i);
        continue;
      }
      status[i] = Status.Queued;
      mark[i] = now;
      pool.queue.push(i, readyKey(priority[i]!, path[i]!));
      pool.queued++;
    }
  }

  /** What the journal lets this run skip: `[operation, output, status]` triples. */
  #carryOver(): [number, unknown, number][] {
    const journal = this.#journalState!;
    const mode = this.#config.journal!.mode;
    const carried: [number, unknown, number][] = [];
    for (let i = 0; i < this.#planCount; i++) {
      const decision = this.#journalDecision(i, journal.get(this.#ops.ids[i]!), mode);
      if (decision !== undefined) carried.push([i, decision.value, decision.status]);
    }
    return carried;
  }

  #journalDecision(i: number, record: JournalOpRecord | undefined, mode: JournalMode): { status: number; value: unknown } | undefined {
    const decision = carryOver(record, this.#fingerprint(i), mode);
    if (decision === undefined) return undefined;
    if (decision.resume) {
      this.#ops.resumed.add(i);
      return { status: Status.Succeeded, value: decision.output };
    }
    return { status: Status.Skipped, value: new FanoutError('FANOUT_NOT_RETRIED', decision.why) };
  }

  #fingerprint(i: number): string {
    const spec = this.#ops.spec(i);
    // The input as written (children: as resolved from their item), never as resolved from
    // upstream outputs, so that a resumed run computes the same fingerprint before running.
    return fingerprint(spec.kind, spec.forEach === undefined ? spec.input : [spec.input, spec.forEach]);
  }

  #checkFinished(): void {
    if (this.#finished || this.#settled < this.#ops.count || this.#draining) return;
    this.#finished = true;
    void this.#finish();
  }

  async #finish(): Promise<void> {
    this.#timers.stop();
    if (this.#deadlineHandle !== undefined) this.#clock.clearTimeout(this.#deadlineHandle);
    this.#unsubscribePressure?.();
    if (this.#onAbort !== undefined) this.#config.signal?.removeEventListener('abort', this.#onAbort);
    const summary = this.#summarize();
    let journalError: unknown;
    if (this.#journal !== undefined) {
      this.#journal.append({ type: 'end', runId: this.#config.runId, wallMs: summary.wallMs, byState: summary.byState });
      try {
        await this.#journal.close();
      } catch (error) {
        journalError = error;
      }
    }
    if (this.hub.active) this.#emit({ type: 'run-finished', summary });
    this.hub.end();
    if (journalError !== undefined) {
      this.#reject(journalError);
      return;
    }
    this.#resolve(resultView(this.#ops, this.#compiled.index, this.#pools.map((p) => p.kind), summary));
  }

  /** A bug or an I/O failure outside any operation (reading the journal): end the run. */
  #fatal(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#timers.stop();
    if (this.#deadlineHandle !== undefined) this.#clock.clearTimeout(this.#deadlineHandle);
    this.#unsubscribePressure?.();
    this.hub.end();
    this.#reject(error);
  }

  // ─── Readiness, locks and queueing ──────────────────────────────────────────────────────

  /** All dependencies of `i` have ended: resolve its input, take its locks, queue it. */
  #ready(i: number): void {
    const ops = this.#ops;
    const flags = ops.flags[i]!;
    const pool = this.#pools[ops.pool[i]!]!;
    if (flags === 0 && pool.plain && this.#config.queueTimeoutMs === undefined) {
      // The common case: nothing to resolve, lock or key.
      ops.mark[i] = this.#time();
      this.#enqueue(i);
      return;
    }
    const spec = ops.spec(i);
    if ((flags & OpFlag.ForEach) !== 0) {
      this.#expand(i);
      return;
    }
    const adapter = pool.adapter;
    if ((flags & OpFlag.Refs) !== 0) {
      let resolved: unknown;
      try {
        resolved = resolveRefs(ops.input(i), this.#outputOf, undefined);
      } catch (error) {
        this.#settle(i, (error as FanoutError).code === 'FANOUT_DEPENDENCY_FAILED' ? Status.Skipped : Status.Failed, error);
        return;
      }
      const parsed = adapter.input.safeParse(resolved);
      if (!parsed.success) {
        this.#settle(i, Status.Failed, inputError(parsed.error, resolved, `operations[${i}].input`, spec.id));
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
        this.#settle(i, Status.Failed, error);
        return;
      }
      if (batchKey !== undefined) ops.batchKeys.set(i, batchKey);
    }
    const now = this.#time();
    ops.mark[i] = now;
    if (this.#config.queueTimeoutMs !== undefined) {
      ops.timerKind[i] = TimerKind.QueueDeadline;
      this.#timers.set(i, now + this.#config.queueTimeoutMs);
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
        if (!this.#locks.acquire(i, requests)) return;
      }
    }
    this.#enqueue(i);
  }

  #onLocksGranted = (i: number): void => {
    if (this.#ops.status[i] !== Status.Locking) return;
    this.#enqueue(i);
    this.#dispatch();
  };

  #enqueue(i: number): void {
    const ops = this.#ops;
    const pool = this.#pools[ops.pool[i]!]!;
    ops.status[i] = Status.Queued;
    pool.queue.push(i, readyKey(ops.priority[i]!, ops.path[i]!));
    pool.queued++;
    if (ops.batchKeys.size > 0) {
      const batchKey = ops.batchKeys.get(i);
      if (batchKey !== undefined) this.#batches.add(pool.adapter.batcher!, batchKey, i);
    }
    if (this.hub.active) this.#emit({ type: 'op-queued', id: ops.ids[i]!, kind: pool.kind });
  }

  /** Expands a fan-out operation into one child per item of the list its `forEach` names. */
  #expand(i: number): void {
    const ops = this.#ops;
    const spec = ops.spec(i);
    const forEach = spec.forEach!;
    let items: unknown;
    try {
      items = walk(this.#outputOf(forEach.$ref), pathSteps(forEach.path), `the output of "${forEach.$ref}"`);
    } catch (error) {
      this.#settle(i, (error as FanoutError).code === 'FANOUT_DEPENDENCY_FAILED' ? Status.Skipped : Status.Failed, error);
      return;
    }
    if (!Array.isArray(items)) {
      this.#settle(
        i,
        Status.Failed,
        new FanoutError('FANOUT_FOREACH_NOT_LIST', `expected forEach to point to a list, got ${describeValue(items)}`, { path: `operations[${i}].forEach` }),
      );
      return;
    }
    if (ops.count + items.length > this.#config.maxOperations) {
      this.#settle(
        i,
        Status.Failed,
        new FanoutError('FANOUT_PLAN_TOO_LARGE', `expected at most ${this.#config.maxOperations} operations in the run, but fanning out over ${items.length} items would make ${ops.count + items.length}`, {
          path: `operations[${i}].forEach`,
        }),
      );
      return;
    }
    const children: number[] = [];
    const pool = this.#pools[ops.pool[i]!]!;
    ops.reserve(items.length);
    const { forEach: _omit, ...template } = spec;
    void _omit;
    for (let k = 0; k < items.length; k++) {
      const childId = `${spec.id}[${k}]`;
      if (this.#compiled.index.get(childId) >= 0) {
        this.#settle(i, Status.Failed, new FanoutError('FANOUT_PLAN_INVALID', `the fan-out child id "${childId}" is already an operation of the plan; rename one of them`, { path: `operations[${i}].id` }));
        return;
      }
    }
    for (let k = 0; k < items.length; k++) {
      const childId = `${spec.id}[${k}]`;
      const item = items[k];
      let input: unknown;
      let problem: unknown;
      try {
        input = resolveRefs(spec.input, this.#outputOf, { value: item });
      } catch (error) {
        problem = error;
      }
      const c = ops.addChild(childId, { ...template, id: childId, input } as OperationSpec);
      this.#compiled.index.add(c);
      ops.pool[c] = pool.index;
      ops.priority[c] = ops.priority[i]!;
      ops.path[c] = ops.path[i]!;
      ops.parent[c] = i + 1;
      ops.flags[c] = ops.flags[i]! & ~(OpFlag.ForEach | OpFlag.Refs);
      ops.status[c] = Status.Pending;
      if (problem === undefined) {
        const parsed = pool.adapter.input.safeParse(input);
        if (parsed.success) ops.setInput(c, parsed.data);
        else problem = inputError(parsed.error, input, `operations[${i}].input`, childId);
      }
      if (problem !== undefined) ops.errors.set(c, problem);
      children.push(c);
    }
    pool.stats.total += children.length;
    this.#config.retryBudget.setOperations(ops.count);
    ops.status[i] = Status.Expanded;
    ops.childrenLeft.set(i, children.length);
    if (children.length > 0) this.#childRanges.set(i, [children[0]!, children.length]);
    if (this.hub.active) this.#emit({ type: 'op-expanded', id: spec.id, kind: pool.kind, children: children.map((c) => ops.ids[c]!) });
    if (children.length === 0) {
      this.#settle(i, Status.Succeeded, []);
      return;
    }
    const mode = this.#config.journal?.mode;
    for (const c of children) {
      if (ops.status[c] !== Status.Pending) continue;
      const problem = ops.errors.get(c);
      if (problem !== undefined) {
        ops.errors.delete(c);
        this.#settle(c, Status.Failed, problem);
        continue;
      }
      if (this.#journalState !== undefined && mode !== undefined && mode !== 'append') {
        const decision = this.#journalDecision(c, this.#journalState.get(ops.ids[c]!), mode);
        if (decision !== undefined) {
          this.#settle(c, decision.status, decision.value);
          continue;
        }
      }
      if (this.#stopping !== undefined) this.#settle(c, Status.Cancelled, this.#stopError());
      else this.#ready(c);
    }
  }

  #outputOf = (id: string): unknown => {
    const target = this.#compiled.index.get(id);
    const status = this.#ops.status[target]!;
    if (status !== Status.Succeeded) {
      throw new FanoutError('FANOUT_DEPENDENCY_FAILED', `needs the output of "${id}", which ended ${STATE_NAMES[status] ?? 'without output'}`);
    }
    return this.#ops.output(target);
  };

  // ─── Dispatch ───────────────────────────────────────────────────────────────────────────

  /** Starts queued operations while the global cap, their pool and their key allow. */
  #dispatch(): void {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    if (this.#stopping !== undefined || this.#finished) return;
    this.#dispatching = true;
    const ops = this.#ops;
    try {
      do {
        this.#dispatchAgain = false;
        while (this.#globalInflight < this.#globalLimit && this.#stopping === undefined) {
          const pool = this.#pickPool();
          if (pool === undefined) break;
          const i = pool.queue.pop();
          // An entry a batch left behind goes first, whatever the state now: counting one
          // per pop keeps the live entry of an operation queued again after a retry.
          if (ops.stale.size > 0 && this.#skipStale(i)) continue;
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
          if (ops.batchKeys.size > 0 && ops.batchKeys.has(i)) this.#startBatch(i, pool);
          else this.#startAttempt(i, pool, key);
        }
      } while (this.#dispatchAgain && this.#stopping === undefined);
    } finally {
      this.#dispatching = false;
    }
  }

  /**
   * The open pool whose next operation comes first: priority, critical path, arrival. Pressure
   * never stops a run outright: when nothing of it runs, the pressure comes from elsewhere
   * (another process) and waiting would not relieve it, so a paused pool may start one
   * operation at a time. Without this a run paused by a busy neighbour would wait with no
   * timer or socket to keep the process alive, and the process would exit with the run unfinished.
   */
  #pickPool(): Pool | undefined {
    const pools = this.#pools;
    const idle = this.#globalInflight === 0;
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
      const seq = this.#ops.mark[pool.queue.peek()]!;
      if (key > bestKey || seq < bestSeq) {
        best = pool;
        bestKey = key;
        bestSeq = seq;
      }
    }
    return best;
  }

  #unpark(pool: Pool, key: string): void {
    const parked = pool.parked.get(key);
    if (parked === undefined) return;
    const ops = this.#ops;
    const room = pool.keyLimitOf(key) - (pool.keyInflight.get(key) ?? 0);
    for (let n = 0; n < room && parked.size > 0; ) {
      const i = parked.shift();
      if (ops.status[i] !== Status.Queued) continue;
      // Back to the front of its bucket: it had already reached the head of the queue.
      pool.queue.pushFront(i, readyKey(ops.priority[i]!, ops.path[i]!));
      n++;
    }
    if (parked.size === 0) pool.parked.delete(key);
  }

  // ─── Attempts ───────────────────────────────────────────────────────────────────────────

  #startAttempt(i: number, pool: Pool, key: string | undefined): void {
    const ops = this.#ops;
    const now = this.#time();
    const inflight = ++pool.inflight;
    this.#globalInflight++;
    if (inflight > pool.stats.peakInflight) pool.stats.peakInflight = inflight;
    if (this.#globalInflight > this.#peakInflight) this.#peakInflight = this.#globalInflight;
    if (key !== undefined) pool.keyInflight.set(key, (pool.keyInflight.get(key) ?? 0) + 1);
    ops.startInflight[i] = inflight;
    this.#sequential.change(now, 1, pool.waits);
    const deadline = this.#beginAttempt(i, pool, now);
    const attempt = ops.attempts[i]!;

    const generation = ops.generation[i]!;
    if (this.hub.active) this.#emit({ type: 'op-started', id: ops.ids[i]!, kind: pool.kind, attempt, inflight, limit: pool.limit });

    const context = this.#context(i, deadline);
    let outcome: unknown;
    this.#stamp = NaN;
    try {
      outcome = pool.adapter.run(ops.input(i), context);
    } catch (error) {
      this.#idleAttempts.push(context);
      this.attemptFailed(i, generation, error);
      return;
    }
    if (outcome !== null && typeof outcome === 'object' && typeof (outcome as PromiseLike<unknown>).then === 'function') {
      (outcome as PromiseLike<unknown>).then(context.resolve, context.reject);
    } else {
      this.#idleAttempts.push(context);
      this.attemptSucceeded(i, generation, outcome);
    }
  }

  /** Marks the start of an attempt of `i`: status, counts, queue wait, timer. Returns its deadline. */
  #beginAttempt(i: number, pool: Pool, now: number): number | undefined {
    const ops = this.#ops;
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
      this.#timers.set(i, deadline);
      return deadline;
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.#timers.clear(i);
    }
    return undefined;
  }

  /** An attempt context for the current attempt of `i` (a reused one when there is one). */
  #context(i: number, deadline: number | undefined): Attempt {
    const context = this.#idleAttempts.pop() ?? new Attempt(this);
    context.index = i;
    context.generation = this.#ops.generation[i]!;
    context.attempt = this.#ops.attempts[i]!;
    context.deadline = deadline;
    return context;
  }

  /** Skips a ready-queue entry of `i` that a batch left behind; true if it was one. */
  #skipStale(i: number): boolean {
    const stale = this.#ops.stale;
    const left = stale.get(i);
    if (left === undefined) return false;
    if (left === 1) stale.delete(i);
    else stale.set(i, left - 1);
    return true;
  }

  /**
   * Starts `first` with the operations queued under the same batcher and key, as one unit of
   * work: one global slot and one slot in each member kind's pool. Others join only while their
   * pool admits work and has room (or already holds a slot of this batch) and their sub-limit
   * key, if any, has room; the rest wait for a later batch.
   */
  #startBatch(first: number, pool: Pool): void {
    const ops = this.#ops;
    const pools = this.#pools;
    const batcher = pool.adapter.batcher!;
    const batchKey = ops.batchKeys.get(first)!;
    const unitPools: Pool[] = [pool];
    const taken = this.#batches.take(batcher, batchKey, (batcher.maxSize ?? DEFAULT_BATCH_SIZE) - 1, (j) => {
      if (j === first || ops.status[j] !== Status.Queued) return 'drop';
      const other = pools[ops.pool[j]!]!;
      if (other.adapter.batcher !== batcher) return 'drop';
      if (!other.admit || (!unitPools.includes(other) && other.inflight >= other.limit)) return 'keep';
      const key = ops.keys.size === 0 ? undefined : ops.keys.get(j);
      if (key !== undefined && (other.keyInflight.get(key) ?? 0) >= other.keyLimitOf(key)) return 'keep';
      if (!unitPools.includes(other)) unitPools.push(other);
      return 'take';
    });
    const members = [first];
    for (const j of taken) {
      // Its entry stays in its pool's ready queue; the next pop of it is skipped.
      ops.stale.set(j, (ops.stale.get(j) ?? 0) + 1);
      pools[ops.pool[j]!]!.queued--;
      members.push(j);
    }
    const now = this.#time();
    this.#globalInflight++;
    if (this.#globalInflight > this.#peakInflight) this.#peakInflight = this.#globalInflight;
    const inflightAtStart: number[] = [];
    let computes = false;
    for (const p of unitPools) {
      const inflight = ++p.inflight;
      if (inflight > p.stats.peakInflight) p.stats.peakInflight = inflight;
      inflightAtStart.push(inflight);
      computes ||= !p.waits;
    }
    const unit = new BatchUnit(unitPools, inflightAtStart, now, members.length, computes);
    this.#sequential.change(now, 1, !computes);
    const handles: Member[] = [];
    for (const j of members) {
      const p = pools[ops.pool[j]!]!;
      const key = ops.keys.size === 0 ? undefined : ops.keys.get(j);
      if (key !== undefined) p.keyInflight.set(key, (p.keyInflight.get(key) ?? 0) + 1);
      ops.startInflight[j] = p.inflight;
      ops.units.set(j, unit);
      const deadline = this.#beginAttempt(j, p, now);
      if (this.hub.active) this.#emit({ type: 'op-started', id: ops.ids[j]!, kind: p.kind, attempt: ops.attempts[j]!, inflight: p.inflight, limit: p.limit });
      handles.push(new Member(p.kind, ops.input(j), this.#context(j, deadline)));
    }
    this.#stamp = NaN;
    try {
      batcher.run(handles);
    } catch (error) {
      for (const handle of handles) handle.reject(error);
    }
  }

  /** The last member of a batch ended: its slots are free, and each pool's limiter learns. */
  #endBatch(unit: BatchUnit, now: number): void {
    this.#globalInflight--;
    const duration = now - unit.start;
    this.#sequential.change(now, -1, !unit.computes);
    unit.pools.forEach((pool, k) => {
      pool.inflight--;
      this.#learn(pool, duration, unit.inflightAtStart[k]!, unit.dropped ? 'drop' : 'ok', now);
    });
  }

  /** Feeds a pool's limiter one sample. */
  #learn(pool: Pool, latencyMs: number, inflight: number, outcome: 'ok' | 'drop' | 'ignore', now: number): void {
    if (!pool.learns) return;
    const before = pool.limiter.limit;
    const sample = pool.sample;
    sample.latencyMs = latencyMs;
    sample.inflight = inflight;
    sample.outcome = outcome;
    sample.now = now;
    pool.limiter.onSample(sample);
    if (pool.limiter.limit !== before) this.#limitMaybeChanged(pool, pool.limiter.reason ?? 'limiter');
  }

  /**
   * An attempt's promise settled: its context goes back to the idle list (contexts are reused,
   * so an attempt costs no closures), and the result counts if the attempt is still current.
   */
  settled(context: Attempt, ok: boolean, value: unknown): void {
    const i = context.index;
    const generation = context.generation;
    this.#idleAttempts.push(context);
    if (ok) this.attemptSucceeded(i, generation, value);
    else this.attemptFailed(i, generation, value);
  }

  /** Frees the attempt's slot and feeds the limiter; returns the attempt's duration. */
  #endAttempt(i: number, outcome: 'ok' | 'drop' | 'ignore'): number {
    const ops = this.#ops;
    const pool = this.#pools[ops.pool[i]!]!;
    const now = this.#time();
    const duration = now - ops.mark[i]!;
    ops.duration[i] = duration;
    ops.status[i] = Status.Ended;
    const unit = ops.units.size === 0 ? undefined : ops.units.get(i);
    if (unit === undefined) {
      pool.inflight--;
      this.#globalInflight--;
      this.#sequential.change(now, -1, pool.waits);
    }
    const key = ops.keys.size === 0 ? undefined : ops.keys.get(i);
    if (key !== undefined) {
      const left = (pool.keyInflight.get(key) ?? 1) - 1;
      if (left === 0) pool.keyInflight.delete(key);
      else pool.keyInflight.set(key, left);
      this.#unpark(pool, key);
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.#timers.clear(i);
    }
    if (ops.controllers.size > 0) ops.controllers.delete(i);
    pool.stats.busyMs += duration;
    pool.stats.runTime.record(duration);
    this.#busyMs += duration;
    if (unit === undefined) this.#learn(pool, duration, ops.startInflight[i]!, outcome, now);
    else {
      ops.units.delete(i);
      if (outcome === 'drop') unit.dropped = true;
      if (--unit.left === 0) this.#endBatch(unit, now);
    }
    return duration;
  }

  attemptSucceeded(i: number, generation: number, value: unknown): void {
    const ops = this.#ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    this.#stamp = this.#clock.now();
    this.#endAttempt(i, 'ok');
    this.#settle(i, Status.Succeeded, value);
    this.#dispatch();
    this.#stamp = NaN;
  }

  attemptFailed(i: number, generation: number, error: unknown): void {
    const ops = this.#ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    const pool = this.#pools[ops.pool[i]!]!;
    const classification = this.#classify(pool, error);
    this.#stamp = this.#clock.now();
    this.#endAttempt(i, classification.class === 'drop' ? 'drop' : 'ignore');
    const timedOut = error instanceof FanoutError && error.code === 'FANOUT_ATTEMPT_TIMEOUT';
    const delay = this.#retryDelay(i, pool, classification);
    if (delay === undefined) {
      this.#settle(i, timedOut ? Status.TimedOut : Status.Failed, error);
    } else {
      ops.status[i] = Status.RetryWait;
      pool.stats.retries++;
      this.#locks.release(i);
      ops.timerKind[i] = TimerKind.Retry;
      this.#timers.set(i, this.#time() + delay);
      if (this.hub.active) {
        this.#emit({ type: 'op-retrying', id: ops.ids[i]!, kind: pool.kind, attempt: ops.attempts[i]!, delayMs: delay, error: serializeError(error) });
      }
    }
    this.#dispatch();
    this.#stamp = NaN;
  }

  #classify(pool: Pool, error: unknown): Classification {
    if (error instanceof FanoutError && error.code === 'FANOUT_ATTEMPT_TIMEOUT') return { class: 'drop' };
    if (pool.adapter.classify === undefined) return defaultClassify(error);
    try {
      return toClassification(pool.adapter.classify(error));
    } catch {
      return { class: 'fatal' };
    }
  }

  /** The delay before the next attempt, or undefined when there is none. */
  #retryDelay(i: number, pool: Pool, classification: Classification): number | undefined {
    if (this.#stopping !== undefined) return undefined;
    const ops = this.#ops;
    const policy = (ops.flags[i]! & OpFlag.Retry) !== 0 ? resolveRetry(ops.spec(i).retry, this.#defaultRetry) : this.#defaultRetry;
    if (classification.class === 'fatal' && !policy.anyFailure) return undefined;
    if (ops.attempts[i]! >= policy.attempts) return undefined;
    if (!pool.idempotent && !policy.force) return undefined;
    if (!this.#config.retryBudget.tryTake()) return undefined;
    return backoffDelay(ops.attempts[i]!, policy, this.#config.random, classification.retryAfterMs);
  }

  #onTimer = (i: number): void => {
    const ops = this.#ops;
    const kind = ops.timerKind[i];
    ops.timerKind[i] = TimerKind.None;
    const status = ops.status[i];
    if (kind === TimerKind.Attempt && status === Status.Running) {
      const pool = this.#pools[ops.pool[i]!]!;
      const timeoutMs = (ops.flags[i]! & OpFlag.Timeout) !== 0 ? ops.spec(i).timeoutMs : pool.defaultTimeoutMs;
      const error = new FanoutError('FANOUT_ATTEMPT_TIMEOUT', `attempt ${ops.attempts[i]} of "${ops.ids[i]}" timed out after ${timeoutMs} ms`);
      ops.controllers.get(i)?.abort(error);
      this.attemptFailed(i, ops.generation[i]!, error);
    } else if (kind === TimerKind.Retry && status === Status.RetryWait) {
      ops.status[i] = Status.Pending;
      this.#ready(i);
      this.#dispatch();
    } else if (kind === TimerKind.QueueDeadline && (status === Status.Queued || status === Status.Locking)) {
      this.#settle(i, Status.TimedOut, new FanoutError('FANOUT_QUEUE_TIMEOUT', `"${ops.ids[i]}" waited ${this.#config.queueTimeoutMs} ms without starting`));
      this.#dispatch();
    }
  };

  /** The signal of attempt `generation` of `i`, created on first use. */
  signalFor(i: number, generation: number): AbortSignal {
    const ops = this.#ops;
    if (ops.generation[i] !== generation || ops.status[i] !== Status.Running) {
      return AbortSignal.abort(ops.errors.get(i) ?? new FanoutError('FANOUT_CANCELLED', 'the attempt is over'));
    }
    let controller = ops.controllers.get(i);
    if (controller === undefined) {
      controller = new AbortController();
      ops.controllers.set(i, controller);
    }
    return controller.signal;
  }

  progress(i: number, generation: number, data: unknown): void {
    const ops = this.#ops;
    if (!this.hub.active || ops.generation[i] !== generation || ops.status[i] !== Status.Running) return;
    this.#emit({ type: 'op-progress', id: ops.ids[i]!, kind: this.#pools[ops.pool[i]!]!.kind, attempt: ops.attempts[i]!, data });
  }

  idOf(i: number): string {
    return this.#ops.ids[i]!;
  }

  kindOf(i: number): string {
    return this.#pools[this.#ops.pool[i]!]!.kind;
  }

  // ─── Settling ───────────────────────────────────────────────────────────────────────────

  /**
   * Ends operation `i` in `status`. Settling cascades (dependents skipped, parents completed),
   * so settles go through a queue drained in a loop rather than by recursion: a chain of a
   * hundred thousand skips must not overflow the stack.
   */
  #settle(i: number, status: number, value: unknown): void {
    if (this.#draining) {
      this.#settleQueue.push(i);
      this.#settleStates.push(status);
      this.#settleValues.push(value);
      return;
    }
    this.#draining = true;
    try {
      this.#settleOne(i, status, value);
      if (this.#settleQueue.length > 0) this.#drainQueue();
    } finally {
      this.#draining = false;
    }
    this.#checkFinished();
  }

  /** Settles what was queued while settling; the caller holds `#draining`. */
  #drainQueue(): void {
    try {
      for (let k = 0; k < this.#settleQueue.length; k++) {
        this.#settleOne(this.#settleQueue[k]!, this.#settleStates[k]!, this.#settleValues[k]);
      }
    } finally {
      this.#settleQueue.length = 0;
      this.#settleStates.length = 0;
      this.#settleValues.length = 0;
    }
  }

  #drain(): void {
    this.#draining = true;
    try {
      this.#drainQueue();
    } finally {
      this.#draining = false;
    }
    this.#checkFinished();
  }

  #settleOne(i: number, status: number, value: unknown): void {
    const ops = this.#ops;
    const previous = ops.status[i]!;
    if (isTerminal(previous)) return;
    const pool = this.#pools[ops.pool[i]!]!;
    if (previous === Status.Running) {
      // Ended from outside (cancelled, halted): free the slot now; a late result is ignored.
      ops.controllers.get(i)?.abort(value);
      this.#endAttempt(i, 'ignore');
      ops.generation[i]!++;
    } else if (previous === Status.Queued) {
      pool.queued--;
    }
    if (ops.timerKind[i] !== TimerKind.None) {
      ops.timerKind[i] = TimerKind.None;
      this.#timers.clear(i);
    }
    ops.status[i] = status;
    this.#settled++;
    const state = STATE_NAMES[status]!;
    this.#stateCounts[status - Status.Succeeded]!++;
    pool.stats.counts[status - Status.Succeeded]!++;
    if (status === Status.Succeeded) ops.setOutput(i, value);
    else {
      ops.errors.set(i, value);
      if (this.#failures.length < MAX_FAILURE_RECORDS) {
        this.#failures.push({ id: ops.ids[i]!, kind: pool.kind, state: state as FailureRecord['state'], error: value === undefined ? undefined : serializeError(value) });
      }
    }
    const resumed = ops.resumed.size > 0 && ops.resumed.has(i);
    const parent = ops.parent[i]! - 1;
    if (this.#journal !== undefined && !resumed) this.#journalRecord(i, state, value);
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
      this.#emit(event);
    }
    // Released after the event: a waiter granted the lock starts at once, and its op-started
    // must not come before this op-finished.
    if (ops.locks.size > 0 && ops.locks.delete(i)) this.#locks.release(i);

    if (parent >= 0) this.#childEnded(parent);
    if (i < this.#planCount) this.#releaseDependents(i, status);
    if ((status === Status.Failed || status === Status.TimedOut) && !resumed) this.#failed(i);
  }

  #releaseDependents(i: number, status: number): void {
    const { dependentStart, dependents } = this.#compiled.graph;
    const end = dependentStart[i + 1];
    if (end === undefined) return;
    const ops = this.#ops;
    const proceed = status === Status.Succeeded || this.#config.failure === 'continue';
    for (let k = dependentStart[i]!; k < end; k++) {
      const d = dependents[k]!;
      if (ops.status[d] !== Status.Pending) continue;
      if (!proceed) {
        this.#settle(d, Status.Skipped, new FanoutError('FANOUT_DEPENDENCY_FAILED', `skipped because "${ops.ids[i]}" ended ${STATE_NAMES[status]}`));
      } else if (--ops.depsLeft[d]! === 0) {
        if (this.#stopping !== undefined) this.#settle(d, Status.Cancelled, this.#stopError());
        else this.#ready(d);
      }
    }
  }

  #childEnded(parent: number): void {
    const ops = this.#ops;
    const left = ops.childrenLeft.get(parent)! - 1;
    ops.childrenLeft.set(parent, left);
    if (left > 0 || ops.status[parent] !== Status.Expanded) return;
    const [first, n] = this.#childRanges.get(parent)!;
    const children = Array.from({ length: n }, (_, k) => first + k);
    let failed = 0;
    let other = 0;
    for (const c of children) {
      const s = ops.status[c];
      if (s === Status.Failed || s === Status.TimedOut) failed++;
      else if (s !== Status.Succeeded) other++;
    }
    if (failed === 0 && other === 0) {
      this.#settle(parent, Status.Succeeded, children.map((c) => ops.output(c)));
      return;
    }
    const names = children
      .filter((c) => ops.status[c] !== Status.Succeeded)
      .slice(0, 5)
      .map((c) => `"${ops.ids[c]}" ${STATE_NAMES[ops.status[c]!]}`);
    const error = new FanoutError(
      'FANOUT_CHILDREN_FAILED',
      `${failed + other} of ${children.length} children did not succeed: ${names.join(', ')}${failed + other > names.length ? ', …' : ''}`,
    );
    this.#settle(parent, failed > 0 ? Status.Failed : Status.Cancelled, error);
  }

  /** Applies a halt policy once enough operations have failed. */
  #failed(i: number): void {
    this.#failureCount++;
    const policy = this.#config.failure;
    if (typeof policy !== 'object' || this.#stopping !== undefined) return;
    if (this.#failureCount < (policy.failures ?? 1)) return;
    const error = new FanoutError('FANOUT_HALTED', `the run halted (${policy.halt}) after "${this.#ops.ids[i]}" failed`);
    this.#stop(policy.halt === 'now' ? 'halt-now' : 'halt-soon', error);
  }

  #stopError(): FanoutError {
    return new FanoutError(this.#stopping === 'deadline' ? 'FANOUT_RUN_DEADLINE' : this.#stopping === 'cancel' ? 'FANOUT_CANCELLED' : 'FANOUT_HALTED', this.#stopReason ?? 'the run stopped');
  }

  /** Stops the run: nothing new starts; what is not running ends now; running ones per mode. */
  #stop(mode: 'halt-soon' | 'halt-now' | 'cancel' | 'deadline', error: FanoutError): void {
    if (this.#finished) return;
    if (this.#stopping !== undefined && !(this.#stopping === 'halt-soon' && mode !== 'halt-soon')) return;
    this.#stopping = mode;
    this.#stopReason = error.message;
    const ops = this.#ops;
    const status = mode === 'deadline' ? Status.TimedOut : Status.Cancelled;
    const keepRunning = mode === 'halt-soon';
    // Settles are queued and drained once, by the drain already under way if there is one
    // (a halt decided while settling a failure).
    const outer = this.#draining;
    this.#draining = true;
    try {
      for (let i = 0; i < ops.count; i++) {
        const s = ops.status[i]!;
        if (isTerminal(s) || s === Status.Expanded || (keepRunning && s === Status.Running)) continue;
        this.#settle(i, status, error);
      }
      // Fan-out parents end with their children; any left (no children running) end here.
      for (let i = 0; i < ops.count; i++) {
        if (ops.status[i] === Status.Expanded && (ops.childrenLeft.get(i) ?? 0) > 0 && !keepRunning) this.#settle(i, status, error);
      }
    } finally {
      this.#draining = outer;
    }
    if (!outer) this.#drain();
  }

  // ─── Limits and pressure ────────────────────────────────────────────────────────────────

  #limitMaybeChanged(pool: Pool, reason: string): void {
    const from = pool.limit;
    if (!pool.refreshLimit()) return;
    const time = this.#now();
    pool.stats.recordLimit({ time, limit: pool.limit, reason });
    if (this.hub.active) this.#emit({ type: 'limit-changed', kind: pool.kind, from, to: pool.limit, reason });
  }

  #readPressure(): void {
    const source = this.#config.pressure;
    if (source === undefined || this.#finished) return;
    for (const pool of this.#pools) {
      let reading;
      try {
        reading = source.read(pool.kind);
      } catch {
        continue;
      }
      const changed = reading.admit !== pool.admit || reading.reason !== pool.pressureReason || reading.shrink !== pool.lastShrink;
      if (!changed) continue;
      const admitChanged = reading.admit !== pool.admit;
      pool.admit = reading.admit;
      pool.pressureReason = reading.reason;
      pool.lastShrink = reading.shrink;
      if (reading.shrink !== undefined && reading.shrink > 0 && reading.shrink < 1 && pool.limiter.onPressure !== undefined) {
        pool.limiter.onPressure(reading.shrink, reading.reason ?? 'resource pressure');
        this.#limitMaybeChanged(pool, reading.reason ?? 'resource pressure');
      }
      if (admitChanged && this.hub.active) this.#emit({ type: 'pressure-changed', kind: pool.kind, admit: pool.admit, reason: reading.reason });
    }
    this.#dispatch();
  }

  // ─── Helpers ────────────────────────────────────────────────────────────────────────────

  #poolFor(adapter: CompiledPlan['kinds'][number]): Pool {
    let pool = this.#poolByKind.get(adapter.kind);
    if (pool === undefined) {
      pool = new Pool(this.#pools.length, adapter, this.#config.limits[adapter.kind] ?? {}, this.#config.random);
      this.#pools.push(pool);
      this.#poolByKind.set(adapter.kind, pool);
    }
    return pool;
  }

  #now(): number {
    return this.#time() - this.#t0;
  }

  /** Clock time, from the stamp of the current synchronous stretch when there is one. */
  #time(): number {
    const stamp = this.#stamp;
    return stamp === stamp ? stamp : this.#clock.now();
  }

  #emit(init: EventInit<SchedulerEvent>): void {
    const event = init as SchedulerEvent;
    event.seq = this.#eventSeq++;
    event.time = this.#now();
    this.hub.emit(event);
  }

  #journalRecord(i: number, state: TerminalState, value: unknown): void {
    const ops = this.#ops;
    const record: JournalOpRecord = {
      type: 'op',
      runId: this.#config.runId,
      id: ops.ids[i]!,
      kind: this.#pools[ops.pool[i]!]!.kind,
      state,
      attempts: ops.attempts[i]!,
      fingerprint: this.#fingerprint(i),
      durationMs: ops.duration[i]!,
    };
    if (state === 'succeeded') {
      if (value !== undefined) record.output = value;
    } else if (value !== undefined) record.error = serializeError(value);
    const parent = ops.parent[i]! - 1;
    if (parent >= 0) record.parent = ops.ids[parent]!;
    this.#journal!.append(record);
  }

  #summarize(): RunSummary {
    return summarizeRun({
      runId: this.#config.runId,
      name: this.#compiled.plan.name,
      startedAt: this.#startedAt,
      wallMs: this.#startedAt === '' ? 0 : this.#now(),
      total: this.#ops.count,
      stateCounts: this.#stateCounts,
      resumed: this.#ops.resumed.size,
      retryBudget: this.#config.retryBudget,
      busyMs: this.#busyMs,
      sequentialMs: this.#startedAt === '' ? 0 : this.#sequential.total(this.#time()),
      sequentialMeasured: this.#sequential.measured,
      peakInflight: this.#peakInflight,
      pools: this.#pools,
      failures: this.#failures,
      stopReason: this.#stopReason,
    });
  }

}

function inputError(error: import('zod').ZodError, input: unknown, base: string, id: string): FanoutError {
  const issues = fromZodIssues(error, input, base, 'FANOUT_INPUT_INVALID');
  return new FanoutError('FANOUT_INPUT_INVALID', `the input of "${id}" is invalid once resolved: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    path: issues[0]?.path ?? base,
  });
}
