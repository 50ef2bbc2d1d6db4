import { Histogram, type Clock, type Percentiles, type SchedulerEvent } from '@fanout/scheduler';
import { check } from './errors.js';
import type { Monitor, SignalState } from './monitor.js';
import { Exposition } from './prometheus.js';
import type { WatchableRun } from './run-signals.js';
import type { ResourceSample } from './sample.js';
import { TimeSeries, type SeriesPoint } from './time-series.js';

/** Options of {@link MetricsRecorder}. */
export interface MetricsOptions {
  /** Adds the monitor's resource utilisation and signals to snapshots and the exposition. */
  monitor?: Monitor;
  /** Time of the series. @default performance.now() */
  clock?: Pick<Clock, 'now'>;
  /**
   * At most one series point per this many milliseconds while nothing but operations start and
   * end; a limit or pressure change always adds one.
   * @default 100
   */
  resolutionMs?: number;
  /** Points kept per kind (the oldest go first). @default 10000 */
  maxPoints?: number;
}

/** The counters of one kind, over every attached run. */
export interface KindCounters {
  /** Attempts started. */
  started: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  skipped: number;
  /** Attempts that failed and were retried. */
  retried: number;
}

/** Figures of one kind. Gauges are summed over the attached runs that are still going. */
export interface KindMetrics extends KindCounters {
  /** Attempts running now. */
  inflight: number;
  /** Operations waiting for a slot. */
  queued: number;
  /** The effective concurrency limit (the last run's, once every run has finished). */
  limit: number;
  /** False while pressure pauses the kind. */
  admit: boolean;
  /** Latency of attempts (every attempt, retried ones included), in milliseconds. */
  latency: Percentiles;
}

/** A JSON view of everything recorded. */
export interface MetricsSnapshot {
  /** Milliseconds since the recorder was created. */
  time: number;
  kinds: Record<string, KindMetrics>;
  /** The monitor's last sample, when a monitor was given. */
  resources?: ResourceSample;
  /** The monitor's signals, when a monitor was given. */
  signals?: SignalState[];
}

interface KindRecord extends KindCounters {
  latency: Histogram;
  /** Last limit seen, for when no run of the kind is going. */
  limit: number;
  series: TimeSeries;
}

interface Attached {
  run: WatchableRun;
  /** Run time at which each attempt in flight started, by operation id. */
  starts: Map<string, number>;
  off: () => void;
}

const STATES = ['succeeded', 'failed', 'timed-out', 'cancelled', 'skipped'] as const;

/**
 * Metrics of fanout runs, built from their event streams: per kind, counters (started,
 * succeeded, failed, retried…), gauges (in flight, limit, queue depth) and an HDR-style
 * latency histogram of attempts (the scheduler's `Histogram`), plus a time series of limit and
 * in flight that a CLI or a trace can draw. Rendered as Prometheus text or a JSON snapshot,
 * with the monitor's resource utilisation when it is given one.
 *
 * @example
 * const metrics = new MetricsRecorder({ monitor });
 * const run = scheduler.run(plan);
 * metrics.attach(run);
 * await run.result;
 * console.log(metrics.prometheus());
 */
export class MetricsRecorder {
  readonly #monitor: Monitor | undefined;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #t0: number;
  readonly #resolutionMs: number;
  readonly #maxPoints: number;
  readonly #kinds = new Map<string, KindRecord>();
  readonly #live = new Set<Attached>();
  /**
   * When the series last got a point. One clock for every run: the series sum them, and a
   * clock per run let each new run add a point (a pass over every live run's snapshot) with
   * its first event, which at a hundred short runs at once was most of what recording cost.
   */
  #lastPoint = -Infinity;

  constructor(options: MetricsOptions = {}) {
    const resolutionMs = options.resolutionMs ?? 100;
    const maxPoints = options.maxPoints ?? 10_000;
    check.number(resolutionMs, 'resolutionMs', 0, { min: 0, unit: 'milliseconds' });
    check.integer(maxPoints, 'maxPoints', 1);
    this.#monitor = options.monitor;
    this.#clock = options.clock ?? performance;
    this.#t0 = this.#clock.now();
    this.#resolutionMs = resolutionMs;
    this.#maxPoints = maxPoints;
  }

