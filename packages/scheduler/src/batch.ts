/**
 * The engine's side of work sharing (see `Batcher` in adapter.ts): an index of queued
 * operations by batcher and key, the unit of work a batch is, and the member handles given to
 * a batcher. The engine owns the state machine; this file only keeps the books.
 */
import type { Batcher, BatchMember } from './adapter.js';
import type { Attempt } from './attempt.js';
import type { Pool } from './pool.js';

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
