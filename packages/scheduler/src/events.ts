import type { SerializedError } from './errors.js';
import type { RunSummary } from './summary.js';

/** Where an operation ends. Every operation of a run reaches exactly one, exactly once. */
export type TerminalState = 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'timed-out';

/** Every terminal state, in a fixed order (for tables and counts). */
export const TERMINAL_STATES: readonly TerminalState[] = ['succeeded', 'failed', 'skipped', 'cancelled', 'timed-out'];

interface EventBase {
  /** Position in the stream, from 0. */
  seq: number;
  /** Milliseconds since the run started, on the run's clock. */
  time: number;
}

export interface RunStartedEvent extends EventBase {
  type: 'run-started';
  runId: string;
  name: string | undefined;
  operations: number;
  /** Operations carried over as succeeded from a journal. */
  resumed: number;
}

export interface OpQueuedEvent extends EventBase {
  type: 'op-queued';
  id: string;
  kind: string;
}

export interface OpStartedEvent extends EventBase {
  type: 'op-started';
  id: string;
  kind: string;
  attempt: number;
  /** In flight in this pool, this attempt included. */
  inflight: number;
  limit: number;
}

export interface OpProgressEvent extends EventBase {
  type: 'op-progress';
  id: string;
  kind: string;
  attempt: number;
  data: unknown;
}

export interface OpRetryingEvent extends EventBase {
  type: 'op-retrying';
  id: string;
  kind: string;
  /** The attempt that failed. */
  attempt: number;
  delayMs: number;
  error: SerializedError;
}

export interface OpExpandedEvent extends EventBase {
  type: 'op-expanded';
  id: string;
  kind: string;
  /** Ids of the children, one per item. */
  children: string[];
}

export interface OpFinishedEvent extends EventBase {
  type: 'op-finished';
  id: string;
  kind: string;
  state: TerminalState;
  attempts: number;
  /** Duration of the last attempt, 0 when none ran. */
  durationMs: number;
  /** Why it did not succeed. */
  error?: SerializedError;
  /** What it produced, when it succeeded (the object itself, not a copy). */
  output?: unknown;
  /** True when the success was carried over from a journal. */
  resumed?: boolean;
  /** The fan-out operation this child belongs to. */
  parent?: string;
}

export interface LimitChangedEvent extends EventBase {
  type: 'limit-changed';
  kind: string;
  from: number;
  to: number;
  reason: string;
}

export interface PressureChangedEvent extends EventBase {
  type: 'pressure-changed';
  kind: string;
  admit: boolean;
  reason: string | undefined;
}

export interface RunFinishedEvent extends EventBase {
  type: 'run-finished';
  summary: RunSummary;
}

/** The one ordered stream of a run. */
export type SchedulerEvent = RunStartedEvent | OpQueuedEvent | OpStartedEvent | OpProgressEvent | OpRetryingEvent | OpExpandedEvent | OpFinishedEvent | LimitChangedEvent | PressureChangedEvent | RunFinishedEvent;

/** Distributes `Omit` over a union. */
export type EventInit<E> = E extends EventBase ? Omit<E, 'seq' | 'time'> : never;