  /** Records a run until it finishes. Returns a function that stops recording it earlier. */
  attach(run: WatchableRun): () => void {
    const attached: Attached = { run, starts: new Map(), off: () => {} };
    const detach = (): void => {
      if (!this.#live.delete(attached)) return;
      attached.off();
    };
    attached.off = run.on((event) => this.#onEvent(attached, event, detach));
    this.#live.add(attached);
    for (const [kind, k] of Object.entries(run.snapshot().kinds)) this.#kind(kind).limit = k.limit;
    return detach;
  }

  /** Counters, gauges and latency percentiles per kind, and the monitor's view. */
  snapshot(): MetricsSnapshot {
    const gauges = this.#gauges();
    const kinds: Record<string, KindMetrics> = {};
    for (const [kind, record] of this.#kinds) {
      const g = gauges.get(kind);
      kinds[kind] = {
        inflight: g?.inflight ?? 0,
        queued: g?.queued ?? 0,
        limit: g?.limit ?? record.limit,
        admit: g?.admit ?? true,
        started: record.started,
        succeeded: record.succeeded,
        failed: record.failed,
        timedOut: record.timedOut,
        cancelled: record.cancelled,
        skipped: record.skipped,
        retried: record.retried,
        latency: record.latency.percentiles(),
      };
    }
    const snapshot: MetricsSnapshot = { time: this.#clock.now() - this.#t0, kinds };
    const latest = this.#monitor?.latest;
    if (latest !== undefined) snapshot.resources = latest;
    if (this.#monitor !== undefined) snapshot.signals = this.#monitor.signals();
    return snapshot;
  }

  /** The series of limit, in flight and queue depth per kind, oldest point first. */
  series(): Record<string, SeriesPoint[]> {
    const out: Record<string, SeriesPoint[]> = {};
    for (const [kind, record] of this.#kinds) out[kind] = record.series.toArray();
    return out;
  }

  /** The snapshot and the series, for `JSON.stringify`. */
  toJSON(): MetricsSnapshot & { series: Record<string, SeriesPoint[]> } {
    return { ...this.snapshot(), series: this.series() };
  }

  /** Everything, in the Prometheus text exposition format. */
  prometheus(): string {
    const snapshot = this.snapshot();
    const out = new Exposition();
    const kinds = Object.entries(snapshot.kinds);
    const gauge = (name: string, help: string, value: (k: KindMetrics) => number): void => {
      out.family(name, 'gauge', help);
      for (const [kind, k] of kinds) out.sample(name, { kind }, value(k));
    };
    gauge('fanout_inflight', 'Attempts running now, per kind.', (k) => k.inflight);
    gauge('fanout_queued', 'Operations waiting for a slot, per kind.', (k) => k.queued);
    gauge('fanout_limit', 'Effective concurrency limit, per kind.', (k) => k.limit);
    gauge('fanout_admitted', '1 while the kind is admitted, 0 while pressure pauses it.', (k) => (k.admit ? 1 : 0));
    out.family('fanout_attempts_started_total', 'counter', 'Attempts started, per kind.');
    for (const [kind, k] of kinds) out.sample('fanout_attempts_started_total', { kind }, k.started);
    out.family('fanout_retries_total', 'counter', 'Failed attempts that were retried, per kind.');
    for (const [kind, k] of kinds) out.sample('fanout_retries_total', { kind }, k.retried);
    out.family('fanout_operations_total', 'counter', 'Operations that ended, per kind and terminal state.');
    for (const [kind, k] of kinds) {
      const counts = [k.succeeded, k.failed, k.timedOut, k.cancelled, k.skipped];
      STATES.forEach((state, i) => {
        out.sample('fanout_operations_total', { kind, state }, counts[i]!);
      });
    }
    out.family('fanout_attempt_duration_seconds', 'summary', 'Latency of attempts, per kind (HDR-style histogram, ≤ 1.6% error).');
    for (const [kind, k] of kinds) {
      for (const [q, v] of [
        ['0.5', k.latency.p50],
        ['0.95', k.latency.p95],
        ['0.99', k.latency.p99],
      ] as const) {
        out.sample('fanout_attempt_duration_seconds', { kind, quantile: q }, v / 1000);
      }
      out.sample('fanout_attempt_duration_seconds_sum', { kind }, (k.latency.mean * k.latency.count) / 1000);
      out.sample('fanout_attempt_duration_seconds_count', { kind }, k.latency.count);
    }
    gauge('fanout_attempt_duration_max_seconds', 'Longest attempt, per kind.', (k) => k.latency.max / 1000);
    if (this.#monitor !== undefined) this.#resources(out, snapshot);
    return out.toString();
  }

  #resources(out: Exposition, snapshot: MetricsSnapshot): void {
    const sample = snapshot.resources;
    if (sample !== undefined) {
      const { cpu, memory, disk, network, eventLoop, pressureStall } = sample;
      if (cpu !== undefined) {
        out.family('fanout_cpu_utilisation', 'gauge', 'CPU in use as a share of the cores available (system, cgroup quota, this process).');
        out.sample('fanout_cpu_utilisation', { scope: 'system' }, cpu.system);
        if (cpu.cgroup !== undefined) out.sample('fanout_cpu_utilisation', { scope: 'cgroup' }, cpu.cgroup.utilisation);
        out.sample('fanout_cpu_utilisation', { scope: 'process' }, cpu.process);
        out.family('fanout_cpu_cores', 'gauge', 'Cores this process can use (fewer under a cgroup cpu.max quota).');
        out.sample('fanout_cpu_cores', {}, cpu.cores);
      }
      if (memory !== undefined) {
        out.family('fanout_memory_utilisation', 'gauge', 'Memory in use as a share of the binding limit (machine or cgroup memory.max).');
        out.sample('fanout_memory_utilisation', {}, memory.utilisation);
        out.family('fanout_memory_bytes', 'gauge', 'Memory: the binding limit, what is used against it, and this process’s RSS.');
        out.sample('fanout_memory_bytes', { type: 'limit' }, memory.limitBytes);
        out.sample('fanout_memory_bytes', { type: 'used' }, memory.usedBytes);
        out.sample('fanout_memory_bytes', { type: 'rss' }, memory.processRssBytes);
      }
      if (disk !== undefined) {
        out.family('fanout_disk_utilisation', 'gauge', 'Share of time the busiest block device had I/O in flight.');
        out.sample('fanout_disk_utilisation', {}, disk.utilisation);
        out.family('fanout_disk_bytes_per_second', 'gauge', 'Block device throughput.');
        out.sample('fanout_disk_bytes_per_second', { direction: 'read' }, disk.readBytesPerSecond);
        out.sample('fanout_disk_bytes_per_second', { direction: 'write' }, disk.writeBytesPerSecond);
      }
      if (network !== undefined) {
        out.family('fanout_network_bytes_per_second', 'gauge', 'Network throughput (loopback excluded).');
        out.sample('fanout_network_bytes_per_second', { direction: 'receive' }, network.receiveBytesPerSecond);
        out.sample('fanout_network_bytes_per_second', { direction: 'transmit' }, network.transmitBytesPerSecond);
        if (network.utilisation !== undefined) {
          out.family('fanout_network_utilisation', 'gauge', 'Busier direction of the network as a share of the configured capacity.');
          out.sample('fanout_network_utilisation', {}, network.utilisation);
        }
      }
      if (eventLoop !== undefined) {
        out.family('fanout_event_loop_delay_seconds', 'gauge', 'Event-loop delay over the last interval.');
        out.sample('fanout_event_loop_delay_seconds', { stat: 'p50' }, eventLoop.delayP50Ms / 1000);
        out.sample('fanout_event_loop_delay_seconds', { stat: 'p99' }, eventLoop.delayP99Ms / 1000);
        out.sample('fanout_event_loop_delay_seconds', { stat: 'max' }, eventLoop.delayMaxMs / 1000);
        out.family('fanout_event_loop_utilisation', 'gauge', 'Share of the last interval the event loop spent working.');
        out.sample('fanout_event_loop_utilisation', {}, eventLoop.utilisation);
      }
      if (pressureStall !== undefined) {
        out.family('fanout_pressure_stall_ratio', 'gauge', 'Pressure stall information: share of time tasks were stalled.');
        for (const resource of ['cpu', 'memory', 'io'] as const) {
          const file = pressureStall[resource];
          if (file === undefined) continue;
          for (const type of ['some', 'full'] as const) {
            const line = file[type];
            if (line === undefined) continue;
            out.sample('fanout_pressure_stall_ratio', { resource, type, window: '10s' }, line.avg10);
            out.sample('fanout_pressure_stall_ratio', { resource, type, window: '60s' }, line.avg60);
            out.sample('fanout_pressure_stall_ratio', { resource, type, window: '300s' }, line.avg300);
          }
        }
      }
      out.family('fanout_monitor_sample_seconds', 'gauge', 'Wall time the last sampling pass took.');
      out.sample('fanout_monitor_sample_seconds', {}, sample.durationMs / 1000);
      out.family('fanout_monitor_missing', 'gauge', '1 for each source the monitor cannot measure here.');
      for (const missing of new Set(sample.missing.map((m) => m.source))) out.sample('fanout_monitor_missing', { source: missing }, 1);
    }
    out.family('fanout_signal_active', 'gauge', '1 while a pressure signal is on.');
    for (const state of snapshot.signals ?? []) {
      const labels: Record<string, string> = { signal: state.signal };
      if (state.class !== undefined) labels.class = state.class;
      if (state.kind !== undefined) labels.kind = state.kind;
      out.sample('fanout_signal_active', labels, state.active ? 1 : 0);
    }
  }

  #onEvent(attached: Attached, event: SchedulerEvent, detach: () => void): void {
    switch (event.type) {
      case 'op-started':
        this.#kind(event.kind).started++;
        attached.starts.set(event.id, event.time);
        break;
      case 'op-retrying': {
        const record = this.#kind(event.kind);
        record.retried++;
        this.#attemptEnded(attached, record, event.id, event.time);
        break;
      }
      case 'op-finished': {
        const record = this.#kind(event.kind);
        this.#attemptEnded(attached, record, event.id, event.time);
        if (event.state === 'succeeded') record.succeeded++;
        else if (event.state === 'failed') record.failed++;
        else if (event.state === 'timed-out') record.timedOut++;
        else if (event.state === 'cancelled') record.cancelled++;
        else record.skipped++;
        break;
      }
      case 'limit-changed':
        this.#kind(event.kind).limit = event.to;
        this.#point(true);
        return;
      case 'pressure-changed':
        this.#point(true);
        return;
      case 'run-finished':
        // The last run's end always shows (the series then holds still); others' within the resolution.
        this.#point(this.#live.size === 1);
        detach();
        return;
      default:
    }
    this.#point(false);
  }

  #attemptEnded(attached: Attached, record: KindRecord, id: string, time: number): void {
    const started = attached.starts.get(id);
    if (started === undefined) return;
    attached.starts.delete(id);
    record.latency.record(time - started);
  }

  /** Adds a point to every kind's series, at most one per resolution unless `force`. */
  #point(force: boolean): void {
    const now = this.#clock.now() - this.#t0;
    if (!force && now - this.#lastPoint < this.#resolutionMs) return;
    this.#lastPoint = now;
    for (const [kind, g] of this.#gauges()) {
      const record = this.#kind(kind);
      const last = record.series.last;
      if (last !== undefined && last.limit === g.limit && last.inflight === g.inflight && last.queued === g.queued) continue;
      record.series.push({ time: now, limit: g.limit, inflight: g.inflight, queued: g.queued });
    }
  }

  /** In flight, queued and limits summed over the runs still going. */
  #gauges(): Map<string, { inflight: number; queued: number; limit: number; admit: boolean }> {
    const gauges = new Map<string, { inflight: number; queued: number; limit: number; admit: boolean }>();
    for (const attached of this.#live) {
      for (const [kind, k] of Object.entries(attached.run.snapshot().kinds)) {
        const g = gauges.get(kind);
        if (g === undefined) gauges.set(kind, { inflight: k.inflight, queued: k.queued, limit: k.limit, admit: k.admit });
        else {
          g.inflight += k.inflight;
          g.queued += k.queued;
          g.limit += k.limit;
          g.admit &&= k.admit;
        }
      }
    }
    return gauges;
  }

  #kind(kind: string): KindRecord {
    let record = this.#kinds.get(kind);
    if (record === undefined) {
      record = { started: 0, succeeded: 0, failed: 0, timedOut: 0, cancelled: 0, skipped: 0, retried: 0, latency: new Histogram(), limit: 0, series: new TimeSeries(this.#maxPoints) };
      this.#kinds.set(kind, record);
    }
    return record;
  }
}
