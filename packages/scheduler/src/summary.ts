import type { SerializedError } from './errors.js';
import { TERMINAL_STATES, type TerminalState } from './events.js';
import { Histogram, type Percentiles } from './histogram.js';

/** One change of a pool's effective limit. */
export interface LimitPoint {
  /** Milliseconds since the run started. */
  time: number;
  limit: number;
  reason: string;
}

/** Figures of one kind of operation. */
export interface KindSummary {
  total: number;
  byState: Record<TerminalState, number>;
  attempts: number;
  retries: number;
  /** Sum of attempt durations. */
  busyMs: number;
  /** Duration of attempts. */
  runTime: Percentiles;
  /** Wait between becoming ready and starting, per attempt. */
  queueWait: Percentiles;
  /** Share of the kind's operations that ended failed or timed-out. */
  failureRate: number;
  /** Most attempts of the kind in flight at once. */
  peakInflight: number;
  limit: { initial: number; final: number; min: number; max: number };
  /** Mean attempt time over 5 s: the pool was slow (the design's "mean response" signal). */
  slow: boolean;
}

/** A failed, timed-out, cancelled or skipped operation, with its reason. */
export interface FailureRecord {
  id: string;
  kind: string;
  state: Exclude<TerminalState, 'succeeded'>;
  error: SerializedError | undefined;
}

/** What a run did, accounting for every operation. */
export interface RunSummary {
  runId: string;
  name: string | undefined;
  /** Wall-clock start, ISO 8601. */
  startedAt: string;
  wallMs: number;
  total: number;
  byState: Record<TerminalState, number>;
  /** Successes carried over from a journal, not run again. */
  resumed: number;
  attempts: number;
  retries: number;
  retryBudget: { total: number; spent: number };
  /** Sum of attempt durations (work that ran at once is counted in full for each attempt). */
  busyMs: number;
  /**
   * What running the plan one unit at a time (`-j 1`) would have cost, estimated: a batch of
   * operations sharing their work counts once, and stretches in which the cores or the main
   * thread were busy count the CPU time used rather than the attempts' contended wall time
   * (see `sequential.ts`).
   */
  sequentialMs: number;
  /** The estimate used CPU readings; false: it is the sum of unit durations, an upper bound for CPU-bound work. */
  sequentialMeasured: boolean;
  /** sequentialMs / wallMs. */
  speedup: number;
  /** Most attempts in flight at once, over all kinds. */
  peakInflight: number;
  /** speedup / peakInflight: how busy the slots that were used were kept (1 is perfect). */
  efficiency: number;
  runTime: Percentiles;
  queueWait: Percentiles;
  byKind: Record<string, KindSummary>;
  /** Effective-limit changes per kind (at most 1,000 points each; the latest are kept). */
  limitHistory: Record<string, LimitPoint[]>;
  /** Operations that did not succeed (at most 1,000; `byState` has the full counts). */
  failures: FailureRecord[];
  /** Why the run stopped early, if it did. */
  stopReason: string | undefined;
}

export const MAX_LIMIT_POINTS = 1000;
export const MAX_FAILURE_RECORDS = 1000;

/** Turns counts indexed like {@link TERMINAL_STATES} into a record. */
export function stateRecord(counts: ArrayLike<number>): Record<TerminalState, number> {
  const record = {} as Record<TerminalState, number>;
  for (let s = 0; s < TERMINAL_STATES.length; s++) record[TERMINAL_STATES[s]!] = counts[s] ?? 0;
  return record;
}

/** The running figures of one kind; the engine updates them per attempt. */
export class KindStats {
  total = 0;
  /** Operations per terminal state, indexed like {@link TERMINAL_STATES}. */
  counts = new Float64Array(TERMINAL_STATES.length);
  attempts = 0;
  retries = 0;
  busyMs = 0;
  peakInflight = 0;
  runTime = new Histogram();
  queueWait = new Histogram();
  limitInitial: number;
  limitMin: number;
  limitMax: number;
  limitHistory: LimitPoint[] = [];

  constructor(initialLimit: number) {
    this.limitInitial = initialLimit;
    this.limitMin = initialLimit;
    this.limitMax = initialLimit;
  }

  recordLimit(point: LimitPoint): void {
    if (point.limit < this.limitMin) this.limitMin = point.limit;
    if (point.limit > this.limitMax) this.limitMax = point.limit;
    if (this.limitHistory.length >= MAX_LIMIT_POINTS) this.limitHistory.shift();
    this.limitHistory.push(point);
  }

  summarize(finalLimit: number): KindSummary {
    const runTime = this.runTime.percentiles();
    const byState = stateRecord(this.counts);
    return {
      total: this.total,
      byState,
      attempts: this.attempts,
      retries: this.retries,
      busyMs: this.busyMs,
      runTime,
      queueWait: this.queueWait.percentiles(),
      failureRate: this.total === 0 ? 0 : (byState.failed + byState['timed-out']) / this.total,
      peakInflight: this.peakInflight,
      limit: { initial: this.limitInitial, final: finalLimit, min: this.limitMin, max: this.limitMax },
      slow: runTime.count > 0 && runTime.mean > 5000,
    };
  }
}

/** What the engine knows at the end of a run, for {@link summarizeRun}. */
export interface RunFigures {
  runId: string;
  name: string | undefined;
  startedAt: string;
  wallMs: number;
  total: number;
  /** Operations per terminal state, indexed like {@link TERMINAL_STATES}. */
  stateCounts: ArrayLike<number>;
  resumed: number;
  retryBudget: { total: number; spent: number };
  busyMs: number;
  sequentialMs: number;
  sequentialMeasured: boolean;
  peakInflight: number;
  pools: readonly { kind: string; limit: number; stats: KindStats }[];
  failures: FailureRecord[];
  stopReason: string | undefined;
}

/** Builds the run summary from the figures the engine kept while running. */
export function summarizeRun(figures: RunFigures): RunSummary {
  const byKind: RunSummary['byKind'] = {};
  const limitHistory: RunSummary['limitHistory'] = {};
  const runTime = new Histogram();
  const queueWait = new Histogram();
  let attempts = 0;
  let retries = 0;
  for (const pool of figures.pools) {
    byKind[pool.kind] = pool.stats.summarize(pool.limit);
    limitHistory[pool.kind] = pool.stats.limitHistory.slice();
    runTime.merge(pool.stats.runTime);
    queueWait.merge(pool.stats.queueWait);
    attempts += pool.stats.attempts;
    retries += pool.stats.retries;
  }
  const { wallMs, busyMs, sequentialMs, peakInflight } = figures;
  const speedup = wallMs > 0 ? sequentialMs / wallMs : 0;
  return {
    runId: figures.runId,
    name: figures.name,
    startedAt: figures.startedAt,
    wallMs,
    total: figures.total,
    byState: stateRecord(figures.stateCounts),
    resumed: figures.resumed,
    attempts,
    retries,
    retryBudget: { total: figures.retryBudget.total, spent: figures.retryBudget.spent },
    busyMs,
    sequentialMs,
    sequentialMeasured: figures.sequentialMeasured,
    speedup,
    peakInflight,
    efficiency: peakInflight > 0 ? speedup / peakInflight : 0,
    runTime: runTime.percentiles(),
    queueWait: queueWait.percentiles(),
    byKind,
    limitHistory,
    failures: figures.failures,
    stopReason: figures.stopReason,
  };
}
