import type { RunSnapshot, SchedulerEvent } from '@fanout/scheduler';
import { check } from './errors.js';
import { SustainedSignal, type SignalSpec } from './signal.js';
import { SlidingWindow } from './sliding-window.js';

/** The signals a monitor derives per kind from the runs it watches. */
export type KindSignalName = 'failureRate' | 'meanResponse' | 'contention';

/** A signal over a sliding window of attempts, with the cut it asks for. */
export interface RateSignalSpec extends SignalSpec {
  /** @default 10000 */
  windowMs?: number;
  /** Fewer attempts in the window than this say nothing. */
  minAttempts?: number;
  /** Factor the kind's limit is cut by when the signal turns on (0 < shrink ≤ 1). */
  shrink?: number;
}

/** When one pool counts as starving the others of the global cap. */
export interface ContentionSpec {
  /** @default 2000 */
  sustainMs?: number;
  /** @default 2000 */
  releaseMs?: number;
}

/** Thresholds of the per-kind signals; each merges over the defaults, `false` turns one off. */
export interface RunSignalOptions {
  /** @default { threshold: 0.1, release: 0.05, windowMs: 10000, minAttempts: 20, shrink: 0.9 } */
  failureRate?: Partial<RateSignalSpec> | false;
  /** Milliseconds. @default { threshold: 5000, release: 4000, windowMs: 10000, minAttempts: 3, shrink: 0.75 } */
  meanResponse?: Partial<RateSignalSpec> | false;
  /** @default { sustainMs: 2000, releaseMs: 2000 } */
  contention?: ContentionSpec | false;
}

/**
 * The defaults (the profiles' thresholds, profiles/src/profiles.ts): failure rate over 10 %, mean response over 5 s. The
 * sliding window already smooths them, so they need no sustained time of their own.
 */
export const DEFAULT_RUN_SIGNALS = {
  failureRate: { threshold: 0.1, release: 0.05, sustainMs: 0, releaseMs: 0, windowMs: 10_000, minAttempts: 20, shrink: 0.9 },
  meanResponse: { threshold: 5000, release: 4000, sustainMs: 0, releaseMs: 0, windowMs: 10_000, minAttempts: 3, shrink: 0.75 },
  contention: { sustainMs: 2000, releaseMs: 2000 },
} as const;

/** What a run must offer to be watched: its event stream and its snapshot. */
export interface WatchableRun {
  on(listener: (event: SchedulerEvent) => void): () => void;
  snapshot(): RunSnapshot;
}

/** Options of `Monitor.watch`. */
export interface WatchOptions {
  /** The run's global cap, for contention. @default 256 (the scheduler's default) */
  concurrency?: number;
}

/** A per-kind signal that turned on or off. */
export interface KindTransition {
  signal: KindSignalName;
  kind: string;
  active: boolean;
  value: number;
  reason: string;
  /** The cut it asks for, when it turned on. */
  shrink?: number;
}

interface KindState {
  window: SlidingWindow | undefined;
  failureRate: SustainedSignal | undefined;
  meanResponse: SustainedSignal | undefined;
  contention: SustainedSignal | undefined;
  /** Filled in during evaluation: how this kind contends right now. */
  contending: { shrink: number; detail: string } | undefined;
}

interface Watched {
  run: WatchableRun;
  concurrency: number;
  /** Start time of each attempt in flight, by operation id (bounded by what is in flight). */
  starts: Map<string, number>;
  off: () => void;
}

type ResolvedRate = Required<RateSignalSpec>;

/**
 * Failure rate and mean response per kind over a sliding window of the attempts of the
 * watched runs, and contention: a pool holding more than its share of a run's global cap
 * while another kind waits for a slot.
 */
export class RunSignals {
  readonly #failureRate: ResolvedRate | undefined;
  readonly #meanResponse: ResolvedRate | undefined;
  readonly #contention: Required<ContentionSpec> | undefined;
  readonly #now: () => number;
  readonly #kinds = new Map<string, KindState>();
  readonly #runs = new Set<Watched>();

