/**
 * A run's timeline, recorded from its events: attempts as slices on lanes, limits, in flight,
 * pressure and the machine, for the HTML report, the server's dashboard and Chrome traces.
 */
import type { Run, SchedulerEvent, TerminalState } from '@fanout/scheduler';

/** One attempt of one operation, as drawn on a timeline. */
export interface Slice {
  id: string;
  kind: string;
  attempt: number;
  /** Milliseconds since the run started. */
  start: number;
  end: number;
  /** How the attempt ended: the operation's state, or `retried`. */
  outcome: TerminalState | 'retried';
  /** Lane within its kind: attempts that overlap get different lanes. */
  lane: number;
}

/** A point of a step series (a limit, the number in flight). */
export interface Point {
  time: number;
  value: number;
}

/** Everything a trace or a report draws, recorded from a run's events. */
export interface Timeline {
  kinds: string[];
  slices: Slice[];
  limits: Record<string, Point[]>;
  inflight: Record<string, Point[]>;
  pressure: { time: number; kind: string; admit: boolean; reason: string | undefined }[];
  /** The machine while the run went (shares 0–1; the event loop's p99 delay in ms). */
  resources: ResourcePoint[];
  wallMs: number;
}

/** One sample of the machine, on the run's time axis. */
export interface ResourcePoint {
  time: number;
  cpu?: number | undefined;
  memory?: number | undefined;
  disk?: number | undefined;
  eventLoopP99Ms?: number | undefined;
}

/** Records a run's attempts as slices on lanes, plus limit, in-flight and pressure series. */
export class TimelineRecorder {
  readonly #open = new Map<string, { kind: string; attempt: number; start: number; lane: number }>();
  readonly #slices: Slice[] = [];
  readonly #limits: Record<string, Point[]> = {};
  readonly #inflight: Record<string, Point[]> = {};
  readonly #busyLanes = new Map<string, boolean[]>();
  readonly #pressure: Timeline['pressure'] = [];
  readonly #resources: ResourcePoint[] = [];
  #wallMs = 0;

  /** Records `run`'s events as they come; without one, feed events to {@link record} (a stored stream replayed). */
  constructor(run?: Pick<Run, 'on'>) {
    run?.on((event) => this.#onEvent(event));
  }

  /** Records one event (of a stream kept elsewhere, in order). */
  record(event: SchedulerEvent): void {
    this.#onEvent(event);
  }

  #lane(kind: string): number {
    let lanes = this.#busyLanes.get(kind);
    if (lanes === undefined) this.#busyLanes.set(kind, (lanes = []));
    let lane = lanes.indexOf(false);
    if (lane < 0) lane = lanes.push(false) - 1;
    lanes[lane] = true;
    return lane;
  }

