import type { Clock, PressureReading, PressureSource, TimerHandle } from '@fanout/scheduler';
import { KindClasses, RESOURCE_CLASSES, type ResourceClass } from './classes.js';
import { unrefClock } from './clock.js';
import { check } from './errors.js';
import { RunSignals, percent, seconds, type KindSignalName, type RunSignalOptions, type WatchableRun, type WatchOptions } from './run-signals.js';
import type { ResourceSample } from './sample.js';
import { ResourceSampler, type SamplerOptions } from './sampler.js';
import { SustainedSignal, type SignalSpec } from './signal.js';

/** The machine signals a monitor watches. `eventLoop` is the p99 delay, in milliseconds. */
export type MachineSignalName = 'cpu' | 'memory' | 'network' | 'disk' | 'eventLoop';

/** Every machine signal, in a fixed order. */
export const MACHINE_SIGNALS: readonly MachineSignalName[] = ['cpu', 'memory', 'network', 'disk', 'eventLoop'];

/**
 * The class each machine signal puts under pressure. A delayed event loop counts against the
 * CPU class: on a small machine it is most often CPU-heavy work starving the main thread.
 */
export const SIGNAL_CLASS: Readonly<Record<MachineSignalName, ResourceClass>> = { cpu: 'cpu', memory: 'memory', network: 'network', disk: 'disk', eventLoop: 'cpu' };

/**
 * The design's thresholds ("Adaptive concurrency and resources"): CPU 90 % sustained, memory
 * 85 %, network 80 % of capacity, disk 75 % busy; each with a lower release level so it does
 * not flap. The event loop's is the p99 delay of an interval, in milliseconds.
 */
export const DEFAULT_SIGNALS: Readonly<Record<MachineSignalName, Required<SignalSpec>>> = {
  cpu: { threshold: 0.9, sustainMs: 3000, release: 0.8, releaseMs: 3000 },
  memory: { threshold: 0.85, sustainMs: 0, release: 0.8, releaseMs: 2000 },
  network: { threshold: 0.8, sustainMs: 2000, release: 0.7, releaseMs: 2000 },
  disk: { threshold: 0.75, sustainMs: 2000, release: 0.65, releaseMs: 2000 },
  eventLoop: { threshold: 50, sustainMs: 2000, release: 20, releaseMs: 2000 },
};

/** What the monitor needs of a sampler: a {@link ResourceSampler}, or a scripted one. */
export type Sampler = Pick<ResourceSampler, 'start' | 'stop' | 'sample'>;

/** Options of {@link Monitor}. */
export interface MonitorOptions extends SamplerOptions {
  /** Time between samples. @default 1000 */
  intervalMs?: number;
  /** Time and timers. @default the real clock, with timers that never keep the process alive */
  clock?: Clock;
  /** Samples with this sampler instead of one built from these options (tests script one). */
  sampler?: Sampler;
  /** Thresholds per machine signal, merged over {@link DEFAULT_SIGNALS}; `false` turns one off. */
  signals?: Partial<Record<MachineSignalName, Partial<SignalSpec> | false>>;
  /** Cut applied to a class's kinds when it comes under pressure. @default 0.5 for each class */
  shrink?: Partial<Record<ResourceClass, number>>;
  /**
   * Resource classes of kinds, over {@link DEFAULT_KIND_CLASSES} (memory is always added).
   * @example { "ocr": ["cpu"], "s3-get": ["network"] }
   */
  classes?: Readonly<Record<string, readonly ResourceClass[]>>;
  /** Per-kind signals from watched runs: failure rate, mean response, contention. */
  runSignals?: RunSignalOptions;
}

/** A signal turned on or off, with the reason a user is shown. */
export interface SignalChangedEvent {
  type: 'pressure-changed';
  signal: MachineSignalName | KindSignalName;
  /** The class a machine signal acts on. */
  class?: ResourceClass;
  /** The kind a run signal acts on. */
  kind?: string;
  active: boolean;
  value: number;
  reason: string;
  /** Clock time of the sample that flipped it. */
  time: number;
}

/** A sampling pass ended. */
export interface SampleEvent {
  type: 'sample';
  sample: ResourceSample;
}

/** What a monitor tells its listeners. */
export type MonitorEvent = SignalChangedEvent | SampleEvent;

