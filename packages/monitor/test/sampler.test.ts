import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@fanout/scheduler/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceSampler, type ResourceSample } from '../src/index.js';
import { FIXTURES, fixtureTree, scriptedEventLoop, scriptedProcess } from './helpers.js';

const GiB = 1024 ** 3;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const sources = (sample: ResourceSample) => sample.missing.map((m) => m.source);

describe('ResourceSampler on a container (cgroup v2)', () => {
  async function sampleContainer() {
    const tree = await fixtureTree('container/t0');
    cleanups.push(tree.remove);
    const clock = new ManualClock(5000);
    const process = scriptedProcess(1_000_000);
    const eventLoop = scriptedEventLoop();
    const sampler = new ResourceSampler({ procRoot: tree.proc, cgroupRoot: tree.cgroup, clock, process, eventLoop, networkCapacity: 15_625_000 });
    sampler.start();
    expect(eventLoop.running).toBe(true);
    await tree.advance('container/t1');
    clock.advance(1000);
    process.cpuUs = 1_300_000;
    eventLoop.next = { delayP50Ms: 1, delayP99Ms: 12, delayMaxMs: 30, utilisation: 0.4 };
    const sample = sampler.sample();
    sampler.stop();
    expect(eventLoop.running).toBe(false);
    return { sample, sampler };
  }

  it('finds its cgroup and the ancestors whose limits bind it', async () => {
    const { sampler } = await sampleContainer();
    expect(sampler.cgroup?.path).toBe('/kubepods/pod1/ctr');
    expect(sampler.cgroup?.dirs.map((d) => d.slice(d.indexOf('/cgroup') + 7) || '/')).toEqual(['/kubepods/pod1/ctr', '/kubepods/pod1', '/kubepods', '/']);
  });

  it('measures CPU against the tightest quota: 1.5 cores of 4, the busier of machine and cgroup', async () => {
    const { sample } = await sampleContainer();
    // /proc/stat: 300 busy ticks of 400. pod1: 1.2 s of CPU in 1 s under a 1.5-CPU quota.
    expect(sample.cpu).toMatchObject({ system: 0.75, cores: 1.5 });
    expect(sample.cpu!.cgroup).toMatchObject({ cores: 1.5 });
    expect(sample.cpu!.cgroup!.utilisation).toBeCloseTo(0.8, 10);
    expect(sample.cpu!.utilisation).toBeCloseTo(0.8, 10);
    // The process used 0.3 s of CPU in 1 s, of 1.5 cores.
    expect(sample.cpu!.process).toBeCloseTo(0.2, 10);
    expect(sample.cpu!.cgroup!.path).toMatch(/kubepods\/pod1$/);
  });

  it('measures memory against the most used limit, page cache that can be reclaimed left out', async () => {
    const { sample } = await sampleContainer();
    // pod1: 3.75 GiB current − 0.25 GiB inactive file = 3.5 GiB of 4 GiB; kubepods 5 of 8; machine 75%.
    expect(sample.memory).toMatchObject({ limitBytes: 4 * GiB, usedBytes: 3.5 * GiB, utilisation: 0.875, processRssBytes: 100 * 1024 * 1024 });
    expect(sample.memory!.system).toEqual({ totalBytes: 16384000 * 1024, availableBytes: 4096000 * 1024, utilisation: 0.75 });
    expect(sample.memory!.cgroup).toMatchObject({ limitBytes: 4 * GiB, currentBytes: 3.75 * GiB, usedBytes: 3.5 * GiB, utilisation: 0.875 });
  });

  it('measures disk busy time on whole disks only, and their throughput', async () => {
    const { sample } = await sampleContainer();
    // vda: 600 ms of I/O in 1 s; 4096 sectors read and 2048 written. vda1 (a partition), loop0
    // and sr0 (virtual) are left out.
    expect(sample.disk).toEqual({ utilisation: 0.6, readBytesPerSecond: 4096 * 512, writeBytesPerSecond: 2048 * 512, devices: [{ name: 'vda', utilisation: 0.6 }] });
  });

  it('measures network throughput without loopback, against the configured capacity', async () => {
    const { sample } = await sampleContainer();
    expect(sample.network).toEqual({ receiveBytesPerSecond: 12_500_000, transmitBytesPerSecond: 6_250_000, capacityBytesPerSecond: 15_625_000, utilisation: 0.8, interfaces: ['eth0'] });
  });

  it('prefers the cgroup’s own pressure stall files to the machine’s', async () => {
    const { sample } = await sampleContainer();
    expect(sample.pressureStall!.cpu).toMatchObject({ some: { avg10: 0.4 }, full: { avg10: 0.1 } });
    expect(sample.pressureStall!.cpu!.path).toMatch(/ctr\/cpu\.pressure$/);
    expect(sample.pressureStall!.io!.path).toMatch(/proc\/pressure\/io$/);
    expect(sample.pressureStall!.memory!.some.avg10).toBeCloseTo(0.01, 10);
  });

  it('passes the event loop figures on, and misses nothing', async () => {
    const { sample } = await sampleContainer();
    expect(sample.eventLoop).toEqual({ delayP50Ms: 1, delayP99Ms: 12, delayMaxMs: 30, utilisation: 0.4 });
    expect(sample.missing).toEqual([]);
    expect(sample.time).toBe(6000);
  });
});