  #step(series: Record<string, Point[]>, kind: string, time: number, value: number): void {
    const points = (series[kind] ??= []);
    const last = points.at(-1);
    if (last !== undefined && last.time === time) last.value = value;
    else if (last === undefined || last.value !== value) points.push({ time, value });
  }

  #close(id: string, time: number, outcome: Slice['outcome']): void {
    const open = this.#open.get(id);
    if (open === undefined) return;
    this.#open.delete(id);
    this.#busyLanes.get(open.kind)![open.lane] = false;
    this.#slices.push({ id, kind: open.kind, attempt: open.attempt, start: open.start, end: time, outcome, lane: open.lane });
    const inflight = (this.#inflight[open.kind]?.at(-1)?.value ?? 1) - 1;
    this.#step(this.#inflight, open.kind, time, inflight);
  }

  #onEvent(event: SchedulerEvent): void {
    switch (event.type) {
      case 'op-started':
        this.#open.set(event.id, { kind: event.kind, attempt: event.attempt, start: event.time, lane: this.#lane(event.kind) });
        this.#step(this.#inflight, event.kind, event.time, event.inflight);
        if (this.#limits[event.kind] === undefined) this.#step(this.#limits, event.kind, 0, event.limit);
        break;
      case 'op-retrying':
        this.#close(event.id, event.time, 'retried');
        break;
      case 'op-finished':
        this.#close(event.id, event.time, event.state);
        break;
      case 'limit-changed':
        this.#step(this.#limits, event.kind, event.time, event.to);
        break;
      case 'pressure-changed':
        this.#pressure.push({ time: event.time, kind: event.kind, admit: event.admit, reason: event.reason });
        break;
      case 'run-finished':
        this.#wallMs = event.summary.wallMs;
        for (const kind of Object.keys(event.summary.byKind)) {
          if (this.#limits[kind] === undefined) this.#step(this.#limits, kind, 0, event.summary.byKind[kind]!.limit.initial);
        }
        break;
      default:
    }
  }

  /** Adds a sample of the machine (its time already on the run's axis). */
  resource(point: ResourcePoint): void {
    this.#resources.push(point);
  }

  timeline(): Timeline {
    const kinds = [...new Set([...Object.keys(this.#limits), ...this.#slices.map((s) => s.kind)])];
    return { kinds, slices: this.#slices, limits: this.#limits, inflight: this.#inflight, pressure: this.#pressure, resources: this.#resources, wallMs: this.#wallMs };
  }
}

/**
 * The timeline in Chrome's trace-event format (it opens in Perfetto and chrome://tracing):
 * a process for the run, a thread per lane of each kind's pool ("grep · 3"), each attempt a
 * complete ("X") slice on its lane, and the limit and the number in flight of each kind as
 * counters ("C"), and the machine's CPU, memory and disk use as counters of their own. Times in
 * microseconds.
 */
export function toChromeTrace(timeline: Timeline, name = 'fanout run'): { traceEvents: Record<string, unknown>[]; displayTimeUnit: 'ms' } {
  const events: Record<string, unknown>[] = [{ name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name } }];
  const tids = new Map<string, number>();
  const tidOf = (kind: string, lane: number): number => {
    const key = `${kind}\u0000${lane}`;
    let tid = tids.get(key);
    if (tid === undefined) {
      tid = (timeline.kinds.indexOf(kind) + 1) * 1000 + lane;
      tids.set(key, tid);
      events.push({ name: 'thread_name', ph: 'M', pid: 1, tid, args: { name: `${kind} · ${lane + 1}` } });
      events.push({ name: 'thread_sort_index', ph: 'M', pid: 1, tid, args: { sort_index: tid } });
    }
    return tid;
  };
  for (const slice of timeline.slices) {
    events.push({
      name: slice.id,
      cat: slice.kind,
      ph: 'X',
      pid: 1,
      tid: tidOf(slice.kind, slice.lane),
      ts: Math.round(slice.start * 1000),
      dur: Math.max(1, Math.round((slice.end - slice.start) * 1000)),
      args: { attempt: slice.attempt, outcome: slice.outcome },
    });
  }
  for (const kind of timeline.kinds) {
    for (const point of timeline.limits[kind] ?? []) events.push({ name: `${kind} limit`, ph: 'C', pid: 1, tid: 0, ts: Math.round(point.time * 1000), args: { limit: point.value } });
    for (const point of timeline.inflight[kind] ?? []) events.push({ name: `${kind} in flight`, ph: 'C', pid: 1, tid: 0, ts: Math.round(point.time * 1000), args: { inflight: point.value } });
  }
  for (const point of timeline.resources) {
    const ts = Math.round(Math.max(0, point.time) * 1000);
    const shares: Record<string, number> = {};
    for (const key of ['cpu', 'memory', 'disk'] as const) if (point[key] !== undefined) shares[key] = Math.round(point[key]! * 1000) / 10;
    if (Object.keys(shares).length > 0) events.push({ name: 'machine %', ph: 'C', pid: 1, tid: 0, ts, args: shares });
    if (point.eventLoopP99Ms !== undefined) events.push({ name: 'event loop p99 ms', ph: 'C', pid: 1, tid: 0, ts, args: { p99: Math.round(point.eventLoopP99Ms * 100) / 100 } });
  }
  return { traceEvents: events, displayTimeUnit: 'ms' };
}
