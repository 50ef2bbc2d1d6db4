import { createScheduler, defineAdapter } from '@fanout/scheduler';
import { ManualClock } from '@fanout/scheduler/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MetricsRecorder, Monitor } from '../src/index.js';
import { Exposition } from '../src/prometheus.js';
import { cpuAt, scriptedSampler } from './helpers.js';

/** Steps: ok after ms, or fail after ms (retryable), per attempt. */
function scripted(kind: string, clock: ManualClock, maxConcurrency: number) {
  return defineAdapter({
    kind,
    input: z.object({ steps: z.array(z.object({ ms: z.number(), fail: z.boolean().optional() })) }),
    defaults: { maxConcurrency, optimalConcurrency: maxConcurrency, idempotent: true },
    classify: () => 'retryable',
    run: ({ steps }, ctx) => {
      const step = steps[Math.min(ctx.attempt, steps.length) - 1]!;
      return new Promise((resolve, reject) => clock.setTimeout(() => (step.fail === true ? reject(new Error('scripted failure')) : resolve(step.ms)), step.ms));
    },
  });
}

async function recordedRun(monitor?: Monitor) {
  const clock = new ManualClock();
  // Fixed randomness: retry jitter then lands on whole milliseconds.
  const scheduler = createScheduler({ adapters: [scripted('grep', clock, 2), scripted('fetch', clock, 4)], clock, random: () => 0 });
  const metrics = new MetricsRecorder({ clock, resolutionMs: 0, ...(monitor === undefined ? {} : { monitor }) });
  const run = scheduler.run(
    {
      operations: [
        ...Array.from({ length: 6 }, (_, i) => ({ id: `g${i}`, kind: 'grep', input: { steps: [{ ms: 10 * (i + 1) }] } })),
        { id: 'f0', kind: 'fetch', input: { steps: [{ ms: 5, fail: true }, { ms: 7 }] } },
        { id: 'f1', kind: 'fetch', input: { steps: [{ ms: 3, fail: true }] } },
        { id: 'f2', kind: 'fetch', input: { steps: [{ ms: 1 }] }, after: ['f1'] },
      ],
    },
    { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, failure: 'isolate', limits: { grep: { limiter: 'fixed' }, fetch: { limiter: 'fixed' } } },
  );
  metrics.attach(run);
  const midway: ReturnType<MetricsRecorder['snapshot']>[] = [];
  clock.setTimeout(() => midway.push(metrics.snapshot()), 15);
  const result = await clock.runUntil(run.result);
  return { metrics, result, midway: midway[0]! };
}