describe('ResourceSampler where things are missing', () => {
  it('on a host without cgroup limits, uses the machine', async () => {
    const clock = new ManualClock();
    const sampler = new ResourceSampler({ procRoot: join(FIXTURES, 'host/proc'), cgroupRoot: join(FIXTURES, 'host/cgroup'), clock, eventLoop: false, process: scriptedProcess() });
    expect(sampler.cgroup?.path).toBe('/user.slice/session-1.scope');
    sampler.start();
    clock.advance(1000);
    const sample = sampler.sample();
    expect(sample.memory).toMatchObject({ utilisation: 0.25, limitBytes: 8192000 * 1024 });
    expect(sample.memory!.cgroup).toBeUndefined();
    // /proc/stat did not move: no CPU figure rather than a made-up one.
    expect(sample.cpu).toBeUndefined();
    expect(sources(sample)).toEqual(['eventLoop', 'disk', 'network', 'pressureStall']);
    expect(sample.missing.find((m) => m.source === 'disk')?.reason).toMatch(/host\/proc\/diskstats not found/);
  });

  it('on an old kernel with cgroup v1 only, says so and measures the rest', () => {
    const sampler = new ResourceSampler({ procRoot: join(FIXTURES, 'old-kernel/proc'), cgroupRoot: join(FIXTURES, 'old-kernel/cgroup'), clock: new ManualClock(), eventLoop: false });
    const sample = sampler.sample();
    expect(sampler.cgroup).toBeUndefined();
    expect(sample.missing[0]).toEqual({ source: 'cgroup', reason: expect.stringMatching(/has no cgroup v2 entry \(cgroup v1 only\)/) });
    expect(sample.missing.find((m) => m.source === 'pressureStall')?.reason).toMatch(/CONFIG_PSI/);
    expect(sample.memory!.system.availableBytes).toBe((512000 + 128000 + 1408000) * 1024);
  });

  it('without a cgroup v2 mount, says where it looked', () => {
    const sampler = new ResourceSampler({ procRoot: join(FIXTURES, 'old-kernel/proc'), cgroupRoot: join(FIXTURES, 'nowhere'), eventLoop: false });
    expect(sampler.sample().missing[0]!.reason).toMatch(/cgroup v2 is not mounted at .*nowhere \(no cgroup.controllers\)/);
  });

  it('on an empty /proc, reports every source missing and throws nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fanout-monitor-empty-'));
    cleanups.push(() => rm(empty, { recursive: true, force: true }));
    const sampler = new ResourceSampler({ procRoot: empty, cgroupRoot: empty, eventLoop: false });
    sampler.start();
    const sample = sampler.sample();
    expect(sources(sample).sort()).toEqual(['cgroup', 'cpu', 'disk', 'eventLoop', 'memory', 'network', 'pressureStall']);
    expect(sample.cpu).toBeUndefined();
    expect(sample.memory).toBeUndefined();
  });

  it('turns malformed files into missing signals that carry a clear error', () => {
    const sampler = new ResourceSampler({ procRoot: join(FIXTURES, 'malformed/proc'), cgroupRoot: join(FIXTURES, 'malformed/cgroup'), eventLoop: false });
    sampler.start();
    const sample = sampler.sample();
    const errors = sample.missing.filter((m) => m.error !== undefined);
    expect(errors.map((m) => m.source).sort()).toEqual(['cgroup', 'cpu', 'disk', 'memory', 'network', 'pressureStall', 'pressureStall', 'pressureStall']);
    for (const { error } of errors) {
      expect(error).toMatchObject({ name: 'MonitorError', code: 'FANOUT_MONITOR_MALFORMED' });
      expect(error!.path).toMatch(/malformed\/proc\//);
      expect(error!.message).toMatch(/^expected .+ in .+, got /);
    }
    expect(sample.cpu ?? sample.memory ?? sample.disk ?? sample.network ?? sample.pressureStall).toBeUndefined();
  });

  it('turns malformed cgroup files into missing cgroup figures, keeping the machine’s', () => {
    const clock = new ManualClock();
    const sampler = new ResourceSampler({ procRoot: join(FIXTURES, 'malformed-cgroup/proc'), cgroupRoot: join(FIXTURES, 'malformed-cgroup/cgroup'), clock, eventLoop: false });
    const sample = sampler.sample();
    expect(sample.memory).toMatchObject({ utilisation: 0.75 });
    expect(sample.memory!.cgroup).toBeUndefined();
    const cgroup = sample.missing.filter((m) => m.source === 'cgroup');
    expect(cgroup.map((m) => m.error?.path?.replace(/.*malformed-cgroup\//, ''))).toEqual(['cgroup/job/cpu.max', 'cgroup/job/memory.max']);
  });

  it('off Linux, measures CPU and memory with node:os and says which signals are missing', async () => {
    const clock = new ManualClock();
    const sampler = new ResourceSampler({ platform: 'darwin', clock, eventLoop: false, procRoot: '/does/not/matter' });
    sampler.start();
    // Let real CPU time pass so that os.cpus() counters move.
    const until = performance.now() + 60;
    while (performance.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 20));
    clock.advance(80);
    const sample = sampler.sample();
    expect(sample.cpu!.cores).toBeGreaterThanOrEqual(1);
    expect(sample.cpu!.utilisation).toBeGreaterThanOrEqual(0);
    expect(sample.cpu!.utilisation).toBeLessThanOrEqual(1);
    expect(sample.memory!.utilisation).toBeGreaterThan(0);
    expect(sample.disk ?? sample.network ?? sample.pressureStall).toBeUndefined();
    expect(sample.missing.filter((m) => m.reason === 'not measured on darwin (Linux only)').map((m) => m.source)).toEqual(['disk', 'network', 'pressureStall', 'cgroup']);
  });

  it('refuses a network capacity that is not a positive number', () => {
    expect(() => new ResourceSampler({ networkCapacity: 0 })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'networkCapacity' }));
  });
});

describe.runIf(process.platform === 'linux')('ResourceSampler on this machine', () => {
  it('measures the real /proc', async () => {
    const sampler = new ResourceSampler();
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sample = sampler.sample();
    sampler.stop();
    expect(sample.cpu!.utilisation).toBeGreaterThanOrEqual(0);
    expect(sample.cpu!.utilisation).toBeLessThanOrEqual(1);
    expect(sample.memory!.processRssBytes).toBeGreaterThan(1024 * 1024);
    expect(sample.eventLoop!.delayP99Ms).toBeGreaterThanOrEqual(0);
    expect(sample.missing.filter((m) => m.error !== undefined)).toEqual([]);
  });
});
