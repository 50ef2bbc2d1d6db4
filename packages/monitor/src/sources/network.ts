import { join } from 'node:path';
import { malformed } from '../errors.js';
import { guarded, readText, toCount } from '../files.js';
import type { MissingSignal, NetworkReading, Source } from '../sample.js';
import { clamp01 } from './cpu.js';

/** Byte counters of one interface from `/proc/net/dev`. */
export interface InterfaceCounters {
  name: string;
  receiveBytes: number;
  transmitBytes: number;
}

/**
 * `/proc/net/dev`: two header lines, then "name: " and 16 counters (8 receive, 8 transmit).
 * Old kernels glue a large first counter to the colon ("eth0:123456").
 */
export function parseNetDev(text: string, path: string): InterfaceCounters[] {
  const lines = text.split('\n');
  if (!(lines[0] ?? '').includes('|') || !(lines[1] ?? '').includes('|')) malformed(path, 'two header lines ("Inter-|   Receive ...")', lines.slice(0, 2).join('\n'));
  const interfaces: InterfaceCounters[] = [];
  for (const line of lines.slice(2)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    const counts =
      colon < 0
        ? []
        : line
            .slice(colon + 1)
            .trim()
            .split(/\s+/)
            .map(toCount);
    if (colon < 0 || counts.length < 16 || counts.some(Number.isNaN)) malformed(path, '"<interface>: " and 16 counters', line);
    interfaces.push({ name: line.slice(0, colon).trim(), receiveBytes: counts[0]!, transmitBytes: counts[8]! });
  }
  return interfaces;
}

/**
 * Throughput of the network interfaces (loopback excluded unless named) from `/proc/net/dev`,
 * and its share of a configured capacity: links are full duplex, so the busier direction is
 * what fills up.
 */
export class NetworkSource implements Source<NetworkReading> {
  readonly #file: string;
  readonly #only: ReadonlySet<string> | undefined;
  readonly #capacity: number | undefined;
  #before = new Map<string, InterfaceCounters>();

  constructor(procRoot: string, capacityBytesPerSecond: number | undefined, interfaces?: readonly string[]) {
    this.#file = join(procRoot, 'net', 'dev');
    this.#capacity = capacityBytesPerSecond;
    this.#only = interfaces === undefined ? undefined : new Set(interfaces);
  }

  read(elapsedMs: number, missing: MissingSignal[]): NetworkReading | undefined {
    const interfaces = guarded('network', missing, () => {
      const text = readText(this.#file);
      if (text === undefined) {
        missing.push({ source: 'network', reason: `${this.#file} not found` });
        return undefined;
      }
      return parseNetDev(text, this.#file).filter((i) => (this.#only === undefined ? i.name !== 'lo' : this.#only.has(i.name)));
    });
    if (interfaces === undefined) return undefined;
    const before = this.#before;
    this.#before = new Map(interfaces.map((i) => [i.name, i]));
    if (this.#capacity === undefined) missing.push({ source: 'network', reason: 'no network capacity configured (option networkCapacity, bytes per second): throughput is measured, utilisation is not' });
    if (before.size === 0 || !(elapsedMs > 0)) return undefined;
    const reading: NetworkReading = { receiveBytesPerSecond: 0, transmitBytesPerSecond: 0, interfaces: [] };
    for (const entry of interfaces) {
      const previous = before.get(entry.name);
      if (previous === undefined || entry.receiveBytes < previous.receiveBytes || entry.transmitBytes < previous.transmitBytes) continue;
      reading.interfaces.push(entry.name);
      reading.receiveBytesPerSecond += ((entry.receiveBytes - previous.receiveBytes) * 1000) / elapsedMs;
      reading.transmitBytesPerSecond += ((entry.transmitBytes - previous.transmitBytes) * 1000) / elapsedMs;
    }
    if (this.#capacity !== undefined) {
      reading.capacityBytesPerSecond = this.#capacity;
      reading.utilisation = clamp01(Math.max(reading.receiveBytesPerSecond, reading.transmitBytesPerSecond) / this.#capacity);
    }
    return reading;
  }
}
