import { join } from 'node:path';
import { malformed } from '../errors.js';
import { guarded, readText, toCount } from '../files.js';
import type { DiskReading, MissingSignal, Source } from '../sample.js';
import { clamp01 } from './cpu.js';

/** Counters of one block device from `/proc/diskstats`. */
export interface DiskCounters {
  name: string;
  sectorsRead: number;
  sectorsWritten: number;
  /** Milliseconds during which the device had I/O in flight ("io_ticks", field 13). */
  ioTicksMs: number;
}

/**
 * `/proc/diskstats`: "major minor name" then at least 11 counters (14 fields; 18 since 4.18,
 * 20 since 5.5). Sectors are 512 bytes whatever the device's own sector size.
 */
export function parseDiskstats(text: string, path: string): DiskCounters[] {
  const devices: DiskCounters[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.trim().split(/\s+/);
    if (fields.length < 14) malformed(path, 'lines of "major minor name" and at least 11 counters', line);
    const counts = fields.slice(3, 14).map(toCount);
    if (counts.some(Number.isNaN) || Number.isNaN(toCount(fields[0])) || Number.isNaN(toCount(fields[1]))) malformed(path, 'numeric counters', line);
    devices.push({ name: fields[2]!, sectorsRead: counts[2]!, sectorsWritten: counts[6]!, ioTicksMs: counts[9]! });
  }
  return devices;
}

/** Virtual devices whose busy time says nothing about storage: loop, RAM disks, CD drives. */
const VIRTUAL = /^(loop|ram|zram|sr|fd)\d/;

/**
 * Physical whole disks: not virtual, and not a partition of another listed device (`vda1` of
 * `vda`, `nvme0n1p1` of `nvme0n1`), whose sectors would otherwise be counted twice.
 */
export function wholeDisks(devices: readonly DiskCounters[]): DiskCounters[] {
  const names = new Set(devices.map((d) => d.name));
  return devices.filter((d) => {
    if (VIRTUAL.test(d.name)) return false;
    if (!/\d$/.test(d.name)) return true;
    for (let cut = d.name.length - 1; cut > 0; cut--) {
      const parent = d.name.slice(0, cut);
      if (names.has(parent) && /^p?\d+$/.test(d.name.slice(cut))) return false;
    }
    return true;
  });
}

/**
 * Disk busy time (the `%util` of iostat: io_ticks over elapsed time) of the busiest device,
 * and read / write throughput over all of them, from `/proc/diskstats`.
 */
export class DiskSource implements Source<DiskReading> {
  readonly #file: string;
  readonly #only: ReadonlySet<string> | undefined;
  #before = new Map<string, DiskCounters>();

  /** `devices`: only these (names as in /proc/diskstats); @default every non-virtual device */
  constructor(procRoot: string, devices?: readonly string[]) {
    this.#file = join(procRoot, 'diskstats');
    this.#only = devices === undefined ? undefined : new Set(devices);
  }

  read(elapsedMs: number, missing: MissingSignal[]): DiskReading | undefined {
    const devices = guarded('disk', missing, () => {
      const text = readText(this.#file);
      if (text === undefined) {
        missing.push({ source: 'disk', reason: `${this.#file} not found` });
        return undefined;
      }
      const all = parseDiskstats(text, this.#file);
      return this.#only === undefined ? wholeDisks(all) : all.filter((d) => this.#only!.has(d.name));
    });
    if (devices === undefined) return undefined;
    const before = this.#before;
    this.#before = new Map(devices.map((d) => [d.name, d]));
    if (devices.length === 0) {
      missing.push({ source: 'disk', reason: this.#only === undefined ? `no block devices in ${this.#file}` : `none of ${[...this.#only].join(', ')} in ${this.#file}` });
      return undefined;
    }
    if (before.size === 0 || !(elapsedMs > 0)) return undefined;
    const reading: DiskReading = { utilisation: 0, readBytesPerSecond: 0, writeBytesPerSecond: 0, devices: [] };
    for (const device of devices) {
      const previous = before.get(device.name);
      // A device that appeared, or counters that wrapped (32-bit io_ticks), has no delta yet.
      if (previous === undefined || device.ioTicksMs < previous.ioTicksMs || device.sectorsRead < previous.sectorsRead || device.sectorsWritten < previous.sectorsWritten) continue;
      const utilisation = clamp01((device.ioTicksMs - previous.ioTicksMs) / elapsedMs);
      reading.devices.push({ name: device.name, utilisation });
      if (utilisation > reading.utilisation) reading.utilisation = utilisation;
      reading.readBytesPerSecond += ((device.sectorsRead - previous.sectorsRead) * 512 * 1000) / elapsedMs;
      reading.writeBytesPerSecond += ((device.sectorsWritten - previous.sectorsWritten) * 512 * 1000) / elapsedMs;
    }
    return reading.devices.length === 0 ? undefined : reading;
  }
}