/** The state of one signal, for displays and metrics. */
export interface SignalState {
  signal: MachineSignalName | KindSignalName;
  class?: ResourceClass;
  kind?: string;
  active: boolean;
  /** The last value (NaN when it is missing). */
  value: number;
  threshold: number;
  reason: string | undefined;
}

interface Condition {
  /** False for kind signals: they cut the limit but let work in. */
  pauses: boolean;
  shrink: number | undefined;
  reason: string;
}

/**
 * Watches the machine and the runs it is given, and tells the scheduler which kinds to pause
 * and shrink: a {@link PressureSource}. Each machine signal (CPU, memory, network, disk, event
 * loop) has a sustained threshold with hysteresis; a signal that turns on puts its resource
 * class under pressure, which pauses the kinds of that class only and cuts their limits once;
 * when it turns off they are admitted again and their limiters grow them back. Watched runs
 * add per-kind signals: failure rate, mean response and contention for the global cap.
 *
 * Sampling starts with `start()`, or by itself while a scheduler is subscribed; its timers
 * never keep the process alive.
 *
 * @example
 * const monitor = createMonitor({ networkCapacity: 125_000_000 });
 * const scheduler = createScheduler({ adapters, pressure: monitor });
 * const run = scheduler.run(plan);
 * monitor.watch(run);
 * monitor.on((event) => event.type === 'pressure-changed' && console.log(event.reason));
 */
export class Monitor implements PressureSource {
  /** What takes the samples. */
  readonly sampler: Sampler;
  /** Time between samples, in milliseconds. */
  readonly intervalMs: number;
  readonly #clock: Clock;
  readonly #signals = new Map<MachineSignalName, SustainedSignal>();
  readonly #signalReasons = new Map<MachineSignalName, string>();
  readonly #shrink: Record<ResourceClass, number>;
  readonly #classes: KindClasses;
  readonly #runSignals: RunSignals;
  /** Conditions on now: `class:cpu` or `kind:<kind>:<signal>`. */
  readonly #conditions = new Map<string, Condition>();
  readonly #readings = new Map<string, PressureReading>();
  readonly #subscribers = new Set<() => void>();
  readonly #listeners = new Set<(event: MonitorEvent) => void>();
  #timer: TimerHandle | undefined;
  #started = false;
  #latest: ResourceSample | undefined;

