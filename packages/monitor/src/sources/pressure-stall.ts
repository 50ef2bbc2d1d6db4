import { join } from 'node:path';
import { malformed } from '../errors.js';
import { guarded, readText } from '../files.js';
import type { MissingSignal, PressureStallReading, Source, StallFile, StallLine } from '../sample.js';
import type { CgroupLocation } from './cgroup.js';

const LINE = /^(some|full) avg10=(\d+(?:\.\d+)?) avg60=(\d+(?:\.\d+)?) avg300=(\d+(?:\.\d+)?) total=(\d+)$/;

/**
 * A pressure stall information file (`/proc/pressure/cpu`, a cgroup's `memory.pressure`):
 * "some avg10=1.50 avg60=0.80 avg300=0.20 total=123456" and optionally a "full" line.
 * Averages are turned from percentages into shares (0–1).
 */
export function parsePressureStall(text: string, path: string): StallFile {
  let some: StallLine | undefined;
  let full: StallLine | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = LINE.exec(line.trim());
    if (match === null) malformed(path, '"some|full avg10=<%> avg60=<%> avg300=<%> total=<µs>" lines', line);
    const parsed: StallLine = { avg10: Number(match[2]) / 100, avg60: Number(match[3]) / 100, avg300: Number(match[4]) / 100, totalUs: Number(match[5]) };
    if (match[1] === 'some') some = parsed;
    else full = parsed;
  }
  if (some === undefined) malformed(path, 'a "some avg10=..." line', text.trim());
  return full === undefined ? { some, path } : { some, full, path };
}

const RESOURCES = ['cpu', 'memory', 'io'] as const;

/**
 * Pressure stall information (Linux 4.20+, `CONFIG_PSI`): the process's own cgroup's files
 * when it has them (a container's stalls, not the host's), else `/proc/pressure/*`.
 */
export class PressureStallSource implements Source<PressureStallReading> {
  readonly #procRoot: string;
  readonly #cgroup: CgroupLocation | undefined;

  constructor(procRoot: string, cgroup: CgroupLocation | undefined) {
    this.#procRoot = procRoot;
    this.#cgroup = cgroup;
  }

  read(_elapsedMs: number, missing: MissingSignal[]): PressureStallReading | undefined {
    const reading: PressureStallReading = {};
    let found = 0;
    for (const resource of RESOURCES) {
      const own = this.#cgroup === undefined || this.#cgroup.path === '/' ? undefined : join(this.#cgroup.dirs[0]!, `${resource}.pressure`);
      const file = join(this.#procRoot, 'pressure', resource);
      const parsed = guarded('pressureStall', missing, () => {
        const ownText = own === undefined ? undefined : readText(own);
        if (ownText !== undefined) return parsePressureStall(ownText, own!);
        const text = readText(file);
        return text === undefined ? undefined : parsePressureStall(text, file);
      });
      if (parsed !== undefined) {
        reading[resource] = parsed;
        found++;
      }
    }
    if (found === 0 && !missing.some((m) => m.source === 'pressureStall')) {
      missing.push({ source: 'pressureStall', reason: `${join(this.#procRoot, 'pressure')} not found (a kernel without CONFIG_PSI, or older than 4.20)` });
    }
    return found === 0 ? undefined : reading;
  }
}
