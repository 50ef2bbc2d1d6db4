import type { LockRequest } from './locks.js';
import type { OperationSpec } from './plan.js';

/** Where an operation is; terminal states are ≥ `Status.Succeeded`. */
export const enum Status {
  Pending = 0,
  Locking = 1,
  Queued = 2,
  Running = 3,
  RetryWait = 4,
  Expanded = 5,
  /** The attempt is over and its slot freed; the operation is about to settle or wait. */
  Ended = 6,
  Succeeded = 10,
  Failed = 11,
  Skipped = 12,
  Cancelled = 13,
  TimedOut = 14,
}

/** What the one timer slot of an operation is armed for. */
export const enum TimerKind {
  None = 0,
  QueueDeadline = 1,
  Attempt = 2,
  Retry = 3,
}

/**
 * Every operation's state as flat arrays, indexed by operation number ("struct of arrays").
 * A million operations cost a few tens of megabytes and no garbage per state change, which is
 * what lets the scheduler outrun fastq on no-op work. Grows when fan-outs add children.
 */
export class OpTable {
  count = 0;
  capacity: number;
  status: Uint8Array;
  timerKind: Uint8Array;
  /** `OpFlag` bits (see validate.ts). */
  flags: Uint8Array;
  pool: Uint16Array;
  priority: Int32Array;
  path: Int32Array;
  depsLeft: Int32Array;
  attempts: Int32Array;
  generation: Int32Array;
  /** Fan-out parent, or -1. */
  parent: Int32Array;
  /** Children still running, for fan-out operations. */
  childrenLeft: Int32Array;
  /** In-flight count of the pool when the current attempt started (for the limiter). */
  startInflight: Int32Array;
  seq: Float64Array;
  readyAt: Float64Array;
  startAt: Float64Array;
  duration: Float64Array;

  ids: string[];
  specs: OperationSpec[];
  inputs: unknown[];
  outputs: unknown[];
  /** Sparse per-operation extras. */
  errors = new Map<number, unknown>();
  controllers = new Map<number, AbortController>();
  keys = new Map<number, string>();
  locks = new Map<number, LockRequest[]>();
  resumed = new Set<number>();

  constructor(ids: string[], specs: OperationSpec[], inputs: unknown[], capacity: number) {
    this.capacity = Math.max(16, capacity);
    this.status = new Uint8Array(this.capacity);
    this.timerKind = new Uint8Array(this.capacity);
    this.flags = new Uint8Array(this.capacity);
    this.pool = new Uint16Array(this.capacity);
    this.priority = new Int32Array(this.capacity);
    this.path = new Int32Array(this.capacity);
    this.depsLeft = new Int32Array(this.capacity);
    this.attempts = new Int32Array(this.capacity);
    this.generation = new Int32Array(this.capacity);
    this.parent = new Int32Array(this.capacity).fill(-1);
    this.childrenLeft = new Int32Array(this.capacity);
    this.startInflight = new Int32Array(this.capacity);
    this.seq = new Float64Array(this.capacity);
    this.readyAt = new Float64Array(this.capacity);
    this.startAt = new Float64Array(this.capacity);
    this.duration = new Float64Array(this.capacity);
    this.ids = ids;
    this.specs = specs;
    this.inputs = inputs;
    this.outputs = [];
  }

  /** Makes room for `extra` more operations. */
  reserve(extra: number): void {
    const needed = this.count + extra;
    if (needed <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    this.status = grow(this.status, new Uint8Array(capacity));
    this.timerKind = grow(this.timerKind, new Uint8Array(capacity));
    this.flags = grow(this.flags, new Uint8Array(capacity));
    this.pool = grow(this.pool, new Uint16Array(capacity));
    this.priority = grow(this.priority, new Int32Array(capacity));
    this.path = grow(this.path, new Int32Array(capacity));
    this.depsLeft = grow(this.depsLeft, new Int32Array(capacity));
    this.attempts = grow(this.attempts, new Int32Array(capacity));
    this.generation = grow(this.generation, new Int32Array(capacity));
    this.parent = grow(this.parent, new Int32Array(capacity).fill(-1));
    this.childrenLeft = grow(this.childrenLeft, new Int32Array(capacity));
    this.startInflight = grow(this.startInflight, new Int32Array(capacity));
    this.seq = grow(this.seq, new Float64Array(capacity));
    this.readyAt = grow(this.readyAt, new Float64Array(capacity));
    this.startAt = grow(this.startAt, new Float64Array(capacity));
    this.duration = grow(this.duration, new Float64Array(capacity));
    this.capacity = capacity;
  }
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}

/** Is `status` terminal? */
export function isTerminal(status: number): boolean {
  return status >= Status.Succeeded;
}
