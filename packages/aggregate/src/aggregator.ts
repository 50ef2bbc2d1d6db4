import type { Run, RunResult, RunSummary, SchedulerEvent, TerminalState } from '@fanout/scheduler';
import { Collector } from './collector.js';
import { AggregationError, check, errorInfo } from './errors.js';
import type { Extractor } from './extractor.js';
import { BUILTIN_EXTRACTORS } from './extractors/index.js';
import { buildReport, type ReportOptions } from './report.js';
import type { Report } from './report-schema.js';
import { AggregationState, type OpRecord } from './state.js';
import { DEFAULT_WEIGHTS, type Weights } from './weights.js';

/** One finished operation, as the scheduler's results and `op-finished` events describe it. */
export interface FinishedOperation {
  id: string;
  kind: string;
  state: TerminalState;
  output?: unknown;
  /** Why it did not succeed: an error or its serialised form. */
  error?: unknown;
  /** The fan-out operation it is a child of. */
  parent?: string | undefined;
  attempts?: number;
  durationMs?: number;
}

/** The part of a plan the aggregation reads: inputs, to say what a failure leaves missing. */
export interface PlanLike {
  operations: readonly { id: string; kind: string; input?: unknown }[];
}

/** Options of an {@link Aggregator}. */
export interface AggregatorOptions {
  /** Extractors for more kinds, or replacing a built-in one of the same kind. */
  extractors?: readonly Extractor[];
  /**
   * The plan that ran. Without it, failures still say what failed and why, but not what
   * their inputs would have produced ("matches of /TODO/ in src").
   */
  plan?: PlanLike;
  /**
   * Most entries held per group (files, matches, URLs…). Past it the weakest quarter is
   * forgotten and distinct counts become estimates: memory stays bounded however long the
   * stream.
   * @default 100_000
   */
  maxEntries?: number;
  /** Longest text kept for a matched line, a title, a snippet. @default 240 */
  maxTextChars?: number;
  /** Failures, problems and notes kept in detail (all are counted). @default 1_000 */
  maxListed?: number;
  /** How much each kind of sighting counts (see {@link Weights}). */
  weights?: Partial<Weights>;
}

/**
 * Gathers the results of a run into one answer: groups them by type and by operation,
 * deduplicates (normalised URLs, `path:line` for matches, paths for files, normalised
 * queries), correlates (the same file, URL or domain reached by several operations gains
 * confidence), ranks with an explained score, and keeps failures beside the partial results.
 *
 * Feed it while the run goes (`observe(run)`, or `listener` as the run's `onEvent`), or
 * afterwards (`addResult(result)`), or one operation at a time (`add`), then ask for a
 * `report()`.
 *
 * @example
 * const aggregator = new Aggregator({ plan });
 * aggregator.observe(scheduler.run(plan));
 * const report = await aggregator.report({ budget: { tokens: 8_000 } });
 * console.log(renderMarkdown(report));
 */
export class Aggregator {
  readonly #state: AggregationState;
  readonly #collector: Collector;
  readonly #extractors = new Map<string, Extractor>();
  readonly #inputs = new Map<string, { kind: string; input: unknown }>();
  readonly #pending: Promise<void>[] = [];
  /** Fan-out operations (their children carry the results). */
  readonly #expanded = new Set<string>();
  #queue: SchedulerEvent[] = [];
  #scheduled = false;

