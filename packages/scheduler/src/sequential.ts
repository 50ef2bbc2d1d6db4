/**
 * What running a plan one unit at a time would cost — the "sequential" of a run summary, and
 * so its speed-up. Adding up attempt durations is right for work that waits (a fetch, a
 * timer): alone, each would wait as long. It is wrong for work that competes for the CPU:
 * six searches sharing two cores each take three times longer than alone, and their sum says
 * "6× faster in parallel" where a `-j 1` run shows at most 2×. So the run is cut into
 * stretches; in a stretch where the cores were busy (by this process and its children, or by
 * any process when the meter reads the machine) or the main thread was, the units that
 * compute are counted by the CPU time this process and its children spent,
 * not by their contended wall time. Units of kinds that wait (`AdapterDefaults.waits`) always
 * count by wall time.
 *
 * A unit is an attempt, or a whole batch of operations that share their work (a batch runs
 * one at a time under `-j 1` too). Without a {@link CpuMeter} the estimate is the plain sum of
 * unit durations, which tests rely on.
 */
import { availableParallelism } from 'node:os';

/** CPU time used so far, for the estimate of a run's sequential time. */
export interface CpuMeter {
  /** Milliseconds of CPU used so far by the process (and, if the meter can tell, its child processes). */
  now(): number;
  /**
   * Milliseconds the main thread's event loop has been busy so far. Work done on the main
   * thread contends for that one thread even when other cores are idle.
   */
  loopBusy?(): number;
  /**
   * CPU time the whole machine has been busy so far (every process, summed over its cores),
   * and its number of cores. Other processes slow a run's units down as much as its own do.
   */
  machine?(): { busyMs: number; cores: number };
  /** Cores the run may use (a CPU quota, or the machine's). */
  readonly cores: number;
}

/**
 * The CPU of this process, all threads included (`process.cpuUsage`); child processes are not
 * seen (`@fanout/monitor` has a meter that sees them).
 */
export function processCpuMeter(cores = availableParallelism()): CpuMeter {
  return {
    now: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    },
    loopBusy: () => performance.eventLoopUtilization().active,
    cores,
  };
}

/** A stretch's CPU use at or above this share of the cores counts as busy cores. */
const BUSY_SHARE = 0.75;
/** A stretch in which the event loop was busy this share of the time had a busy main thread. */
const LOOP_BUSY_SHARE = 0.9;
/** Shortest stretch between two readings of the meter. */
const STRETCH_MS = 25;

/** Integrates units in flight over time, stretch by stretch. */
export class SequentialEstimate {
  readonly #meter: CpuMeter | undefined;
  #computing = 0;
  #waiting = 0;
  /** Time of the last change of the counts. */
  #last = 0;
  /** Unit-milliseconds of the current stretch. */
  #computeArea = 0;
  #waitArea = 0;
  #stretchStart = 0;
  #cpuAtStart = 0;
  #loopAtStart = 0;
  #machineAtStart = 0;
  #total = 0;
  #busyStretches = 0;

  constructor(meter: CpuMeter | undefined) {
    this.#meter = meter;
  }

  /** True when CPU readings shape the estimate (otherwise it is the sum of unit durations). */
  get measured(): boolean {
    return this.#meter !== undefined;
  }

  /** Stretches in which the cores were busy and CPU time replaced wall time. */
  get busyStretches(): number {
    return this.#busyStretches;
  }

  begin(now: number): void {
    this.#last = now;
    this.#stretchStart = now;
    if (this.#meter !== undefined) {
      this.#cpuAtStart = this.#meter.now();
      this.#loopAtStart = this.#meter.loopBusy?.() ?? 0;
      this.#machineAtStart = this.#meter.machine?.().busyMs ?? 0;
    }
  }

  /** A unit starts (`+1`) or ends (`-1`) at `now`; `waits` is its kind's nature. */
  change(now: number, delta: 1 | -1, waits: boolean): void {
    const dt = now - this.#last;
    if (dt > 0) {
      this.#computeArea += this.#computing * dt;
      this.#waitArea += this.#waiting * dt;
      this.#last = now;
    }
    if (waits) this.#waiting += delta;
    else this.#computing += delta;
    if (this.#meter !== undefined && now - this.#stretchStart >= STRETCH_MS) this.#close(now);
  }

  /** The estimate up to `now`, in milliseconds. */
  total(now: number): number {
    this.change(now, 1, true);
    this.change(now, -1, true);
    this.#close(now);
    return this.#total;
  }

  #close(now: number): void {
    let computed = this.#computeArea;
    const meter = this.#meter;
    if (meter !== undefined) {
      const cpu = meter.now();
      const loop = meter.loopBusy?.() ?? 0;
      const machine = meter.machine?.();
      const used = cpu - this.#cpuAtStart;
      const span = now - this.#stretchStart;
      const busy = used >= BUSY_SHARE * meter.cores * span || loop - this.#loopAtStart >= LOOP_BUSY_SHARE * span || (machine !== undefined && machine.busyMs - this.#machineAtStart >= BUSY_SHARE * machine.cores * span);
      // Busy: the units computing in this stretch slowed each other down; alone, they would
      // have needed the CPU time they used (at least the stretch itself: one unit at a time
      // still takes that long), not the sum of their stretched wall times.
      if (span > 0 && busy && Math.max(used, span) < computed) {
        computed = Math.max(used, span);
        this.#busyStretches++;
      }
      this.#cpuAtStart = cpu;
      this.#loopAtStart = loop;
      if (machine !== undefined) this.#machineAtStart = machine.busyMs;
    }
    this.#total += this.#waitArea + computed;
    this.#computeArea = 0;
    this.#waitArea = 0;
    this.#stretchStart = now;
  }
}
