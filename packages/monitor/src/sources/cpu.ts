import { cpus } from 'node:os';
import { join } from 'node:path';
import { malformed } from '../errors.js';
import { guarded, readText, toCount } from '../files.js';
import type { CpuReading, MissingSignal, Source } from '../sample.js';
import type { CgroupLocation } from './cgroup.js';

/** Aggregate CPU time of the machine, in clock ticks, and its number of CPUs. */
export interface CpuTimes {
  total: number;
  idle: number;
  cores: number;
}

/**
 * The `cpu` line of `/proc/stat`: total = user + nice + system + idle + iowait + irq + softirq
 * + steal (guest time is already inside user and nice), idle = idle + iowait; cores = the
 * number of `cpuN` lines.
 */
export function parseProcStat(text: string, path: string): CpuTimes {
  const lines = text.split('\n');
  const first = lines[0] ?? '';
  const fields = first.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 5) malformed(path, 'a first line "cpu user nice system idle ..."', first);
  const values = fields.slice(1, 9).map(toCount);
  if (values.some(Number.isNaN)) malformed(path, 'clock tick counts on the "cpu" line', first);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = values;
  let cores = 0;
  for (const line of lines) if (/^cpu\d+\s/.test(line)) cores++;
  if (cores === 0) malformed(path, 'at least one "cpuN" line', lines.slice(0, 3).join('\n'));
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, cores };
}

/** `cpu.max`: "max 100000" (no quota) or "150000 100000" (1.5 CPUs). */
export function parseCpuMax(text: string, path: string): { quotaUs: number | undefined; periodUs: number } {
  const [quota, period, extra] = text.trim().split(/\s+/);
  const periodUs = toCount(period);
  if (extra !== undefined || !(periodUs > 0) || (quota !== 'max' && Number.isNaN(toCount(quota)))) malformed(path, '"<quota|max> <period>"', text.trim());
  return { quotaUs: quota === 'max' ? undefined : toCount(quota), periodUs };
}

/** `usage_usec` from a cgroup's `cpu.stat`. */
export function parseCpuStat(text: string, path: string): { usageUs: number } {
  const match = /^usage_usec (\d+)$/m.exec(text);
  if (match === null) malformed(path, 'a "usage_usec <n>" line', text.split('\n')[0] ?? '');
  return { usageUs: Number(match[1]) };
}

/** What the CPU source needs from the process it runs in (injectable for tests). */
export interface ProcessProbe {
  /** CPU time used by this process, user + system, in microseconds. */
  cpuUsageUs(): number;
  /** Resident set size, in bytes. */
  rssBytes(): number;
}

/** The real process. */
export const nodeProcessProbe: ProcessProbe = {
  cpuUsageUs: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  rssBytes: () => process.memoryUsage.rss(),
};

interface CgroupCpu {
  dir: string;
  cores: number;
  usageUs: number;
}

/**
 * System CPU from `/proc/stat` (or `os.cpus()` off Linux), the tightest cgroup v2 quota's use,
 * and this process's own share, each as the change since the previous read.
 */
export class CpuSource implements Source<CpuReading> {
  readonly #procRoot: string | undefined;
  readonly #cgroup: CgroupLocation | undefined;
  readonly #process: ProcessProbe;
  #times: CpuTimes | undefined;
  #quota: CgroupCpu | undefined;
  #processUs = NaN;

  /** `procRoot` undefined means "not Linux": `os.cpus()` is used instead. */
  constructor(procRoot: string | undefined, cgroup: CgroupLocation | undefined, process: ProcessProbe) {
    this.#procRoot = procRoot;
    this.#cgroup = cgroup;
    this.#process = process;
  }

  read(elapsedMs: number, missing: MissingSignal[]): CpuReading | undefined {
    const times = this.#readTimes(missing);
    const quota = this.#readQuota(missing);
    const processUs = this.#process.cpuUsageUs();
    const before = this.#times;
    const quotaBefore = this.#quota;
    const processBefore = this.#processUs;
    this.#times = times;
    this.#quota = quota;
    this.#processUs = processUs;
    if (times === undefined || before === undefined || !(elapsedMs > 0)) return undefined;
    const total = times.total - before.total;
    // Counters that went backwards (a reset) or did not move leave nothing to compare.
    if (!(total > 0) || times.idle < before.idle) return undefined;
    const system = clamp01(1 - (times.idle - before.idle) / total);
    let cores = times.cores;
    const reading: CpuReading = { utilisation: system, system, cores, process: 0 };
    if (quota !== undefined) {
      cores = Math.min(cores, quota.cores);
      reading.cores = cores;
      if (quotaBefore !== undefined && quotaBefore.dir === quota.dir && quota.usageUs >= quotaBefore.usageUs) {
        const utilisation = clamp01((quota.usageUs - quotaBefore.usageUs) / (elapsedMs * 1000 * quota.cores));
        reading.cgroup = { utilisation, cores: quota.cores, path: quota.dir };
        reading.utilisation = Math.max(system, utilisation);
      }
    }
    reading.process = clamp01((processUs - processBefore) / (elapsedMs * 1000 * cores));
    return reading;
  }

  #readTimes(missing: MissingSignal[]): CpuTimes | undefined {
    if (this.#procRoot === undefined) {
      let total = 0;
      let idle = 0;
      const list = cpus();
      for (const { times } of list) {
        total += times.user + times.nice + times.sys + times.idle + times.irq;
        idle += times.idle;
      }
      return list.length === 0 ? undefined : { total, idle, cores: list.length };
    }
    const file = join(this.#procRoot, 'stat');
    return guarded('cpu', missing, () => {
      const text = readText(file);
      if (text === undefined) {
        missing.push({ source: 'cpu', reason: `${file} not found` });
        return undefined;
      }
      return parseProcStat(text, file);
    });
  }

  /** The cgroup (own or ancestor) with the fewest CPUs under its quota, and its usage. */
  #readQuota(missing: MissingSignal[]): CgroupCpu | undefined {
    if (this.#cgroup === undefined) return undefined;
    let tightest: CgroupCpu | undefined;
    for (const dir of this.#cgroup.dirs) {
      const maxFile = join(dir, 'cpu.max');
      const statFile = join(dir, 'cpu.stat');
      const found = guarded('cgroup', missing, () => {
        const max = readText(maxFile);
        if (max === undefined) return undefined;
        const { quotaUs, periodUs } = parseCpuMax(max, maxFile);
        if (quotaUs === undefined) return undefined;
        const cores = quotaUs / periodUs;
        if (tightest !== undefined && tightest.cores <= cores) return undefined;
        const stat = readText(statFile);
        if (stat === undefined) {
          missing.push({ source: 'cgroup', reason: `${statFile} not found (the quota in ${maxFile} cannot be measured against)` });
          return undefined;
        }
        return { dir, cores, usageUs: parseCpuStat(stat, statFile).usageUs };
      });
      if (found !== undefined) tightest = found;
    }
    return tightest;
  }
}

/** Clamps a share to [0, 1] (counters sampled a moment apart can overshoot a little). */
export function clamp01(value: number): number {
  return Math.max(0, Math.min(value, 1));
}
