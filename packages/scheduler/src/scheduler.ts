import type { Adapter } from './adapter.js';
import type { CompiledPlan } from './compile.js';
import { systemClock, type Clock } from './clock.js';
import { Engine, type RunSnapshot } from './engine.js';
import type { RunResult } from './result.js';
import { check, FanoutError, type SchedulerErrorCode, PlanValidationError } from './errors.js';
import type { IterateOptions } from './event-hub.js';
import type { SchedulerEvent } from './events.js';
import type { JournalMode, JournalOptions } from './journal.js';
import type { FailurePolicy, RetrySpec } from './plan.js';
import { failurePolicySchema } from './plan.js';
import type { PoolOptions } from './pool.js';
import type { PressureSource } from './pressure.js';
import { DEFAULT_RETRY, resolveRetry, RetryBudget, type RetryBudgetSpec } from './retry.js';
import { processCpuMeter, type CpuMeter } from './sequential.js';
import { DEFAULT_MAX_OPERATIONS, validatePlan, type ValidationResult } from './validate.js';

/** Options shared by every run of a scheduler; each run may override them. */
export interface SchedulerOptions {
  /** The adapters operations can name by `kind`. */
  adapters: Iterable<Adapter> | Record<string, Adapter>;
  /** @default systemClock */
  clock?: Clock;
  /** Gates admission per kind from the state of the machine (see `@fanout/monitor`). */
  pressure?: PressureSource;
  /**
   * Most attempts in flight at once over all kinds.
   * @default 256
   */
  concurrency?: number | undefined;
  /** Pool limits per kind; adapters' defaults fill the gaps. */
  limits?: Record<string, PoolOptions>;
  /** @default 1_000_000 */
  maxOperations?: number;
  /** Default timeout of each attempt when neither operation nor adapter sets one. */
  timeoutMs?: number;
  /** Default retry policy. @default { attempts: 3, baseDelayMs: 100, maxDelayMs: 10000 } */
  retry?: RetrySpec;
  /** @default { ratio: 0.2, min: 10 } */
  retryBudget?: RetryBudgetSpec | number;
  /** Injected randomness for jitter. @default Math.random */
  random?: () => number;
  /**
   * CPU readings for the summary's sequential estimate (see `RunSummary.sequentialMs`);
   * `false` for none (the estimate is then the sum of unit durations).
   * @default this process's CPU (`processCpuMeter()`) with the system clock; none with an injected clock
   */
  cpu?: CpuMeter | false;
}

/** Options of one run. Plan `policy` values apply where these are not given. */
export interface RunOptions {
  /** Aborting it cancels the run. */
  signal?: AbortSignal;
  /** @default the plan's policy.failure, else "isolate" */
  failure?: FailurePolicy;
  /** Ends what is left `timed-out` this long after the start. */
  deadlineMs?: number;
  /** An operation that waits this long to start ends `timed-out`. */
  queueTimeoutMs?: number;
  timeoutMs?: number;
  concurrency?: number;
  limits?: Record<string, PoolOptions>;
  retry?: RetrySpec;
  retryBudget?: RetryBudgetSpec | number;
  /** Append-only NDJSON journal of terminal states; a path means mode "append". */
  journal?: string | JournalOptions | undefined;
  /** Called for every event (attached before the run starts). */
  onEvent?: (event: SchedulerEvent) => void;
  /** @default a random UUID */
  runId?: string | undefined;
}

/**
 * Runs plans. One scheduler holds the adapters and defaults; each `run` validates its plan as
 * a whole, then executes it.
 *
 * @example
 * const scheduler = createScheduler({ adapters: [sleep] });
 * const result = await scheduler.execute({ operations: [{ id: 'a', kind: 'sleep', input: { ms: 10 } }] });
 * console.log(result.summary.speedup);
 */
export class Scheduler {
  readonly adapters: ReadonlyMap<string, Adapter>;
  readonly #options: SchedulerOptions;
  /**
   * Plans this scheduler's `validate` compiled and no run has taken yet: `run` takes each once
   * without validating again (a run grows its plan's id index as it expands operations).
   */
  readonly #validated = new WeakSet<CompiledPlan>();

  constructor(options: SchedulerOptions) {
    this.#options = options;
    const adapters = new Map<string, Adapter>();
    const list: Iterable<Adapter> = Symbol.iterator in options.adapters ? (options.adapters as Iterable<Adapter>) : Object.values(options.adapters);
    for (const adapter of list) {
      if (typeof adapter?.kind !== 'string' || typeof adapter.run !== 'function' || typeof adapter.input?.safeParse !== 'function') {
        throw new FanoutError<SchedulerErrorCode>('FANOUT_ADAPTER_INVALID', `expected an adapter with a string kind, a zod input schema and a run function, got ${JSON.stringify(Object.keys(adapter ?? {}))}`);
      }
      if (adapters.has(adapter.kind)) throw new FanoutError<SchedulerErrorCode>('FANOUT_ADAPTER_INVALID', `two adapters have the kind "${adapter.kind}"`);
      adapters.set(adapter.kind, adapter);
    }
    this.adapters = adapters;
  }