describe('MetricsRecorder', () => {
  it('counts attempts and outcomes per kind and keeps latency percentiles of every attempt', async () => {
    const { metrics } = await recordedRun();
    const { kinds } = metrics.snapshot();
    expect(kinds.grep).toMatchObject({ started: 6, succeeded: 6, failed: 0, retried: 0, inflight: 0, queued: 0, limit: 2 });
    // Attempts of 10 … 60 ms: min, max and mean are exact, percentiles within the histogram's 1.6%.
    expect(kinds.grep!.latency).toMatchObject({ count: 6, min: 10, max: 60, p99: 60 });
    expect(Math.abs(kinds.grep!.latency.p50 - 30) / 30).toBeLessThanOrEqual(0.016);
    expect(kinds.grep!.latency.mean).toBeCloseTo(35, 6);
    // f0 failed once then succeeded; f1 failed twice (the second time for good); f2 was skipped.
    expect(kinds.fetch).toMatchObject({ started: 4, succeeded: 1, failed: 1, skipped: 1, retried: 2, cancelled: 0, timedOut: 0 });
    expect(kinds.fetch!.latency).toMatchObject({ count: 4, min: 3, max: 7 });
  });

  it('gives live gauges while the run goes', async () => {
    const { midway } = await recordedRun();
    // At 15 ms: g0 (10 ms) is done, g1 and g2 run, three wait; fetch is done.
    expect(midway.kinds.grep).toMatchObject({ inflight: 2, queued: 3, limit: 2, admit: true, started: 3, succeeded: 1 });
  });

  it('keeps a series of limit, in flight and queue depth per kind', async () => {
    const { metrics } = await recordedRun();
    const grep = metrics.series().grep!;
    expect(grep[0]).toMatchObject({ limit: 2 });
    expect(Math.max(...grep.map((p) => p.inflight))).toBe(2);
    expect(Math.max(...grep.map((p) => p.queued))).toBeGreaterThanOrEqual(3);
    expect(grep.at(-1)).toMatchObject({ inflight: 0, queued: 0 });
    for (let i = 1; i < grep.length; i++) expect(grep[i]!.time).toBeGreaterThanOrEqual(grep[i - 1]!.time);
    expect(JSON.parse(JSON.stringify(metrics)).series.grep).toHaveLength(grep.length);
  });

  it('keeps only the latest points once the series is full', async () => {
    const clock = new ManualClock();
    const scheduler = createScheduler({ adapters: [scripted('grep', clock, 1)], clock });
    const metrics = new MetricsRecorder({ clock, resolutionMs: 0, maxPoints: 5 });
    const run = scheduler.run({ operations: Array.from({ length: 20 }, (_, i) => ({ id: `g${i}`, kind: 'grep', input: { steps: [{ ms: 1 }] } })) }, { limits: { grep: { limiter: 'fixed' } } });
    metrics.attach(run);
    await clock.runUntil(run.result);
    const series = metrics.series().grep!;
    expect(series).toHaveLength(5);
    expect(series.at(-1)).toMatchObject({ inflight: 0, queued: 0 });
  });

  it('adds at most one point per resolution over every run, and always the last run’s end', async () => {
    const clock = new ManualClock();
    const scheduler = createScheduler({ adapters: [scripted('grep', clock, 8)], clock });
    const metrics = new MetricsRecorder({ clock, resolutionMs: 100 });
    // Five runs of one 10 ms operation each, started together: their events fall within one
    // resolution, so the series gets the first run's first point and the last run's end (a
    // clock per run gave each run's first event a point of its own).
    const runs = Array.from({ length: 5 }, (_, i) => {
      const run = scheduler.run({ operations: [{ id: `g${i}`, kind: 'grep', input: { steps: [{ ms: 10 }] } }] }, { limits: { grep: { limiter: 'fixed' } } });
      metrics.attach(run);
      return run;
    });
    await clock.runUntil(Promise.all(runs.map((run) => run.result)));
    const series = metrics.series().grep!;
    expect(series).toHaveLength(2);
    expect(series[0]!.time).toBe(0);
    expect(series.at(-1)).toMatchObject({ time: 10, inflight: 0, queued: 0 });
    expect(metrics.snapshot().kinds.grep).toMatchObject({ started: 5, succeeded: 5, inflight: 0 });
  });

  it('writes a valid Prometheus exposition with the monitor’s resources', async () => {
    const clock = new ManualClock();
    const sampler = scriptedSampler(clock);
    sampler.next = {
      cpu: cpuAt(0.42),
      memory: { utilisation: 0.5, limitBytes: 200, usedBytes: 100, system: { totalBytes: 200, availableBytes: 100, utilisation: 0.5 }, processRssBytes: 10 },
      eventLoop: { delayP50Ms: 1, delayP99Ms: 4, delayMaxMs: 9, utilisation: 0.25 },
      pressureStall: { cpu: { some: { avg10: 0.1, avg60: 0.05, avg300: 0.01, totalUs: 5 }, path: '/proc/pressure/cpu' } },
    };
    const monitor = new Monitor({ clock, sampler });
    monitor.tick();
    const { metrics } = await recordedRun(monitor);
    const text = metrics.prometheus();
    const families = validExposition(text);
    expect(families.get('fanout_operations_total')).toBe('counter');
    expect(families.get('fanout_attempt_duration_seconds')).toBe('summary');
    expect(text).toContain('fanout_operations_total{kind="fetch",state="skipped"} 1');
    expect(text).toContain('fanout_retries_total{kind="fetch"} 2');
    expect(text).toMatch(/^fanout_attempt_duration_seconds\{kind="grep",quantile="0.5"\} 0\.030\d*$/m);
    expect(text).toContain('fanout_attempt_duration_seconds_count{kind="grep"} 6');
    expect(text).toContain('fanout_attempt_duration_max_seconds{kind="grep"} 0.06');
    expect(text).toContain('fanout_cpu_utilisation{scope="system"} 0.42');
    expect(text).toContain('fanout_event_loop_delay_seconds{stat="p99"} 0.004');
    expect(text).toContain('fanout_pressure_stall_ratio{resource="cpu",type="some",window="10s"} 0.1');
    expect(text).toContain('fanout_signal_active{signal="cpu",class="cpu"} 0');
    const json = metrics.snapshot();
    expect(json.resources?.cpu?.utilisation).toBe(0.42);
    expect(json.signals?.map((s) => s.signal)).toEqual(['cpu', 'memory', 'network', 'disk', 'eventLoop']);
  });

  it('escapes label values', () => {
    const text = new Exposition().family('x', 'gauge', 'help with \\ and\nnewline').sample('x', { kind: 'a"b\\c\nd' }, NaN).toString();
    expect(text).toBe('# HELP x help with \\\\ and\\nnewline\n# TYPE x gauge\nx{kind="a\\"b\\\\c\\nd"} NaN\n');
  });
});

/** Checks the text format line by line; returns family → type. */
function validExposition(text: string): Map<string, string> {
  const families = new Map<string, string>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (-?\d+(\.\d+)?(e[-+]?\d+)?|NaN|[+-]Inf)$/;
  let help: string | undefined;
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.trimEnd().split('\n')) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (comment !== null) {
      if (comment[1] === 'HELP') help = comment[2];
      else {
        expect(comment[2]).toBe(help);
        expect(['counter', 'gauge', 'summary']).toContain(comment[3]);
        families.set(comment[2]!, comment[3]!);
      }
      continue;
    }
    const match = sample.exec(line);
    expect(match, line).not.toBeNull();
    const name = match![1]!;
    const family = [...families.keys()].at(-1)!;
    expect([family, `${family}_sum`, `${family}_count`]).toContain(name);
    if (families.get(family) === 'counter') expect(name.endsWith('_total')).toBe(true);
  }
  return families;
}
