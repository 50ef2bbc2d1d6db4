/**
 * The engine's side of work sharing (see `Batcher` in adapter.ts): an index of queued
 * operations by batcher and key, the unit of work a batch is, the member handles given to a
 * batcher, and how a batch starts and ends on the run's state machine.
 */
import type { Batcher, BatchMember } from './adapter.js';
import type { Attempt } from './attempt.js';
import { Status } from './op-table.js';
import type { Pool } from './pool.js';
import type { RunStateMachine } from './state-machine.js';

/** The default most members of one batch. */
export const DEFAULT_BATCH_SIZE = 64;

/** Queued operations per batcher and key, in arrival order; entries that left the queue are skipped lazily. */
export class BatchIndex {
  readonly #lists = new Map<Batcher, Map<string, number[]>>();

  add(batcher: Batcher, key: string, op: number): void {
    let byKey = this.#lists.get(batcher);
    if (byKey === undefined) this.#lists.set(batcher, (byKey = new Map()));
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [op]);
    else list.push(op);
  }

  /**
   * Takes the operations `accept` agrees to (in arrival order, up to `room`), keeping the
   * ones it defers for later batches and dropping the ones it rejects for good.
   */
  take(batcher: Batcher, key: string, room: number, accept: (op: number) => 'take' | 'keep' | 'drop'): number[] {
    const byKey = this.#lists.get(batcher);
    const list = byKey?.get(key);
    if (list === undefined) return [];
    const taken: number[] = [];
    let kept = 0;
    for (let k = 0; k < list.length; k++) {
      const op = list[k]!;
      const verdict = taken.length < room ? accept(op) : 'keep';
      if (verdict === 'take') taken.push(op);
      else if (verdict === 'keep') list[kept++] = op;
    }
    list.length = kept;
    if (kept === 0) byKey!.delete(key);
    return taken;
  }
}

/** A batch in flight: the slots it holds and the members still running. */
export class BatchUnit {
  /** The pools of its members, each holding one slot for the batch. */
  readonly pools: Pool[];
  /** In-flight count of each pool when the batch started (for the limiters). */
  readonly inflightAtStart: number[];
  readonly start: number;
  /** Any member not of a kind that waits: the batch computes. */
  readonly computes: boolean;
  left: number;
  /** A member's failure was an overload signal. */
  dropped = false;

  constructor(pools: Pool[], inflightAtStart: number[], start: number, members: number, computes: boolean) {
    this.pools = pools;
    this.inflightAtStart = inflightAtStart;
    this.start = start;
    this.left = members;
    this.computes = computes;
  }
}

/**
 * What a batcher holds of one member. `resolve` and `reject` pass through once (they are
 * bound, so they can be handed on as callbacks); the attempt context ignores anything after
 * its attempt ended (a timeout, a cancellation).
 */
export class Member implements BatchMember {
  readonly kind: string;
  readonly input: unknown;
  readonly context: Attempt;
  #done = false;
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: unknown) => void;

  constructor(kind: string, input: unknown, context: Attempt) {
    this.kind = kind;
    this.input = input;
    this.context = context;
    this.resolve = (output) => {
      if (this.#done) return;
      this.#done = true;
      context.resolve(output);
    };
    this.reject = (error) => {
      if (this.#done) return;
      this.#done = true;
      context.reject(error);
    };
  }

  get done(): boolean {
    return this.#done;
  }
}

/**
 * Starts `first` with the operations queued under the same batcher and key, as one unit of
 * work: one global slot and one slot in each member kind's pool. Others join only while their
 * pool admits work and has room (or already holds a slot of this batch) and their sub-limit
 * key, if any, has room; the rest wait for a later batch.
 */
export function startBatch(m: RunStateMachine, first: number, pool: Pool): void {
  const ops = m.ops;
  const pools = m.poolList;
  const batcher = pool.adapter.batcher!;
  const batchKey = ops.batchKeys.get(first)!;
  const unitPools: Pool[] = [pool];
  const taken = m.batches.take(batcher, batchKey, (batcher.maxSize ?? DEFAULT_BATCH_SIZE) - 1, (j) => {
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
  const now = m.time();
  m.globalInflight++;
  if (m.globalInflight > m.peakInflight) m.peakInflight = m.globalInflight;
  const inflightAtStart: number[] = [];
  let computes = false;
  for (const p of unitPools) {
    const inflight = ++p.inflight;
    if (inflight > p.stats.peakInflight) p.stats.peakInflight = inflight;
    inflightAtStart.push(inflight);
    computes ||= !p.waits;
  }
  const unit = new BatchUnit(unitPools, inflightAtStart, now, members.length, computes);
  m.sequential.change(now, 1, !computes);
  const handles: Member[] = [];
  for (const j of members) {
    const p = pools[ops.pool[j]!]!;
    const key = ops.keys.size === 0 ? undefined : ops.keys.get(j);
    if (key !== undefined) p.keyInflight.set(key, (p.keyInflight.get(key) ?? 0) + 1);
    ops.startInflight[j] = p.inflight;
    ops.units.set(j, unit);
    const deadline = m.beginAttempt(j, p, now);
    if (m.hub.active) m.emit({ type: 'op-started', id: ops.ids[j]!, kind: p.kind, attempt: ops.attempts[j]!, inflight: p.inflight, limit: p.limit });
    handles.push(new Member(p.kind, ops.input(j), m.context(j, deadline)));
  }
  m.stamp = NaN;
  try {
    batcher.run(handles);
  } catch (error) {
    for (const handle of handles) handle.reject(error);
  }
}

/** The last member of a batch ended: its slots are free, and each pool's limiter learns. */
export function endBatch(m: RunStateMachine, unit: BatchUnit, now: number): void {
  m.globalInflight--;
  const duration = now - unit.start;
  m.sequential.change(now, -1, !unit.computes);
  unit.pools.forEach((pool, k) => {
    pool.inflight--;
    m.learn(pool, duration, unit.inflightAtStart[k]!, unit.dropped ? 'drop' : 'ok', now);
  });
}
