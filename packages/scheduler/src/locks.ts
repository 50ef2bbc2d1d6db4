import type { LockSpec } from './plan.js';

/** A normalised lock request. */
export interface LockRequest {
  key: string;
  mode: 'read' | 'write';
}

interface KeyState {
  readers: number;
  writer: number;
  /** Owners waiting for this key, first come first served. */
  waiting: number[];
}

interface OwnerState {
  requests: LockRequest[];
  /** How many of `requests` are held; the next one is the one waited for. */
  held: number;
}

/**
 * Merges lock specs into requests sorted by key, one per key (a write wins over a read). The
 * sorted order is the fixed order keys are taken in, which rules out deadlock between owners.
 */
export function normalizeLocks(specs: Iterable<string | LockSpec>): LockRequest[] {
  const byKey = new Map<string, 'read' | 'write'>();
  for (const spec of specs) {
    const key = typeof spec === 'string' ? spec : spec.key;
    const mode = typeof spec === 'string' ? 'write' : (spec.mode ?? 'write');
    if (byKey.get(key) !== 'write') byKey.set(key, mode);
  }
  return [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, mode]) => ({ key, mode }));
}

/**
 * Read/write locks on resource keys. Owners take their keys one at a time in sorted order;
 * a key is granted first come first served (a waiting writer holds back later readers, so
 * writers never starve). Owners wait here without holding a pool slot: `onGranted` fires when
 * an owner holds all its keys.
 */
export class LockManager {
  #keys = new Map<string, KeyState>();
  #owners = new Map<number, OwnerState>();
  readonly #onGranted: (owner: number) => void;

  constructor(onGranted: (owner: number) => void) {
    this.#onGranted = onGranted;
  }

  /** Keys currently held or waited for. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Starts taking `requests` (normalised, sorted) for `owner`. Returns true when all were
   * granted at once; otherwise `onGranted(owner)` fires later.
   */
  acquire(owner: number, requests: LockRequest[]): boolean {
    const state: OwnerState = { requests, held: 0 };
    this.#owners.set(owner, state);
    return this.#advance(owner, state, false);
  }

  /** Is `owner` holding every key it asked for? */
  holdsAll(owner: number): boolean {
    const state = this.#owners.get(owner);
    return state !== undefined && state.held === state.requests.length;
  }

  /** Releases what `owner` holds and withdraws what it waits for. */
  release(owner: number): void {
    const state = this.#owners.get(owner);
    if (state === undefined) return;
    this.#owners.delete(owner);
    const touched: string[] = [];
    for (let i = 0; i < state.held; i++) {
      const request = state.requests[i]!;
      const lock = this.#keys.get(request.key)!;
      if (request.mode === 'write') lock.writer = -1;
      else lock.readers--;
      touched.push(request.key);
    }
    if (state.held < state.requests.length) {
      const key = state.requests[state.held]!.key;
      const lock = this.#keys.get(key);
      if (lock !== undefined) {
        const at = lock.waiting.indexOf(owner);
        if (at >= 0) lock.waiting.splice(at, 1);
        touched.push(key);
      }
    }
    for (const key of touched) this.#wake(key);
  }

  /** Grants `owner` as many keys as it can; true when it holds all of them. */
  #advance(owner: number, state: OwnerState, notify: boolean): boolean {
    while (state.held < state.requests.length) {
      const request = state.requests[state.held]!;
      let lock = this.#keys.get(request.key);
      if (lock === undefined) {
        lock = { readers: 0, writer: -1, waiting: [] };
        this.#keys.set(request.key, lock);
      }
      if (lock.waiting.length > 0 || !compatible(lock, request.mode)) {
        lock.waiting.push(owner);
        return false;
      }
      take(lock, owner, request.mode);
      state.held++;
    }
    if (notify) this.#onGranted(owner);
    return true;
  }

  /** A key was released or a waiter left: grant waiters in order while they fit. */
  #wake(key: string): void {
    const lock = this.#keys.get(key);
    if (lock === undefined) return;
    while (lock.waiting.length > 0) {
      const owner = lock.waiting[0]!;
      const state = this.#owners.get(owner)!;
      const request = state.requests[state.held]!;
      if (!compatible(lock, request.mode)) break;
      lock.waiting.shift();
      take(lock, owner, request.mode);
      state.held++;
      this.#advance(owner, state, true);
    }
    if (lock.readers === 0 && lock.writer === -1 && lock.waiting.length === 0) this.#keys.delete(key);
  }
}

function compatible(lock: KeyState, mode: 'read' | 'write'): boolean {
  return lock.writer === -1 && (mode === 'read' || lock.readers === 0);
}

function take(lock: KeyState, owner: number, mode: 'read' | 'write'): void {
  if (mode === 'write') lock.writer = owner;
  else lock.readers++;
}
