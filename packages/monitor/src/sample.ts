import type { MonitorError } from './errors.js';

/** A resource the sampler measures; each can be missing on a given machine. */
export type SourceName = 'cpu' | 'memory' | 'disk' | 'network' | 'eventLoop' | 'pressureStall' | 'cgroup';

/** A measurement the sampler could not take, and why (a clear reason, never a crash). */
export interface MissingSignal {
  source: SourceName;
  /** What is missing and why, e.g. "/proc/diskstats not found". */
  reason: string;
  /** The error behind it, when a file was there but could not be used. */
  error?: MonitorError;
}

/** CPU use over the last interval; fractions are of `cores` (0–1). */
export interface CpuReading {
  /** The busiest of `system` and `cgroup`: what the CPU signal watches. */
  utilisation: number;
  /** Busy share of the whole machine (`/proc/stat`, or `os.cpus()` elsewhere). */
  system: number;
  /** Cores this process can use: the machine's, or fewer under a cgroup `cpu.max` quota. */
  cores: number;
  /** Use of the tightest cgroup v2 CPU quota, when one is set. */
  cgroup?: { utilisation: number; cores: number; path: string };
  /** This process's own CPU (all its threads), as a share of `cores`. */
  process: number;
}

/** Memory right now. */
export interface MemoryReading {
  /** The highest of the system's and the cgroups' used shares: what the memory signal watches. */
  utilisation: number;
  /** The binding limit: the machine's memory or a tighter cgroup `memory.max`. */
  limitBytes: number;
  /** Used against `limitBytes`. */
  usedBytes: number;
  system: { totalBytes: number; availableBytes: number; utilisation: number };
  /** The tightest cgroup v2 limit, when one is set; `usedBytes` is the working set (current − inactive file cache, as cAdvisor counts it). */
  cgroup?: { limitBytes: number; usedBytes: number; currentBytes: number; utilisation: number; path: string };
  processRssBytes: number;
}

/** Block devices over the last interval. */
export interface DiskReading {
  /** The busiest device's share of time with I/O in flight (`/proc/diskstats` io_ticks). */
  utilisation: number;
  readBytesPerSecond: number;
  writeBytesPerSecond: number;
  devices: { name: string; utilisation: number }[];
}

/** Network interfaces over the last interval (loopback excluded unless named). */
export interface NetworkReading {
  /** max(receive, transmit) / capacity; absent when no capacity is configured. */
  utilisation?: number;
  receiveBytesPerSecond: number;
  transmitBytesPerSecond: number;
  capacityBytesPerSecond?: number;
  interfaces: string[];
}

/** The event loop of this process over the last interval. */
export interface EventLoopReading {
  /** Delay of a timer beyond its due time, in milliseconds. */
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
  /** Share of the interval the loop spent working rather than waiting (0–1). */
  utilisation: number;
}

/** One line of a pressure stall information file; averages are shares of time (0–1). */
export interface StallLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time, in microseconds. */
  totalUs: number;
}

/** A pressure stall information file: `some` task stalled, and (memory, io, newer cpu) `full`. */
export interface StallFile {
  some: StallLine;
  full?: StallLine;
  /** The file read: the process's cgroup's when it has one, else `/proc/pressure/*`. */
  path: string;
}

/** Pressure stall information (Linux 4.20+), per resource. */
export interface PressureStallReading {
  cpu?: StallFile;
  memory?: StallFile;
  io?: StallFile;
}

/** Everything one sampling pass measured. Absent fields are listed in `missing`. */
export interface ResourceSample {
  /** Clock time of the sample (milliseconds on the monitor's clock). */
  time: number;
  /** Wall time the pass took, in milliseconds: the sampler's own cost. */
  durationMs: number;
  cpu?: CpuReading;
  memory?: MemoryReading;
  disk?: DiskReading;
  network?: NetworkReading;
  eventLoop?: EventLoopReading;
  pressureStall?: PressureStallReading;
  missing: MissingSignal[];
}

/** A measurement behind one of the sampler's readings; `read` returns undefined when it cannot say. */
export interface Source<R> {
  /** `elapsedMs` since the previous call (NaN on the first); problems go to `missing`. */
  read(elapsedMs: number, missing: MissingSignal[]): R | undefined;
}