  constructor(options: MonitorOptions = {}) {
    const intervalMs = options.intervalMs ?? 1000;
    if (!(intervalMs >= 10 && Number.isFinite(intervalMs))) check.invalid('intervalMs', 'a number of milliseconds ≥ 10', intervalMs);
    this.intervalMs = intervalMs;
    this.#clock = options.clock ?? unrefClock;
    this.sampler = options.sampler ?? new ResourceSampler({ ...options, clock: this.#clock });
    for (const name of MACHINE_SIGNALS) {
      const spec = options.signals?.[name];
      if (spec === false) continue;
      this.#signals.set(name, new SustainedSignal({ ...DEFAULT_SIGNALS[name], ...spec }, `signals.${name}`));
    }
    const shrink = {} as Record<ResourceClass, number>;
    for (const c of RESOURCE_CLASSES) {
      const factor = options.shrink?.[c] ?? 0.5;
      if (!(factor > 0 && factor <= 1)) check.invalid(`shrink.${c}`, 'a factor in (0, 1]', factor);
      shrink[c] = factor;
    }
    this.#shrink = shrink;
    this.#classes = new KindClasses(options.classes);
    this.#runSignals = new RunSignals(options.runSignals ?? {}, () => this.#clock.now());
  }

  /** The last sample taken, if any. */
  get latest(): ResourceSample | undefined {
    return this.#latest;
  }

  /** True while sampling. */
  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts sampling every `intervalMs` (it keeps going until `stop()`). */
  start(): this {
    this.#started = true;
    this.#resume();
    return this;
  }

  /**
   * Stops sampling and watching runs, and lets everything go: a monitor that no longer
   * measures must not keep work paused. `start()` (or a new subscriber) resumes.
   */
  stop(): void {
    this.#started = false;
    this.#runSignals.close();
    this.#quiesce();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /** The resource classes a kind belongs to (memory always among them). */
  classesOf(kind: string): readonly ResourceClass[] {
    return this.#classes.of(kind);
  }

  /** What the scheduler should do with `kind` now (part of {@link PressureSource}). */
  read(kind: string): PressureReading {
    let reading = this.#readings.get(kind);
    if (reading === undefined) {
      // A pool that appears under pressure is cut by everything that is on.
      reading = this.#readingOf(kind, () => true);
      this.#readings.set(kind, reading);
    }
    return reading;
  }

  /**
   * Calls `onChange` whenever a reading may have changed (part of {@link PressureSource}).
   * Sampling runs while anyone is subscribed, even without `start()`.
   */
  subscribe(onChange: () => void): () => void {
    this.#subscribers.add(onChange);
    this.#resume();
    return () => {
      this.#subscribers.delete(onChange);
      if (this.#subscribers.size === 0 && !this.#started) this.#quiesce();
    };
  }

  /** Calls `listener` for every {@link MonitorEvent}. Returns an unsubscribe function. */
  on(listener: (event: MonitorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Derives failure rate, mean response and contention per kind from a run's events until it
   * finishes. Returns a function that stops watching it earlier.
   */
  watch(run: WatchableRun, options?: WatchOptions): () => void {
    return this.#runSignals.watch(run, options);
  }

  /** Every machine signal's state, then each kind's active signals. */
  signals(): SignalState[] {
    const states: SignalState[] = [];
    for (const [name, signal] of this.#signals) {
      states.push({ signal: name, class: SIGNAL_CLASS[name], active: signal.active, value: signal.value, threshold: signal.threshold, reason: this.#signalReasons.get(name) });
    }
    for (const [key, condition] of this.#conditions) {
      if (!key.startsWith('kind:')) continue;
      const [, kind, signal] = key.split(':') as [string, string, KindSignalName];
      states.push({ signal, kind, active: true, value: NaN, threshold: NaN, reason: condition.reason });
    }
    return states;
  }

  /** Samples and evaluates once, now (what the timer does every `intervalMs`). */
  tick(): ResourceSample {
    const sample = this.sampler.sample();
    this.#latest = sample;
    const now = sample.time;
    const activated = new Set<string>();
    let changed = false;
    const events: MonitorEvent[] = [];

    const classChanged = new Set<ResourceClass>();
    for (const [name, signal] of this.#signals) {
      if (!signal.update(signalValue(name, sample), now)) continue;
      const reason = describe(name, signal);
      this.#signalReasons.set(name, reason);
      const resourceClass = SIGNAL_CLASS[name];
      classChanged.add(resourceClass);
      events.push({ type: 'pressure-changed', signal: name, class: resourceClass, active: signal.active, value: signal.value, reason, time: now });
    }
    for (const resourceClass of classChanged) {
      const key = `class:${resourceClass}`;
      const reasons = [...this.#signals].filter(([name, s]) => s.active && SIGNAL_CLASS[name] === resourceClass).map(([name]) => this.#signalReasons.get(name)!);
      const was = this.#conditions.get(key);
      if (reasons.length === 0) {
        if (was !== undefined) {
          this.#conditions.delete(key);
          changed = true;
        }
      } else {
        const shrink = this.#shrink[resourceClass];
        this.#conditions.set(key, { pauses: true, shrink: shrink < 1 ? shrink : undefined, reason: reasons.join('; ') });
        if (was === undefined) activated.add(key);
        changed = true;
      }
    }

    for (const transition of this.#runSignals.evaluate(now)) {
      const key = `kind:${transition.kind}:${transition.signal}`;
      if (transition.active) {
        this.#conditions.set(key, { pauses: false, shrink: transition.shrink !== undefined && transition.shrink < 1 ? transition.shrink : undefined, reason: transition.reason });
        activated.add(key);
      } else {
        this.#conditions.delete(key);
      }
      changed = true;
      events.push({ type: 'pressure-changed', signal: transition.signal, kind: transition.kind, active: transition.active, value: transition.value, reason: transition.reason, time: now });
    }

    if (changed) this.#refresh(activated);
    for (const event of events) this.#emit(event);
    this.#emit({ type: 'sample', sample });
    return sample;
  }

  /**
   * Recomputes the readings of the kinds read so far and tells subscribers if any changed.
   * Readings are fixed at a change, not at each read: the scheduler cuts a limit once per
   * change of reading, so a cut belongs only to the reading right after an activation.
   */
  #refresh(activated: ReadonlySet<string>): void {
    let any = false;
    for (const [kind, before] of this.#readings) {
      const reading = this.#readingOf(kind, (key) => activated.has(key));
      if (!sameReading(before, reading)) {
        this.#readings.set(kind, reading);
        any = true;
      }
    }
    if (any) for (const subscriber of [...this.#subscribers]) callSafely(subscriber);
  }

  #readingOf(kind: string, cuts: (key: string) => boolean): PressureReading {
    let admit = true;
    let shrink: number | undefined;
    const reasons: string[] = [];
    const consider = (key: string): void => {
      const condition = this.#conditions.get(key);
      if (condition === undefined) return;
      if (condition.pauses) admit = false;
      reasons.push(condition.reason);
      if (condition.shrink !== undefined && cuts(key)) shrink = Math.min(shrink ?? 1, condition.shrink);
    };
    for (const resourceClass of this.#classes.of(kind)) consider(`class:${resourceClass}`);
    for (const signal of ['failureRate', 'meanResponse', 'contention'] as const) consider(`kind:${kind}:${signal}`);
    const reading: PressureReading = { admit };
    if (shrink !== undefined) reading.shrink = shrink;
    if (reasons.length > 0) reading.reason = reasons.join('; ');
    return reading;
  }

  #resume(): void {
    if (this.#timer !== undefined || (!this.#started && this.#subscribers.size === 0)) return;
    this.sampler.start();
    this.#schedule();
  }

  /** Stops sampling and forgets every signal: pressure from a past run must not pause the next. */
  #quiesce(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.sampler.stop();
    }
    for (const signal of this.#signals.values()) signal.reset();
    this.#runSignals.reset();
    this.#signalReasons.clear();
    if (this.#conditions.size === 0) return;
    this.#conditions.clear();
    this.#refresh(new Set());
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      try {
        this.tick();
      } finally {
        if (this.#started || this.#subscribers.size > 0) this.#schedule();
      }
    }, this.intervalMs);
  }

  #emit(event: MonitorEvent): void {
    for (const listener of [...this.#listeners]) callSafely(() => listener(event));
  }
}

/** Creates a {@link Monitor}; pass it as the scheduler's `pressure`. */
export function createMonitor(options?: MonitorOptions): Monitor {
  return new Monitor(options);
}

function signalValue(name: MachineSignalName, sample: ResourceSample): number | undefined {
  switch (name) {
    case 'cpu':
      return sample.cpu?.utilisation;
    case 'memory':
      return sample.memory?.utilisation;
    case 'network':
      return sample.network?.utilisation;
    case 'disk':
      return sample.disk?.utilisation;
    case 'eventLoop':
      return sample.eventLoop?.delayP99Ms;
  }
}

const LABELS: Readonly<Record<MachineSignalName, string>> = { cpu: 'cpu', memory: 'memory', network: 'network', disk: 'disk busy', eventLoop: 'event-loop delay p99' };

/** "cpu 97% ≥ 90% for 3 s", "network 85% of capacity ≥ 80% for 2 s", "event-loop delay p99 12 ms < 20 ms for 2 s". */
function describe(name: MachineSignalName, signal: SustainedSignal): string {
  const on = signal.active;
  const limit = on ? signal.threshold : signal.release;
  const held = on ? signal.sustainMs : signal.releaseMs;
  const during = held > 0 ? ` for ${seconds(held)}` : '';
  const op = on ? '≥' : '<';
  const value = signal.value;
  if (Number.isNaN(value)) return `${LABELS[name]} no longer measured`;
  if (name === 'eventLoop') return `${LABELS[name]} ${value.toFixed(0)} ms ${op} ${limit} ms${during}`;
  return `${LABELS[name]} ${percent(value)}${name === 'network' ? ' of capacity' : ''} ${op} ${percent(limit)}${during}`;
}

function sameReading(a: PressureReading, b: PressureReading): boolean {
  return a.admit === b.admit && a.shrink === b.shrink && a.reason === b.reason;
}

function callSafely(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    // A listener's bug must neither stop sampling nor crash the process: say it loudly.
    process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'FANOUT_MONITOR_LISTENER' });
  }
}
