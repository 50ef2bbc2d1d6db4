import { createScheduler, defineAdapter, type SchedulerEvent } from '@fanout/scheduler';
import { ManualClock } from '@fanout/scheduler/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMonitor, Monitor, type MonitorOptions, type SignalChangedEvent } from '../src/index.js';
import { cpuAt, scriptedSampler } from './helpers.js';

function setup(options: MonitorOptions = {}) {
  const clock = new ManualClock();
  const sampler = scriptedSampler(clock);
  const monitor = new Monitor({ clock, sampler, ...options });
  const events: SignalChangedEvent[] = [];
  monitor.on((event) => {
    if (event.type === 'pressure-changed') events.push(event);
  });
  return { clock, sampler, monitor, events };
}

describe('Monitor as a pressure source', () => {
  it('pauses and cuts the CPU kinds only, once, after 90% has lasted 3 s; lets them go with hysteresis', () => {
    const { clock, sampler, monitor, events } = setup();
    let notified = 0;
    const unsubscribe = monitor.subscribe(() => notified++);
    expect(monitor.read('grep')).toEqual({ admit: true });
    expect(monitor.read('fetch')).toEqual({ admit: true });
    sampler.next.cpu = cpuAt(0.95);
    for (let s = 0; s < 3; s++) clock.advance(1000);
    expect(monitor.read('grep').admit).toBe(true);
    clock.advance(1000);
    expect(monitor.read('grep')).toEqual({ admit: false, shrink: 0.5, reason: 'cpu 95% ≥ 90% for 3 s' });
    for (const kind of ['analyze', 'bash']) expect(monitor.read(kind)).toMatchObject({ admit: false, shrink: 0.5 });
    for (const kind of ['fetch', 'search', 'read', 'write', 'glob', 'custom']) expect(monitor.read(kind)).toEqual({ admit: true });
    expect(notified).toBe(1);
    expect(events).toEqual([{ type: 'pressure-changed', signal: 'cpu', class: 'cpu', active: true, value: 0.95, reason: 'cpu 95% ≥ 90% for 3 s', time: 4000 }]);

    // Between the release level and the threshold nothing moves, however long.
    sampler.next.cpu = cpuAt(0.85);
    for (let s = 0; s < 10; s++) clock.advance(1000);
    expect(notified).toBe(1);
    sampler.next.cpu = cpuAt(0.4);
    for (let s = 0; s < 3; s++) clock.advance(1000);
    expect(monitor.read('grep').admit).toBe(false);
    clock.advance(1000);
    // Admitted again and no cut: its limiter grows it back.
    expect(monitor.read('grep')).toEqual({ admit: true });
    expect(notified).toBe(2);
    expect(events.at(-1)).toMatchObject({ signal: 'cpu', active: false, reason: 'cpu 40% < 80% for 3 s' });
    unsubscribe();
  });

  it('stops every kind while memory is over 85%, at once', () => {
    const { clock, sampler, monitor } = setup();
    monitor.start();
    sampler.next.memory = { utilisation: 0.9, limitBytes: 100, usedBytes: 90, system: { totalBytes: 100, availableBytes: 10, utilisation: 0.9 }, processRssBytes: 1 };
    clock.advance(1000);
    for (const kind of ['grep', 'fetch', 'read', 'custom']) expect(monitor.read(kind)).toEqual({ admit: false, shrink: 0.5, reason: 'memory 90% ≥ 85%' });
    monitor.stop();
  });

  it('puts the network and disk classes under pressure from their own signals', () => {
    const { clock, sampler, monitor } = setup({ signals: { network: { sustainMs: 0 }, disk: { sustainMs: 0 } }, shrink: { disk: 0.75 } });
    monitor.start();
    sampler.next.network = { utilisation: 0.85, receiveBytesPerSecond: 85, transmitBytesPerSecond: 1, capacityBytesPerSecond: 100, interfaces: ['eth0'] };
    clock.advance(1000);
    expect(monitor.read('fetch')).toEqual({ admit: false, shrink: 0.5, reason: 'network 85% of capacity ≥ 80%' });
    expect(monitor.read('read')).toEqual({ admit: true });
    sampler.next.disk = { utilisation: 0.8, readBytesPerSecond: 1, writeBytesPerSecond: 1, devices: [{ name: 'vda', utilisation: 0.8 }] };
    clock.advance(1000);
    expect(monitor.read('glob')).toEqual({ admit: false, shrink: 0.75, reason: 'disk busy 80% ≥ 75%' });
    expect(monitor.read('grep')).toEqual({ admit: true });
    monitor.stop();
  });

  it('counts a delayed event loop against the CPU class; a second signal changes the reason, not the cut', () => {
    const { clock, sampler, monitor } = setup({ signals: { cpu: { sustainMs: 0 }, eventLoop: { sustainMs: 0 } } });
    monitor.start();
    sampler.next.eventLoop = { delayP50Ms: 5, delayP99Ms: 80, delayMaxMs: 120, utilisation: 0.9 };
    clock.advance(1000);
    expect(monitor.read('bash')).toEqual({ admit: false, shrink: 0.5, reason: 'event-loop delay p99 80 ms ≥ 50 ms' });
    sampler.next.cpu = cpuAt(0.96);
    clock.advance(1000);
    expect(monitor.read('bash')).toEqual({ admit: false, reason: 'cpu 96% ≥ 90%; event-loop delay p99 80 ms ≥ 50 ms' });
    monitor.stop();
  });

  it('cuts a kind that first appears under pressure, and honours configured classes', () => {
    const { clock, sampler, monitor } = setup({ signals: { cpu: { sustainMs: 0 } }, classes: { ocr: ['cpu'], grep: [] } });
    monitor.start();
    sampler.next.cpu = cpuAt(0.99);
    clock.advance(1000);
    expect(monitor.read('ocr')).toEqual({ admit: false, shrink: 0.5, reason: 'cpu 99% ≥ 90%' });
    expect(monitor.read('grep')).toEqual({ admit: true });
    expect(monitor.classesOf('ocr')).toEqual(['cpu', 'memory']);
    expect(monitor.classesOf('grep')).toEqual(['memory']);
    monitor.stop();
  });

  it('samples only while started or subscribed, and leaves no timer behind', () => {
    const { clock, sampler, monitor } = setup();
    expect(clock.pending).toBe(0);
    const off = monitor.subscribe(() => {});
    expect(monitor.running).toBe(true);
    expect(sampler.started).toBe(1);
    clock.advance(5000);
    off();
    expect(monitor.running).toBe(false);
    expect(sampler.stopped).toBe(1);
    expect(clock.pending).toBe(0);
    monitor.start();
    const off2 = monitor.subscribe(() => {});
    off2();
    expect(monitor.running).toBe(true);
    monitor.stop();
    expect(clock.pending).toBe(0);
    expect(monitor.latest?.time).toBe(5000);
  });

  it('lets everything go when stopped, so that no run stays paused on a measurement it lost', () => {
    const { clock, sampler, monitor } = setup({ signals: { cpu: { sustainMs: 0 } } });
    let notified = 0;
    monitor.subscribe(() => notified++);
    sampler.next.cpu = cpuAt(0.99);
    clock.advance(1000);
    monitor.read('grep');
    expect(monitor.read('grep').admit).toBe(false);
    monitor.stop();
    expect(monitor.read('grep')).toEqual({ admit: true });
    expect(notified).toBe(1);
    expect(monitor.signals().every((s) => !s.active)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('forgets pressure once the last run unsubscribes, so it does not pause the next', () => {
    const { clock, sampler, monitor } = setup({ signals: { cpu: { sustainMs: 0 } } });
    const off = monitor.subscribe(() => {});
    monitor.read('grep');
    sampler.next.cpu = cpuAt(0.99);
    clock.advance(1000);
    expect(monitor.read('grep').admit).toBe(false);
    off();
    expect(monitor.read('grep')).toEqual({ admit: true });
    sampler.next.cpu = cpuAt(0.2);
    monitor.subscribe(() => {});
    clock.advance(1000);
    expect(monitor.read('grep')).toEqual({ admit: true });
    monitor.stop();
  });

  it('refuses options out of range, naming them', () => {
    expect(() => createMonitor({ intervalMs: 0 })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'intervalMs' }));
    expect(() => createMonitor({ shrink: { cpu: 1.5 }, eventLoop: false })).toThrow(/expected shrink.cpu to be a factor in \(0, 1\], got 1.5/);
    expect(() => createMonitor({ signals: { cpu: { release: 0.95 } }, eventLoop: false })).toThrow(/signals.cpu.release/);
    expect(() => createMonitor({ runSignals: { failureRate: { shrink: 0 } }, eventLoop: false })).toThrow(/runSignals.failureRate.shrink/);
  });
});

/** An adapter whose operations take `ms` on the manual clock and fail when told to. */
function timed(kind: string, clock: ManualClock, defaults: { maxConcurrency: number; optimalConcurrency?: number }) {
  return defineAdapter({
    kind,
    input: z.object({ ms: z.number(), fail: z.boolean().optional() }),
    defaults: { idempotent: true, ...defaults },
    classify: () => 'retryable',
    run: ({ ms, fail }) =>
      new Promise<string>((resolve, reject) => {
        clock.setTimeout(() => (fail === true ? reject(new Error(`${kind} failed`)) : resolve('done')), ms);
      }),
  });
}

function ops(kind: string, n: number, input: (i: number) => { ms: number; fail?: boolean }) {
  return Array.from({ length: n }, (_, i) => ({ id: `${kind}${i}`, kind, input: input(i) }));
}

describe('Monitor wired into a scheduler (injected clock)', () => {
  it('pauses the CPU pool while the network pool keeps running, and lets limits grow back after', async () => {
    const { clock, sampler, monitor } = setup({ intervalMs: 100, signals: { cpu: { sustainMs: 200, releaseMs: 200 } } });
    // The machine is busy from 2 s to 4 s (after the limiter's first probe of no-load latency).
    monitor.on((event) => {
      if (event.type === 'sample') sampler.next.cpu = cpuAt(clock.now() >= 2000 && clock.now() < 4000 ? 0.97 : 0.3);
    });
    const scheduler = createScheduler({ adapters: [timed('grep', clock, { maxConcurrency: 16, optimalConcurrency: 8 }), timed('fetch', clock, { maxConcurrency: 8 })], clock, random: () => 0.5, pressure: monitor });
    const run = scheduler.run({ operations: [...ops('grep', 1500, () => ({ ms: 50 })), ...ops('fetch', 800, () => ({ ms: 50 }))] });
    const events: SchedulerEvent[] = [];
    run.on((event) => events.push(event));
    const result = await clock.runUntil(run.result);
    expect(result.ok).toBe(true);

    const pressure = events.filter((e) => e.type === 'pressure-changed');
    expect(pressure.map((e) => `${e.kind} ${e.admit} ${e.reason ?? ''}`)).toEqual(['grep false cpu 97% ≥ 90% for 0.2 s', 'grep true ']);
    const [paused, resumed] = pressure;
    const between = events.filter((e) => e.seq > paused!.seq && e.seq < resumed!.seq && e.type === 'op-started');
    expect(between.filter((e) => e.type === 'op-started' && e.kind === 'grep')).toHaveLength(0);
    expect(between.filter((e) => e.type === 'op-started' && e.kind === 'fetch').length).toBeGreaterThan(100);

    const grepLimits = events.filter((e): e is Extract<SchedulerEvent, { type: 'limit-changed' }> => e.type === 'limit-changed' && e.kind === 'grep');
    const cut = grepLimits.find((e) => e.reason.startsWith('cpu 97%'))!;
    expect(cut.to).toBe(Math.floor(cut.from / 2));
    const after = grepLimits.filter((e) => e.seq > resumed!.seq);
    expect(Math.max(...after.map((e) => e.to))).toBeGreaterThan(cut.to);
    expect(monitor.running).toBe(false);
  });

  it('backs a kind off when its failure rate passes 10%, and says why', async () => {
    const { clock, monitor, events } = setup({ intervalMs: 100, runSignals: { failureRate: { windowMs: 1000, minAttempts: 10 } } });
    const scheduler = createScheduler({ adapters: [timed('flaky', clock, { maxConcurrency: 8, optimalConcurrency: 8 })], clock, random: () => 0.5, pressure: monitor });
    const run = scheduler.run({ operations: ops('flaky', 300, (i) => ({ ms: 20, fail: i % 3 === 0 })) }, { limits: { flaky: { limiter: 'fixed' } }, retry: { attempts: 1 } });
    monitor.watch(run);
    const changes: string[] = [];
    run.on((e) => e.type === 'limit-changed' && changes.push(`${e.from}→${e.to} ${e.reason}`));
    await clock.runUntil(run.result);
    expect(events[0]).toMatchObject({ signal: 'failureRate', kind: 'flaky', active: true });
    expect(events[0]!.reason).toMatch(/^flaky failure rate 3\d% > 10% over 1 s$/);
    // A fixed limiter takes no cuts; the reading still says why (pressure events stay on the monitor).
    expect(changes).toEqual([]);
  });

  it('cuts an adaptive pool on a high failure rate, and on a mean response over 5 s', async () => {
    const { clock, monitor, events } = setup({ intervalMs: 100, runSignals: { failureRate: { windowMs: 1000, minAttempts: 10 }, meanResponse: { windowMs: 20_000, minAttempts: 3 } } });
    const scheduler = createScheduler({
      adapters: [timed('flaky', clock, { maxConcurrency: 8, optimalConcurrency: 8 }), timed('slow', clock, { maxConcurrency: 8, optimalConcurrency: 8 })],
      clock,
      random: () => 0.5,
      pressure: monitor,
    });
    const run = scheduler.run({ operations: [...ops('flaky', 300, (i) => ({ ms: 20, fail: i % 3 === 0 })), ...ops('slow', 16, () => ({ ms: 6000 }))] }, { retry: { attempts: 1 } });
    monitor.watch(run);
    const changes: string[] = [];
    run.on((e) => e.type === 'limit-changed' && changes.push(`${e.kind} ${e.from}→${e.to} ${e.reason}`));
    await clock.runUntil(run.result);
    expect(changes).toContainEqual(expect.stringMatching(/^flaky 8→7 flaky failure rate 3\d% > 10% over 1 s$/));
    expect(changes).toContainEqual('slow 8→6 slow mean response 6 s > 5 s over 20 s');
    expect(events.map((e) => `${e.signal} ${e.kind} ${e.active}`)).toEqual(expect.arrayContaining(['failureRate flaky true', 'meanResponse slow true']));
  });

  it('shrinks a pool that starves another of the global cap, and lets the other take the capacity', async () => {
    const { clock, monitor, events } = setup({ intervalMs: 100, runSignals: { contention: { sustainMs: 200 } } });
    const scheduler = createScheduler({
      adapters: [timed('hog', clock, { maxConcurrency: 8, optimalConcurrency: 8 }), timed('small', clock, { maxConcurrency: 4, optimalConcurrency: 4 })],
      clock,
      random: () => 0.5,
      pressure: monitor,
      concurrency: 8,
    });
    const run = scheduler.run({ operations: [...ops('hog', 200, () => ({ ms: 100 })), ...ops('small', 40, () => ({ ms: 100 }))] });
    monitor.watch(run, { concurrency: 8 });
    const log: SchedulerEvent[] = [];
    run.on((e) => log.push(e));
    await clock.runUntil(run.result);
    const contention = events.find((e) => e.signal === 'contention' && e.active)!;
    expect(contention).toMatchObject({ kind: 'hog', reason: 'contention: hog holds 8 of 8 slots while small waits' });
    const cut = log.find((e) => e.type === 'limit-changed' && e.kind === 'hog' && e.reason.startsWith('contention'));
    expect(cut).toMatchObject({ from: 8, to: 4 });
    const smallAfter = log.filter((e) => e.seq > cut!.seq && e.type === 'op-started' && e.kind === 'small');
    expect(smallAfter.length).toBeGreaterThan(0);
  });
});
