import { freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { malformed } from '../errors.js';
import { guarded, readText, toCount } from '../files.js';
import type { MemoryReading, MissingSignal, Source } from '../sample.js';
import type { CgroupLocation } from './cgroup.js';
import type { ProcessProbe } from './cpu.js';

/**
 * `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes. Kernels before 3.14 have no
 * `MemAvailable`: `MemFree + Buffers + Cached` stands in for it there.
 */
export function parseMeminfo(text: string, path: string): { totalBytes: number; availableBytes: number } {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line.trim());
    if (match !== null) fields.set(match[1]!, Number(match[2]) * 1024);
  }
  const total = fields.get('MemTotal');
  if (total === undefined || total === 0) malformed(path, 'a "MemTotal: <n> kB" line', text.split('\n')[0] ?? '');
  const available = fields.get('MemAvailable') ?? sumIfAll(fields, ['MemFree', 'Buffers', 'Cached']);
  if (available === undefined) malformed(path, 'a "MemAvailable: <n> kB" line (or MemFree, Buffers and Cached)', text.split('\n').slice(0, 3).join(' | '));
  return { totalBytes: total, availableBytes: Math.min(available, total) };
}

function sumIfAll(fields: Map<string, number>, names: string[]): number | undefined {
  let sum = 0;
  for (const name of names) {
    const value = fields.get(name);
    if (value === undefined) return undefined;
    sum += value;
  }
  return sum;
}

/** `memory.max`: a byte count, or "max" (no limit: `undefined`). */
export function parseMemoryMax(text: string, path: string): number | undefined {
  const value = text.trim();
  if (value === 'max') return undefined;
  const bytes = toCount(value);
  if (Number.isNaN(bytes)) malformed(path, 'a byte count or "max"', value);
  return bytes;
}

/** `memory.current`: a byte count. */
export function parseMemoryCurrent(text: string, path: string): number {
  const bytes = toCount(text.trim());
  if (Number.isNaN(bytes)) malformed(path, 'a byte count', text.trim());
  return bytes;
}

/** `memory.stat`: "name value" lines. */
export function parseMemoryStat(text: string, path: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [name, value, extra] = line.split(' ');
    const count = toCount(value);
    if (name === undefined || name === '' || extra !== undefined || Number.isNaN(count)) malformed(path, '"<name> <count>" lines', line);
    fields.set(name, count);
  }
  return fields;
}

interface CgroupMemory {
  dir: string;
  limitBytes: number;
  currentBytes: number;
  usedBytes: number;
}

/**
 * System memory from `/proc/meminfo` (or `os.freemem()` off Linux), the most used cgroup v2
 * limit of the process's cgroup and its ancestors, and the process's resident set.
 */
export class MemorySource implements Source<MemoryReading> {
  readonly #procRoot: string | undefined;
  readonly #cgroup: CgroupLocation | undefined;
  readonly #process: ProcessProbe;

  /** `procRoot` undefined means "not Linux": `node:os` is used instead. */
  constructor(procRoot: string | undefined, cgroup: CgroupLocation | undefined, process: ProcessProbe) {
    this.#procRoot = procRoot;
    this.#cgroup = cgroup;
    this.#process = process;
  }

  read(_elapsedMs: number, missing: MissingSignal[]): MemoryReading | undefined {
    const system = this.#readSystem(missing);
    const cgroup = this.#readCgroup(missing);
    if (system === undefined && cgroup === undefined) return undefined;
    const systemShare = system === undefined ? 0 : 1 - system.availableBytes / system.totalBytes;
    const reading: MemoryReading = {
      utilisation: systemShare,
      limitBytes: system?.totalBytes ?? 0,
      usedBytes: system === undefined ? 0 : system.totalBytes - system.availableBytes,
      system: system === undefined ? { totalBytes: 0, availableBytes: 0, utilisation: 0 } : { ...system, utilisation: systemShare },
      processRssBytes: this.#process.rssBytes(),
    };
    if (cgroup !== undefined) {
      const share = cgroup.usedBytes / cgroup.limitBytes;
      reading.cgroup = { limitBytes: cgroup.limitBytes, usedBytes: cgroup.usedBytes, currentBytes: cgroup.currentBytes, utilisation: share, path: cgroup.dir };
      if (system === undefined || share >= systemShare) {
        reading.utilisation = share;
        reading.limitBytes = cgroup.limitBytes;
        reading.usedBytes = cgroup.usedBytes;
      }
    }
    return reading;
  }

  #readSystem(missing: MissingSignal[]): { totalBytes: number; availableBytes: number } | undefined {
    if (this.#procRoot === undefined) return { totalBytes: totalmem(), availableBytes: freemem() };
    const file = join(this.#procRoot, 'meminfo');
    return guarded('memory', missing, () => {
      const text = readText(file);
      if (text === undefined) {
        missing.push({ source: 'memory', reason: `${file} not found` });
        return undefined;
      }
      return parseMeminfo(text, file);
    });
  }

  #readCgroup(missing: MissingSignal[]): CgroupMemory | undefined {
    if (this.#cgroup === undefined) return undefined;
    let worst: CgroupMemory | undefined;
    for (const dir of this.#cgroup.dirs) {
      const found = guarded('cgroup', missing, () => {
        const maxFile = join(dir, 'memory.max');
        const max = readText(maxFile);
        if (max === undefined) return undefined;
        const limitBytes = parseMemoryMax(max, maxFile);
        if (limitBytes === undefined || limitBytes === 0) return undefined;
        const currentFile = join(dir, 'memory.current');
        const current = readText(currentFile);
        if (current === undefined) {
          missing.push({ source: 'cgroup', reason: `${currentFile} not found (the limit in ${maxFile} cannot be measured against)` });
          return undefined;
        }
        const currentBytes = parseMemoryCurrent(current, currentFile);
        // The kernel reclaims inactive page cache before it hits the limit: counting it would
        // report pressure in any container that has read a few files (cAdvisor's working set).
        const statFile = join(dir, 'memory.stat');
        const stat = readText(statFile);
        const inactiveFile = stat === undefined ? 0 : (parseMemoryStat(stat, statFile).get('inactive_file') ?? 0);
        return { dir, limitBytes, currentBytes, usedBytes: Math.max(0, currentBytes - inactiveFile) };
      });
      if (found !== undefined && (worst === undefined || found.usedBytes / found.limitBytes > worst.usedBytes / worst.limitBytes)) worst = found;
    }
    return worst;
  }
}
