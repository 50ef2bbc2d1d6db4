import type { TerminalState } from './events.js';
import type { BatchUnit } from './batch.js';
import type { LockRequest } from './locks.js';
import type { OperationSpec } from './plan.js';
import type { CompiledPlan } from './compile.js';

/** Where an operation is; terminal states are ≥ `Status.Succeeded`. */
// biome-ignore lint/suspicious/noConstEnum: inlined as numbers on the hot path; never exported from the package.
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

/** The name of each terminal status. */
export const STATE_NAMES: Readonly<Record<number, TerminalState>> = {
  [Status.Succeeded]: 'succeeded',
  [Status.Failed]: 'failed',
  [Status.Skipped]: 'skipped',
  [Status.Cancelled]: 'cancelled',
  [Status.TimedOut]: 'timed-out',
};

/** What the one timer slot of an operation is armed for. */
// biome-ignore lint/suspicious/noConstEnum: inlined as numbers on the hot path; never exported from the package.
export const enum TimerKind {
  None = 0,
  QueueDeadline = 1,
  Attempt = 2,
  Retry = 3,
}

/** The typed columns, in layout order (widest first, for alignment). */
const F64 = ['mark'] as const;
const F32 = ['duration'] as const;
const I32 = ['priority', 'path', 'depsLeft', 'parent', 'startInflight'] as const;
const U16 = ['pool', 'attempts', 'generation'] as const;
const U8 = ['status', 'timerKind', 'flags'] as const;
const COLUMNS = [...F64, ...F32, ...I32, ...U16, ...U8];

/**
 * Every operation's state as typed columns indexed by operation number ("struct of arrays"),
 * all views of one buffer: 39 bytes an operation, one allocation, and no garbage per state
 * change. Every byte counts twice: a million operations touch each page of the buffer once,
 * and on these machines a first touch costs about 0.4 ms a megabyte. Grows when fan-outs add
 * children.
 */
export class OpTable {
  count: number;
  capacity = 0;
  /**
   * When the operation became ready, until its attempt starts; then when the attempt started.
   * One column serves both: queue wait is taken at the start, duration at the end. Ready
   * times also order the heads of different pools' queues (arrival order).
   */
  mark!: Float64Array;
  /** Duration of the last attempt, in milliseconds. */
  duration!: Float32Array;
  priority!: Int32Array;
  /** Length of the longest chain of dependents after the operation (critical path first). */
  path!: Int32Array;
  depsLeft!: Int32Array;
  /** Fan-out parent + 1, or 0 (so that a fresh buffer needs no filling). */
  parent!: Int32Array;
  /** In-flight count of the pool when the current attempt started (for the limiter). */
  startInflight!: Int32Array;
  pool!: Uint16Array;
  /** Attempts made (at most 100, by the plan schema). */
  attempts!: Uint16Array;
  /** Bumped per attempt and when one ends from outside, so a late result is recognised. */
  generation!: Uint16Array;
  status!: Uint8Array;
  timerKind!: Uint8Array;
  /** `OpFlag` bits (see validate.ts). */
  flags!: Uint8Array;

  readonly ids: string[];
  #inputs: unknown[] | undefined;
  #outputs: unknown[] | undefined;
  readonly #planSpecs: readonly OperationSpec[];
  readonly #planCount: number;
  readonly #childSpecs: OperationSpec[] = [];
  /** Sparse per-operation extras. */
  readonly errors = new Map<number, unknown>();
  readonly controllers = new Map<number, AbortController>();
  readonly keys = new Map<number, string>();
  readonly locks = new Map<number, LockRequest[]>();
  readonly resumed = new Set<number>();
  /** Batch key of operations whose adapter has a batcher that gave one. */
  readonly batchKeys = new Map<number, string>();
  /** The batch each running member belongs to. */
  readonly units = new Map<number, BatchUnit>();
  /**
   * Ready-queue entries left behind by operations a batch took out of turn, per operation;
   * the next pop of such an operation is skipped (the entries are identical, so any one may go).
   */
  readonly stale = new Map<number, number>();
  /** Children still running, per expanded fan-out operation. */
  readonly childrenLeft = new Map<number, number>();