  constructor(options: AggregatorOptions = {}) {
    const weights: Weights = { ...DEFAULT_WEIGHTS, ...options.weights };
    for (const [name, value] of Object.entries(weights)) {
      check.number(value, `weights.${name}`, undefined, { above: 0 });
    }
    this.#state = new AggregationState(weights, check.integer(options.maxEntries, 'maxEntries', 100_000), check.integer(options.maxTextChars, 'maxTextChars', 240), check.integer(options.maxListed, 'maxListed', 1_000));
    this.#collector = new Collector(this.#state);
    for (const extractor of BUILTIN_EXTRACTORS) this.#extractors.set(extractor.kind, extractor);
    (options.extractors ?? []).forEach((extractor, i) => {
      if (typeof extractor?.kind !== 'string' || typeof extractor.extract !== 'function') {
        throw new AggregationError('FANOUT_AGGREGATE_EXTRACTOR_INVALID', `expected an extractor { kind: string, extract(output, sink, op) } at extractors[${i}], got ${JSON.stringify(Object.keys(extractor ?? {}))}`, {
          path: `extractors[${i}]`,
        });
      }
      this.#extractors.set(extractor.kind, extractor);
    });
    for (const op of options.plan?.operations ?? []) this.#inputs.set(op.id, { kind: op.kind, input: op.input });
  }