  /** Validates a plan as a whole without running it. */
  validate(plan: unknown): ValidationResult {
    const validation = validatePlan(plan, this.adapters, { maxOperations: this.#options.maxOperations ?? DEFAULT_MAX_OPERATIONS });
    if (validation.ok) this.#validated.add(validation.compiled);
    return validation;
  }

  /**
   * Validates and starts a plan. Throws {@link PlanValidationError} listing every problem when
   * the plan is invalid; nothing runs then. `plan` may also be the `compiled` plan of this
   * scheduler's {@link validate}: a caller that validated at its boundary (a server answering
   * 400 with every issue) does not pay for the validation twice.
   *
   * @example
   * const validation = scheduler.validate(body);
   * if (validation.ok) scheduler.run(validation.compiled);
   */
  run(plan: unknown, options: RunOptions = {}): Run {
    let compiled: CompiledPlan;
    if (typeof plan === 'object' && plan !== null && this.#validated.delete(plan as CompiledPlan)) compiled = plan as CompiledPlan;
    else {
      const validation = this.validate(plan);
      if (!validation.ok) throw new PlanValidationError(validation.issues);
      compiled = validation.compiled;
    }
    const base = this.#options;
    const policy = compiled.plan.policy ?? {};
    const failure = options.failure ?? policy.failure ?? 'isolate';
    const checked = failurePolicySchema.safeParse(failure);
    if (!checked.success)
      throw new FanoutError<SchedulerErrorCode>('FANOUT_OPTION_INVALID', `expected failure to be "isolate", "continue" or { halt: "now" | "soon" }, got ${JSON.stringify(failure)}`, { path: 'failure' });
    const journal =
      options.journal === undefined
        ? undefined
        : typeof options.journal === 'string'
          ? { path: options.journal, mode: 'append' as JournalMode }
          : { path: options.journal.path, mode: options.journal.mode ?? 'append', sync: options.journal.sync, sink: options.journal.sink };
    const concurrency = options.concurrency ?? base.concurrency ?? 256;
    check.integer(concurrency, 'concurrency', 256);
    const limits: Record<string, PoolOptions> = { ...base.limits };
    for (const [kind, limit] of Object.entries(options.limits ?? {})) limits[kind] = { ...limits[kind], ...limit };

    const engine = new Engine(compiled, {
      // node:crypto is loaded only when a run needs a random id (see journal.ts's fingerprint).
      runId: options.runId ?? process.getBuiltinModule('node:crypto').randomUUID(),
      clock: base.clock ?? systemClock,
      random: base.random ?? Math.random,
      concurrency,
      limits,
      failure,
      timeoutMs: options.timeoutMs ?? base.timeoutMs,
      deadlineMs: options.deadlineMs ?? policy.deadlineMs,
      queueTimeoutMs: options.queueTimeoutMs ?? policy.queueTimeoutMs,
      retry: resolveRetry(options.retry, resolveRetry(base.retry, DEFAULT_RETRY)),
      retryBudget: new RetryBudget(options.retryBudget ?? base.retryBudget),
      maxOperations: base.maxOperations ?? DEFAULT_MAX_OPERATIONS,
      pressure: base.pressure,
      journal,
      signal: options.signal,
      cpu: base.cpu === false ? undefined : (base.cpu ?? (base.clock === undefined || base.clock === systemClock ? processCpuMeter() : undefined)),
    });
    const run = new Run(engine);
    if (options.onEvent !== undefined) run.on(options.onEvent);
    engine.start();
    return run;
  }

  /** `run(plan, options).result`. */
  execute(plan: unknown, options?: RunOptions): Promise<RunResult> {
    return this.run(plan, options).result;
  }
}

/** A run in progress: its events, its controls and its result. */
export class Run {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  /** Resolves when every operation has ended (and the journal is on disk, or written with `journal.sync: "after-result"`). */
  get result(): Promise<RunResult> {
    return this.#engine.result;
  }

  /**
   * Resolves once the run's journal is synced to disk and closed: with the result, or after it
   * with `journal.sync: "after-result"`; once the run is over when it has no journal. Rejects
   * only when the journal's file could not be closed, or a `journal.sink`'s sync failed.
   */
  get synced(): Promise<void> {
    return this.#engine.synced;
  }

  /** Calls `listener` for every event, synchronously and in order. Returns an unsubscribe. */
  on(listener: (event: SchedulerEvent) => void): () => void {
    return this.#engine.hub.on(listener);
  }

  /** The events from now on, buffered per consumer so a slow one never stalls the run. */
  events(options?: IterateOptions): AsyncIterableIterator<SchedulerEvent & { droppedBefore?: number }> {
    return this.#engine.hub.iterate(options);
  }

  /** Cancels the run; whatever has not ended ends `cancelled`, at once. */
  cancel(reason?: unknown): void {
    this.#engine.cancel(reason);
  }

  /** Changes a kind's hard limit while running. */
  setLimit(kind: string, limit: number): void {
    this.#engine.setLimit(kind, limit);
  }

  /** Changes the global cap while running. */
  setGlobalLimit(limit: number): void {
    this.#engine.setGlobalLimit(limit);
  }

  /** Changes one key's sub-limit (a host, a provider) while running. */
  setKeyLimit(kind: string, key: string, limit: number): void {
    this.#engine.setKeyLimit(kind, key, limit);
  }

  /** Counts, queues, in-flight and limits right now. */
  snapshot(): RunSnapshot {
    return this.#engine.snapshot();
  }
}

/** Creates a {@link Scheduler}. */
export function createScheduler(options: SchedulerOptions): Scheduler {
  return new Scheduler(options);
}