  constructor(options: RunSignalOptions, now: () => number) {
    this.#now = now;
    this.#failureRate = resolveRate(options.failureRate, DEFAULT_RUN_SIGNALS.failureRate, 'runSignals.failureRate');
    this.#meanResponse = resolveRate(options.meanResponse, DEFAULT_RUN_SIGNALS.meanResponse, 'runSignals.meanResponse');
    this.#contention = options.contention === false ? undefined : { ...DEFAULT_RUN_SIGNALS.contention, ...options.contention };
  }

  /** Runs being watched. */
  get size(): number {
    return this.#runs.size;
  }

  watch(run: WatchableRun, options: WatchOptions = {}): () => void {
    const concurrency = options.concurrency ?? 256;
    check.integer(concurrency, 'concurrency', 1);
    const watched: Watched = { run, concurrency, starts: new Map(), off: () => {} };
    const unwatch = (): void => {
      if (!this.#runs.delete(watched)) return;
      watched.off();
    };
    watched.off = run.on((event) => {
      switch (event.type) {
        case 'op-started':
          watched.starts.set(event.id, this.#now());
          break;
        case 'op-retrying':
          this.#ended(watched, event.id, event.kind, true);
          break;
        case 'op-finished':
          this.#ended(watched, event.id, event.kind, event.state === 'failed' || event.state === 'timed-out');
          break;
        case 'run-finished':
          unwatch();
          break;
        default:
      }
    });
    this.#runs.add(watched);
    return unwatch;
  }

  /** Evaluates every kind's signals at `now`; returns those that flipped. */
  evaluate(now: number): KindTransition[] {
    for (const state of this.#kinds.values()) state.contending = undefined;
    if (this.#contention !== undefined) for (const watched of this.#runs) this.#findContention(watched);
    const transitions: KindTransition[] = [];
    for (const [kind, state] of this.#kinds) {
      const totals = state.window?.totals(now);
      if (state.failureRate !== undefined && totals !== undefined) {
        const enough = totals.attempts >= this.#failureRate!.minAttempts;
        const value = enough ? totals.failures / totals.attempts : undefined;
        if (state.failureRate.update(value, now)) {
          const spec = this.#failureRate!;
          const rate = percent(state.failureRate.value);
          transitions.push(
            state.failureRate.active
              ? { signal: 'failureRate', kind, active: true, value: state.failureRate.value, shrink: spec.shrink, reason: `${kind} failure rate ${rate} > ${percent(spec.threshold)} over ${seconds(spec.windowMs)}` }
              : {
                  signal: 'failureRate',
                  kind,
                  active: false,
                  value: state.failureRate.value,
                  reason: `${kind} failure rate ${Number.isNaN(state.failureRate.value) ? 'unknown' : rate} < ${percent(spec.release)} over ${seconds(spec.windowMs)}`,
                },
          );
        }
      }
      if (state.meanResponse !== undefined && totals !== undefined) {
        const enough = totals.attempts >= this.#meanResponse!.minAttempts;
        if (state.meanResponse.update(enough ? totals.latencyMs / totals.attempts : undefined, now)) {
          const spec = this.#meanResponse!;
          const mean = state.meanResponse.value;
          transitions.push(
            state.meanResponse.active
              ? { signal: 'meanResponse', kind, active: true, value: mean, shrink: spec.shrink, reason: `${kind} mean response ${seconds(mean)} > ${seconds(spec.threshold)} over ${seconds(spec.windowMs)}` }
              : { signal: 'meanResponse', kind, active: false, value: mean, reason: `${kind} mean response ${Number.isNaN(mean) ? 'unknown' : seconds(mean)} < ${seconds(spec.release)}` },
          );
        }
      }
      if (state.contention !== undefined) {
        const contending = state.contending;
        if (state.contention.update(contending === undefined ? 0 : 1, now)) {
          transitions.push(
            state.contention.active
              ? { signal: 'contention', kind, active: true, value: 1, shrink: contending!.shrink, reason: `contention: ${contending!.detail}` }
              : { signal: 'contention', kind, active: false, value: 0, reason: `contention over: ${kind} no longer starves other kinds` },
          );
        }
      }
    }
    return transitions;
  }

  /** Turns every kind's signals off, as if nothing had been seen (windows are kept). */
  reset(): void {
    for (const state of this.#kinds.values()) {
      state.failureRate?.reset();
      state.meanResponse?.reset();
      state.contention?.reset();
    }
  }

  /** Stops watching every run. */
  close(): void {
    for (const watched of [...this.#runs]) {
      this.#runs.delete(watched);
      watched.off();
    }
  }

  #ended(watched: Watched, id: string, kind: string, failed: boolean): void {
    const started = watched.starts.get(id);
    // An operation that never ran (skipped, cancelled while queued) says nothing about load.
    if (started === undefined) return;
    watched.starts.delete(id);
    const now = this.#now();
    this.#state(kind).window?.add(now, failed, now - started);
  }

  #findContention(watched: Watched): void {
    const kinds = Object.entries(watched.run.snapshot().kinds);
    let used = 0;
    let busy = 0;
    for (const [, k] of kinds) {
      used += k.inflight;
      if (k.inflight > 0 || k.queued > 0) busy++;
    }
    if (used < watched.concurrency || busy < 2) return;
    const waiting = kinds.filter(([, k]) => k.queued > 0 && k.admit && k.inflight < k.limit).map(([kind]) => kind);
    if (waiting.length === 0) return;
    const share = Math.max(1, Math.floor(watched.concurrency / busy));
    for (const [kind, k] of kinds) {
      if (k.inflight <= share) continue;
      const state = this.#state(kind);
      const shrink = Math.max(0.1, Math.min(0.99, share / k.inflight));
      const others = waiting.filter((w) => w !== kind);
      if (others.length === 0) continue;
      state.contending = { shrink, detail: `${kind} holds ${k.inflight} of ${watched.concurrency} slots while ${others.join(', ')} ${others.length === 1 ? 'waits' : 'wait'}` };
    }
  }

  #state(kind: string): KindState {
    let state = this.#kinds.get(kind);
    if (state === undefined) {
      const failureRate = this.#failureRate;
      const meanResponse = this.#meanResponse;
      const windowMs = Math.max(failureRate?.windowMs ?? 0, meanResponse?.windowMs ?? 0);
      state = {
        window: windowMs > 0 ? new SlidingWindow(windowMs) : undefined,
        failureRate: failureRate === undefined ? undefined : new SustainedSignal(failureRate, 'runSignals.failureRate'),
        meanResponse: meanResponse === undefined ? undefined : new SustainedSignal(meanResponse, 'runSignals.meanResponse'),
        contention: this.#contention === undefined ? undefined : new SustainedSignal({ threshold: 1, release: 1, ...this.#contention }, 'runSignals.contention'),
        contending: undefined,
      };
      this.#kinds.set(kind, state);
    }
    return state;
  }
}

function resolveRate(spec: Partial<RateSignalSpec> | false | undefined, defaults: Required<RateSignalSpec>, path: string): ResolvedRate | undefined {
  if (spec === false) return undefined;
  const merged = { ...defaults, ...spec };
  check.number(merged.shrink, `${path}.shrink`, 1, { above: 0, max: 1 });
  check.number(merged.windowMs, `${path}.windowMs`, 1, { above: 0 });
  check.number(merged.minAttempts, `${path}.minAttempts`, 1, { min: 1 });
  return merged;
}

/** 0.234 → "23%". */
export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** 2500 → "2.5 s", 10000 → "10 s". */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 || Number.isInteger(s) ? s.toFixed(0) : s.toFixed(1)} s`;
}