  /**
   * Takes in one finished operation. A fan-out operation whose children are (or will be)
   * added is recorded without its output: the children carry the results.
   */
  add(op: FinishedOperation): this {
    const state = this.#state;
    if (state.opIndex.has(op.id)) return this;
    if (op.parent !== undefined) this.#markExpanded(op.parent);
    const source = state.ops.length;
    const record: OpRecord = {
      id: op.id,
      kind: op.kind,
      state: op.state,
      parent: op.parent,
      detail: undefined,
      items: 0,
      fresh: 0,
      attempts: op.attempts ?? 0,
      durationMs: op.durationMs ?? 0,
      expanded: this.#expanded.has(op.id),
      problems: 0,
    };
    state.ops.push(record);
    state.opIndex.set(op.id, source);
    const extractor = this.#extractors.get(op.kind);
    const input = this.#inputOf(op.id, op.parent);
    if (op.state === 'succeeded') {
      if (record.expanded) return this;
      try {
        record.detail = extractor?.describe?.(input, op.output);
      } catch {
        // A description is a nicety; a describer that throws must not lose the results.
      }
      if (extractor === undefined) {
        state.notes.push(`${op.id}: no extractor for kind "${op.kind}"; its output is not in the report (register one with the extractors option)`);
        return this;
      }
      this.#collector.begin(source);
      try {
        extractor.extract(op.output, this.#collector, { id: op.id, kind: op.kind, input, ...itemOf(op.id, op.parent) });
      } catch (error) {
        const e = errorInfo(error);
        this.#collector.problem({
          code: e.code ?? 'FANOUT_AGGREGATE_OUTPUT_UNEXPECTED',
          message: `its output could not be read: ${e.message}`,
          missing: record.items === 0 ? `the results of ${op.id}` : `the rest of ${op.id}'s results (${record.items} read before the problem)`,
        });
      }
      return this;
    }
    const e = errorInfo(op.error);
    if (e.code === 'FANOUT_CHILDREN_FAILED' && record.expanded) return this; // each child reports its own
    try {
      record.detail = extractor?.describe?.(input, undefined);
    } catch {
      // see above
    }
    let missing: string | undefined;
    try {
      missing = extractor?.missing?.(input);
    } catch {
      missing = undefined;
    }
    const code = e.code ?? 'FANOUT_OPERATION_FAILED';
    state.failuresByCode.set(code, (state.failuresByCode.get(code) ?? 0) + 1);
    state.failures.push({
      op: op.id,
      kind: op.kind,
      state: op.state,
      code,
      message: e.message,
      ...(e.path === undefined ? {} : { path: e.path }),
      missing: missing ?? `the output of ${op.id} (${op.kind})`,
      ...(op.parent === undefined ? {} : { parent: op.parent }),
    });
    return this;
  }

  /**
   * Takes in one scheduler event, synchronously: `op-finished` (with its output),
   * `op-expanded` and `run-finished`; the others are ignored.
   */
  handle(event: SchedulerEvent): void {
    switch (event.type) {
      case 'op-expanded':
        this.#markExpanded(event.id);
        break;
      case 'op-finished':
        this.add(event);
        break;
      case 'run-finished':
        this.#state.summary = event.summary;
        break;
      default:
        break;
    }
  }

  /**
   * A listener to pass as a run's `onEvent` (or to `run.on`). It only queues the event; the
   * outputs are read in batches after the engine has started the next operations, so the
   * aggregation never holds up the run.
   */
  readonly listener = (event: SchedulerEvent): void => {
    if (event.type !== 'op-finished' && event.type !== 'op-expanded' && event.type !== 'run-finished') return;
    this.#queue.push(event);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  };

  #flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const event of queue) this.handle(event);
  };

  /** Takes in a finished run's results (operations already taken in are skipped). */
  addResult(result: RunResult): this {
    this.#flush();
    // Fan-out parents come before their children: hold back whatever may be one until the
    // children have said whose they are.
    const held: FinishedOperation[] = [];
    for (const op of result.operations()) {
      if (this.#state.opIndex.has(op.id)) continue;
      if (op.parent === undefined && (Array.isArray(op.output) || errorInfo(op.error).code === 'FANOUT_CHILDREN_FAILED')) {
        held.push(op);
        continue;
      }
      this.add(op);
    }
    for (const op of held) this.add(op);
    this.#state.summary ??= result.summary;
    return this;
  }

  /**
   * Follows a run while it goes: outputs are taken in as operations finish, and
   * {@link report} waits for the run to end. Operations that finished before this was called
   * are taken from the run's result at the end.
   */
  observe(run: Run): this {
    let sawStart = false;
    const off = run.on((event) => {
      if (event.type === 'run-started') sawStart = true;
      this.listener(event);
    });
    this.#pending.push(
      run.result.then(
        (result) => {
          off();
          this.#flush();
          const total = result.summary.total;
          if (!sawStart || this.#state.ops.length < total) this.addResult(result);
          this.#state.summary ??= result.summary;
        },
        (error: unknown) => {
          off();
          this.#flush();
          this.#state.notes.push(`the run itself failed (${errorInfo(error).message}); the report holds what finished before`);
        },
      ),
    );
    return this;
  }

  /** The run's summary, when known (it adds wall time and speed-up to the report). */
  setSummary(summary: RunSummary): this {
    this.#state.summary = summary;
    return this;
  }

  /**
   * The report: ranked groups, operations, failures beside the partial results, within the
   * output budget (what does not fit is written to a file and referenced). Waits for
   * observed runs to end.
   */
  async report(options: ReportOptions = {}): Promise<Report> {
    await Promise.all(this.#pending);
    this.#flush();
    return buildReport(this.#state, options);
  }

  #markExpanded(id: string): void {
    this.#expanded.add(id);
    const at = this.#state.opIndex.get(id);
    if (at !== undefined) this.#state.ops[at]!.expanded = true;
  }

  #inputOf(id: string, parent: string | undefined): unknown {
    const own = this.#inputs.get(id);
    if (own !== undefined) return own.input;
    if (parent !== undefined) return this.#inputs.get(parent)?.input;
    return undefined;
  }
}

function itemOf(id: string, parent: string | undefined): { item?: number } {
  if (parent === undefined) return {};
  const m = /\[(\d+)\]$/.exec(id);
  return m === null ? {} : { item: Number(m[1]) };
}

/**
 * Aggregates a finished run.
 *
 * @example
 * const result = await scheduler.execute(plan);
 * const report = await aggregate(result, { plan, budget: { tokens: 8_000 } });
 */
export function aggregate(result: RunResult, options: AggregatorOptions & ReportOptions = {}): Promise<Report> {
  return new Aggregator(options).addResult(result).report(options);
}

/**
 * Aggregates a run while it goes and resolves with the report when it ends.
 *
 * @example
 * const report = await observe(scheduler.run(plan), { plan });
 */
export function observe(run: Run, options: AggregatorOptions & ReportOptions = {}): Promise<Report> {
  return new Aggregator(options).observe(run).report(options);
}
