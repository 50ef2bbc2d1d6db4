import type { Clock } from '@fanout/scheduler';
import { unrefClock } from './clock.js';
import { check } from './errors.js';
import { guarded } from './files.js';
import type { MissingSignal, ResourceSample, Source, SourceName } from './sample.js';
import { locateCgroup, type CgroupLocation } from './sources/cgroup.js';
import { CpuSource, nodeProcessProbe, type ProcessProbe } from './sources/cpu.js';
import { DiskSource } from './sources/disk.js';
import { EventLoopSource, nodeEventLoopProbe, type EventLoopProbe } from './sources/event-loop.js';
import { MemorySource } from './sources/memory.js';
import { NetworkSource } from './sources/network.js';
import { PressureStallSource } from './sources/pressure-stall.js';

/** Options of {@link ResourceSampler}. */
export interface SamplerOptions {
  /** Where `/proc` is (tests point it at a fixture tree). @default "/proc" */
  procRoot?: string;
  /** Where the cgroup v2 hierarchy is mounted. @default "/sys/fs/cgroup" */
  cgroupRoot?: string;
  /**
   * The operating system to sample as. Off Linux only `node:os` is used: CPU, memory, the
   * process and the event loop; disk, network, cgroup and pressure stall are reported missing.
   * @default process.platform
   */
  platform?: NodeJS.Platform;
  /**
   * Capacity of the network, in bytes per second, that network utilisation is measured
   * against. Without it throughput is measured and the network signal is missing.
   */
  networkCapacity?: number;
  /** Interfaces to count. @default every interface but `lo` */
  interfaces?: readonly string[];
  /** Block devices to count (names as in `/proc/diskstats`). @default every non-virtual device */
  disks?: readonly string[];
  /** Measure the event loop (false turns it off). @default Node's monitorEventLoopDelay */
  eventLoop?: EventLoopProbe | false;
  /** CPU time and RSS of this process. @default process.cpuUsage() and process.memoryUsage.rss() */
  process?: ProcessProbe;
  /** Time for the deltas between samples. @default performance.now() */
  clock?: Pick<Clock, 'now'>;
}

/**
 * Takes samples of the machine and this process: CPU (system, cgroup quota, process), memory
 * (system, cgroup limits, RSS), disk busy time, network throughput, event-loop delay and
 * utilisation, and pressure stall information. Counters are turned into rates between one
 * `sample()` and the next, so the first sample after `start()` already has them.
 * Nothing it reads can make it throw: what it cannot measure is listed in `missing`.
 *
 * @example
 * const sampler = new ResourceSampler({ networkCapacity: 125_000_000 }); // 1 Gbit/s
 * sampler.start();
 * setTimeout(() => console.log(sampler.sample().cpu?.utilisation), 1000);
 */
export class ResourceSampler {
  /** The operating system sampled as. */
  readonly platform: NodeJS.Platform;
  /** The process's cgroup v2, if it has one. */
  readonly cgroup: CgroupLocation | undefined;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #sources: [SourceName, Source<unknown>][] = [];
  /** Missing for good (not Linux, no cgroup v2): listed in every sample. */
  readonly #absent: MissingSignal[] = [];
  readonly #eventLoop: EventLoopProbe | undefined;
  #last = NaN;

  constructor(options: SamplerOptions = {}) {
    const capacity = options.networkCapacity;
    check.number(capacity, 'networkCapacity', undefined, { above: 0 });
    this.platform = options.platform ?? process.platform;
    this.#clock = options.clock ?? unrefClock;
    const probe = options.process ?? nodeProcessProbe;
    const linux = this.platform === 'linux';
    const procRoot = options.procRoot ?? '/proc';
    let cgroup: CgroupLocation | undefined;
    if (linux) {
      const located = guarded('cgroup', this.#absent, () => locateCgroup(procRoot, options.cgroupRoot ?? '/sys/fs/cgroup'));
      if (located !== undefined && 'missing' in located) this.#absent.push({ source: 'cgroup', reason: located.missing });
      else cgroup = located;
    } else {
      const reason = `not measured on ${this.platform} (Linux only)`;
      for (const source of ['disk', 'network', 'pressureStall', 'cgroup'] as const) this.#absent.push({ source, reason });
    }
    this.cgroup = cgroup;
    const root = linux ? procRoot : undefined;
    this.#sources.push(['cpu', new CpuSource(root, cgroup, probe)], ['memory', new MemorySource(root, cgroup, probe)]);
    if (linux) {
      this.#sources.push(['disk', new DiskSource(procRoot, options.disks)], ['network', new NetworkSource(procRoot, capacity, options.interfaces)], ['pressureStall', new PressureStallSource(procRoot, cgroup)]);
    }
    if (options.eventLoop !== false) {
      this.#eventLoop = options.eventLoop ?? nodeEventLoopProbe();
      this.#sources.push(['eventLoop', new EventLoopSource(this.#eventLoop)]);
    } else {
      this.#absent.push({ source: 'eventLoop', reason: 'turned off (option eventLoop: false)' });
    }
  }

  /** Takes the first readings that later samples compare with, and starts the event-loop probe. */
  start(): void {
    this.#eventLoop?.start();
    this.sample();
  }

  /** Stops the event-loop probe; `start()` again to resume. */
  stop(): void {
    this.#eventLoop?.stop();
    this.#last = NaN;
  }

  /** Measures everything once; rates cover the time since the previous sample. */
  sample(): ResourceSample {
    const began = performance.now();
    const now = this.#clock.now();
    const elapsed = now - this.#last;
    this.#last = now;
    const missing: MissingSignal[] = [...this.#absent];
    const sample: ResourceSample = { time: now, durationMs: 0, missing };
    for (const [name, source] of this.#sources) {
      const reading = guarded(name, missing, () => source.read(elapsed, missing));
      if (reading !== undefined) (sample as unknown as Record<string, unknown>)[name] = reading;
    }
    sample.durationMs = performance.now() - began;
    return sample;
  }
}
