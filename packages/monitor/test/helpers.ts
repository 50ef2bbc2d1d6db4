import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLoopProbe, ProcessProbe, ResourceSample } from '../src/index.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A copy of a fixture tree in a fresh temporary directory, so a test can move it forward. */
export async function fixtureTree(name: string): Promise<{ root: string; proc: string; cgroup: string; advance(to: string): Promise<void>; remove(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'fanout-monitor-'));
  await cp(join(FIXTURES, name), root, { recursive: true });
  return {
    root,
    proc: join(root, 'proc'),
    cgroup: join(root, 'cgroup'),
    advance: (to) => cp(join(FIXTURES, to), root, { recursive: true, force: true }),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** A process whose CPU time and RSS a test sets. */
export function scriptedProcess(cpuUs = 0, rss = 100 * 1024 * 1024): ProcessProbe & { cpuUs: number; rss: number } {
  const probe = {
    cpuUs,
    rss,
    cpuUsageUs: () => probe.cpuUs,
    rssBytes: () => probe.rss,
  };
  return probe;
}

/** An event loop whose figures a test sets. */
export function scriptedEventLoop(): EventLoopProbe & { next: { delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; utilisation: number }; running: boolean } {
  const probe = {
    running: false,
    next: { delayP50Ms: 0, delayP99Ms: 0, delayMaxMs: 0, utilisation: 0 },
    start() {
      probe.running = true;
    },
    stop() {
      probe.running = false;
    },
    take() {
      return { ...probe.next };
    },
  };
  return probe;
}

/** A sampler that returns what the test puts in `next` (time comes from the clock). */
export function scriptedSampler(clock: { now(): number }): {
  next: Omit<ResourceSample, 'time' | 'durationMs' | 'missing'>;
  started: number;
  stopped: number;
  start(): void;
  stop(): void;
  sample(): ResourceSample;
} {
  const sampler = {
    next: {} as Omit<ResourceSample, 'time' | 'durationMs' | 'missing'>,
    started: 0,
    stopped: 0,
    start() {
      sampler.started++;
    },
    stop() {
      sampler.stopped++;
    },
    sample(): ResourceSample {
      return { time: clock.now(), durationMs: 0, missing: [], ...structuredClone(sampler.next) };
    },
  };
  return sampler;
}

/** A CPU reading with only the utilisation that matters to signals. */
export function cpuAt(utilisation: number): NonNullable<ResourceSample['cpu']> {
  return { utilisation, system: utilisation, cores: 2, process: 0 };
}