  constructor(compiled: CompiledPlan) {
    this.count = compiled.count;
    this.#planCount = compiled.count;
    this.#planSpecs = compiled.specs;
    this.ids = compiled.ids;
    this.#inputs = compiled.inputs;
    this.#allocate(Math.max(16, compiled.count));
    this.pool.set(compiled.kindOf);
    this.flags.set(compiled.flags);
    // Absent columns are all zeros, which a fresh buffer already is.
    if (compiled.priority !== undefined) this.priority.set(compiled.priority);
    if (compiled.graph.depCount.length > 0) this.depsLeft.set(compiled.graph.depCount);
    if (compiled.graph.path.length > 0) this.path.set(compiled.graph.path);
  }

  /** Takes one ready-queue entry of `i` that a batch left behind; true if there was one. */
  takeStale(i: number): boolean {
    const left = this.stale.get(i);
    if (left === undefined) return false;
    if (left === 1) this.stale.delete(i);
    else this.stale.set(i, left - 1);
    return true;
  }

  input(i: number): unknown {
    return this.#inputs?.[i];
  }

  setInput(i: number, value: unknown): void {
    // Preallocated: inputs and outputs arrive out of order, and a sparse array would turn
    // into a dictionary. Allocated only once a value needs a place (a no-op plan has none).
    if (this.#inputs === undefined) {
      if (value === undefined) return;
      this.#inputs = new Array<unknown>(this.capacity);
    }
    this.#inputs[i] = value;
  }

  output(i: number): unknown {
    return this.#outputs?.[i];
  }

  setOutput(i: number, value: unknown): void {
    if (this.#outputs === undefined) {
      if (value === undefined) return;
      this.#outputs = new Array<unknown>(this.capacity);
    }
    this.#outputs[i] = value;
  }

  /** The spec of operation `i` (a plan operation, or a fan-out child). */
  spec(i: number): OperationSpec {
    return i < this.#planCount ? this.#planSpecs[i]! : this.#childSpecs[i - this.#planCount]!;
  }

  /** Appends a fan-out child; returns its index. `reserve` first. */
  addChild(id: string, spec: OperationSpec): number {
    const c = this.count++;
    this.ids[c] = id;
    this.#childSpecs.push(spec);
    return c;
  }

  /** Makes room for `extra` more operations. */
  reserve(extra: number): void {
    const needed = this.count + extra;
    if (needed <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < needed) capacity *= 2;
    const old = this as unknown as Record<string, Float64Array | Float32Array | Int32Array | Uint16Array | Uint8Array>;
    const columns = COLUMNS.map((name) => [name, old[name]!] as const);
    this.#allocate(capacity);
    for (const [name, column] of columns) (this as unknown as Record<string, { set(a: ArrayLike<number>): void }>)[name]!.set(column);
  }

  #allocate(capacity: number): void {
    const bytes = capacity * (F64.length * 8 + F32.length * 4 + I32.length * 4 + U16.length * 2 + U8.length);
    const buffer = new ArrayBuffer(bytes);
    let offset = 0;
    const self = this as unknown as Record<string, unknown>;
    for (const name of F64) {
      self[name] = new Float64Array(buffer, offset, capacity);
      offset += capacity * 8;
    }
    for (const name of F32) {
      self[name] = new Float32Array(buffer, offset, capacity);
      offset += capacity * 4;
    }
    for (const name of I32) {
      self[name] = new Int32Array(buffer, offset, capacity);
      offset += capacity * 4;
    }
    for (const name of U16) {
      self[name] = new Uint16Array(buffer, offset, capacity);
      offset += capacity * 2;
    }
    for (const name of U8) {
      self[name] = new Uint8Array(buffer, offset, capacity);
      offset += capacity;
    }
    this.capacity = capacity;
  }
}

/** Is `status` terminal? */
export function isTerminal(status: number): boolean {
  return status >= Status.Succeeded;
}
