import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter, type Adapter, type Batcher, type BatchMember, type CpuMeter, type SchedulerEvent } from '../src/index.js';
import { flush, ManualClock } from '../src/testing.js';

/** What a shared operation does: take `ms`, then return a value derived from its input, or fail. */
const shareInput = z.object({ group: z.string(), ms: z.number(), value: z.number(), fail: z.enum(['fatal', 'retryable', 'drop']).optional(), failOnce: z.boolean().optional() });
type ShareInput = z.infer<typeof shareInput>;

class ShareError extends Error {
  constructor(readonly cls: 'fatal' | 'retryable' | 'drop') {
    super(`shared ${cls} failure`);
  }
}

interface Batches {
  /** Each call of `run`: the ids of its members. */
  calls: string[][];
  /** Members seen aborted. */
  aborted: string[];
}

/** Settles one member on the manual clock as its input says. */
function settle(clock: ManualClock, member: Pick<BatchMember, 'input' | 'context' | 'resolve' | 'reject'>, aborted: string[], attempts: Map<string, number>): void {
  const input = member.input as ShareInput;
  const id = member.context.id;
  attempts.set(id, (attempts.get(id) ?? 0) + 1);
  const signal = member.context.signal;
  const timer = clock.setTimeout(() => {
    signal.removeEventListener('abort', onAbort);
    const failing = input.fail !== undefined && (!input.failOnce || member.context.attempt === 1);
    if (failing) member.reject(new ShareError(input.fail!));
    else member.resolve({ value: input.value * 2, kind: member.context.kind });
  }, input.ms);
  const onAbort = (): void => {
    clock.clearTimeout(timer);
    aborted.push(id);
    member.reject(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
}

function sharingAdapters(clock: ManualClock, kinds: Record<string, { max?: number; timeoutMs?: number }>, options: { share: boolean; maxSize?: number; throwIn?: string }) {
  const batches: Batches = { calls: [], aborted: [] };
  const attempts = new Map<string, number>();
  const batcher: Batcher = {
    key: (_kind, input) => (input as ShareInput).group,
    ...(options.maxSize === undefined ? {} : { maxSize: options.maxSize }),
    run(members) {
      batches.calls.push(members.map((m) => m.context.id));
      if (options.throwIn !== undefined && members.some((m) => (m.input as ShareInput).group === options.throwIn)) throw new Error('batcher bug');
      for (const member of members) settle(clock, member, batches.aborted, attempts);
    },
  };
  const adapters: Adapter[] = Object.entries(kinds).map(([kind, limits]) =>
    defineAdapter({
      kind,
      input: shareInput,
      defaults: { maxConcurrency: limits.max ?? 8, idempotent: true, ...(limits.timeoutMs === undefined ? {} : { timeoutMs: limits.timeoutMs }) },
      classify: (error) => (error instanceof ShareError ? error.cls : 'fatal'),
      ...(options.share ? { batcher } : {}),
      run: (input, context) =>
        new Promise((resolve, reject) => {
          settle(clock, { input, context, resolve, reject }, batches.aborted, attempts);
        }),
    }),
  );
  return { adapters, batches, attempts };
}

function op(id: string, kind: string, input: Partial<ShareInput> & { group: string }, extra: Record<string, unknown> = {}) {
  return { id, kind, input: { ms: 10, value: 1, ...input }, ...extra };
}

async function runPlan(clock: ManualClock, adapters: Adapter[], plan: unknown, options: { concurrency?: number; cpu?: CpuMeter; limits?: Record<string, { limiter: 'fixed' }> } = {}) {
  // A retry budget no plan here can spend: which retry a tight budget refuses depends on timing.
  const scheduler = createScheduler({ adapters, clock, random: () => 0.5, retryBudget: 1000, concurrency: options.concurrency ?? 16, ...(options.cpu === undefined ? {} : { cpu: options.cpu }) });
  const events: SchedulerEvent[] = [];
  const run = scheduler.run(plan, { onEvent: (event) => events.push(event), ...(options.limits === undefined ? {} : { limits: options.limits }) });
  const result = await clock.runUntil(run.result);
  return { result, events };
}

describe('batches: operations that share their work', () => {
  it('runs operations queued with the same key as one call, each with its own events and result', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { scan: {} }, { share: true });
    const plan = { operations: [op('a', 'scan', { group: 'g', value: 1 }), op('b', 'scan', { group: 'g', value: 2 }), op('c', 'scan', { group: 'h', value: 3 })] };
    const { result, events } = await runPlan(clock, adapters, plan);
    expect(batches.calls).toEqual([['a', 'b'], ['c']]);
    expect(result.get('a')).toMatchObject({ state: 'succeeded', output: { value: 2 } });
    expect(result.get('b')).toMatchObject({ state: 'succeeded', output: { value: 4 } });
    expect(result.get('c')).toMatchObject({ state: 'succeeded', output: { value: 6 } });
    expect(events.filter((e) => e.type === 'op-started').map((e) => (e as { id: string }).id)).toEqual(['a', 'b', 'c']);
    expect(events.filter((e) => e.type === 'op-finished')).toHaveLength(3);
  });

  it('counts a batch as one unit: -j 1 still runs all its members at once, and sequential counts it once', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { scan: {} }, { share: true });
    const plan = { operations: ['a', 'b', 'c', 'd'].map((id) => op(id, 'scan', { group: 'g', ms: 10 })).concat([op('e', 'scan', { group: 'other', ms: 10 })]) };
    const { result } = await runPlan(clock, adapters, plan, { concurrency: 1 });
    expect(batches.calls).toEqual([['a', 'b', 'c', 'd'], ['e']]);
    expect(result.summary.wallMs).toBe(20);
    expect(result.summary.busyMs).toBe(50);
    expect(result.summary.sequentialMs).toBe(20);
    expect(result.summary.speedup).toBe(1);
    expect(result.summary.peakInflight).toBe(1);
  });

  it('takes members of several kinds that share one batcher, but only from pools with room', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { glob: {}, grep: { max: 1 } }, { share: true });
    const plan = {
      operations: [op('busy', 'grep', { group: 'x', ms: 50 }), op('g1', 'glob', { group: 'tree', ms: 10 }), op('r1', 'grep', { group: 'tree', ms: 10 }), op('g2', 'glob', { group: 'tree', ms: 10 })],
    };
    const { result } = await runPlan(clock, adapters, plan, { limits: { glob: { limiter: 'fixed' }, grep: { limiter: 'fixed' } } });
    // grep's only slot is held by "busy": r1 waits for a later batch.
    expect(batches.calls).toEqual([['busy'], ['g1', 'g2'], ['r1']]);
    expect([...result.operations()].every((o) => o.state === 'succeeded')).toBe(true);
  });

  it('respects maxSize', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { scan: {} }, { share: true, maxSize: 2 });
    const plan = { operations: ['a', 'b', 'c', 'd', 'e'].map((id) => op(id, 'scan', { group: 'g' })) };
    await runPlan(clock, adapters, plan);
    expect(batches.calls).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('times out one member alone; the others finish, and the batch holds its slot until they do', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { scan: {} }, { share: true });
    const plan = { operations: [op('slow', 'scan', { group: 'g', ms: 100 }, { timeoutMs: 20, retry: false }), op('fast', 'scan', { group: 'g', ms: 40 }), op('next', 'scan', { group: 'h', ms: 5 })] };
    const { result, events } = await runPlan(clock, adapters, plan, { concurrency: 1 });
    expect(result.get('slow')!.state).toBe('timed-out');
    expect(result.get('fast')!.state).toBe('succeeded');
    expect(batches.aborted).toEqual(['slow']);
    const started = events.find((e) => e.type === 'op-started' && e.id === 'next')!;
    expect(started.time).toBe(40);
  });

  it('retries a failed member on its own, in a later batch', async () => {
    const clock = new ManualClock();
    const { adapters, batches, attempts } = sharingAdapters(clock, { scan: {} }, { share: true });
    const plan = { operations: [op('flaky', 'scan', { group: 'g', fail: 'retryable', failOnce: true }), op('ok', 'scan', { group: 'g' })] };
    const { result } = await runPlan(clock, adapters, plan);
    expect(result.get('flaky')).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(attempts.get('flaky')).toBe(2);
    expect(batches.calls).toEqual([['flaky', 'ok'], ['flaky']]);
  });

  it('fails every member when the batcher throws, and the run goes on', async () => {
    const clock = new ManualClock();
    const { adapters } = sharingAdapters(clock, { scan: {} }, { share: true, throwIn: 'bad' });
    const plan = { operations: [op('a', 'scan', { group: 'bad' }, { retry: false }), op('b', 'scan', { group: 'bad' }, { retry: false }), op('c', 'scan', { group: 'fine' })] };
    const { result } = await runPlan(clock, adapters, plan);
    expect(result.get('a')).toMatchObject({ state: 'failed', error: { message: 'batcher bug' } });
    expect(result.get('b')!.state).toBe('failed');
    expect(result.get('c')!.state).toBe('succeeded');
  });

  it('cancels every member of a running batch', async () => {
    const clock = new ManualClock();
    const { adapters, batches } = sharingAdapters(clock, { scan: {} }, { share: true });
    const scheduler = createScheduler({ adapters, clock });
    const run = scheduler.run({ operations: [op('a', 'scan', { group: 'g', ms: 100 }), op('b', 'scan', { group: 'g', ms: 100 })] });
    await flush();
    clock.advance(10);
    run.cancel('stop');
    const result = await clock.runUntil(run.result);
    expect(result.summary.byState.cancelled).toBe(2);
    expect(batches.aborted.sort()).toEqual(['a', 'b']);
  });

  it('counts busy stretches by the CPU used, not by the contended wall time', async () => {
    const clock = new ManualClock();
    // Two cores, fully used whenever anything runs: four computing units of 100 ms each.
    let cpu = 0;
    let running = 0;
    const meter: CpuMeter = { now: () => cpu, cores: 2 };
    const adapter = defineAdapter({
      kind: 'crunch',
      input: z.object({}),
      defaults: { maxConcurrency: 8 },
      run: () =>
        new Promise((resolve) => {
          running++;
          clock.setTimeout(() => {
            running--;
            resolve(null);
          }, 100);
        }),
    });
    const tick = (): void => {
      if (running > 0) cpu += 2 * 5;
      clock.setTimeout(tick, 5);
    };
    clock.setTimeout(tick, 5);
    const scheduler = createScheduler({ adapters: [adapter], clock, cpu: meter });
    const result = await clock.runUntil(scheduler.execute({ operations: ['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'crunch', input: {} })) }));
    expect(result.summary.busyMs).toBe(400);
    expect(result.summary.sequentialMeasured).toBe(true);
    // Alone, the four would have needed the 200 ms of CPU they used, not 4 × 100 ms.
    expect(result.summary.sequentialMs).toBeGreaterThanOrEqual(190);
    expect(result.summary.sequentialMs).toBeLessThanOrEqual(210);
  });

  it('counts a stretch as busy when the whole machine was, even if this run used little of it', async () => {
    const clock = new ManualClock();
    // A neighbour keeps both cores busy; the run itself gets 0.5 core's worth.
    const meter: CpuMeter = { now: () => clock.now() * 0.5, machine: () => ({ busyMs: clock.now() * 2, cores: 2 }), cores: 2 };
    const crunch = defineAdapter({ kind: 'crunch', input: z.object({}), defaults: { maxConcurrency: 8 }, run: () => new Promise((resolve) => clock.setTimeout(() => resolve(null), 100)) });
    const result = await clock.runUntil(createScheduler({ adapters: [crunch], clock, cpu: meter }).execute({ operations: ['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'crunch', input: {} })) }));
    // Four units over 100 ms contended: one at a time they would need at least the stretch itself.
    expect(result.summary.sequentialMs).toBe(100);
  });

  it('counts kinds that wait by wall time whatever the CPU does', async () => {
    const clock = new ManualClock();
    const meter: CpuMeter = { now: () => clock.now() * 2, cores: 2 };
    const wait = defineAdapter({
      kind: 'wait',
      input: z.object({}),
      defaults: { maxConcurrency: 8, waits: true },
      run: () => new Promise((resolve) => clock.setTimeout(() => resolve(null), 100)),
    });
    const result = await clock.runUntil(createScheduler({ adapters: [wait], clock, cpu: meter }).execute({ operations: ['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'wait', input: {} })) }));
    expect(result.summary.sequentialMs).toBe(400);
    expect(result.summary.speedup).toBe(4);
  });
});

describe('batches never change what an operation returns (fast-check)', () => {
  const opArb = fc.record({
    kind: fc.constantFrom('glob', 'grep'),
    group: fc.constantFrom('g1', 'g2', 'g3'),
    ms: fc.integer({ min: 0, max: 30 }),
    value: fc.integer({ min: -5, max: 5 }),
    fail: fc.option(fc.constantFrom('fatal' as const, 'retryable' as const, 'drop' as const), { nil: undefined }),
    failOnce: fc.boolean(),
    deps: fc.array(fc.nat(), { maxLength: 2 }),
    timeoutMs: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
  });
  const scenarioArb = fc.record({
    ops: fc.array(opArb, { minLength: 1, maxLength: 25 }),
    global: fc.integer({ min: 1, max: 6 }),
    limits: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    maxSize: fc.integer({ min: 1, max: 5 }),
  });

  it('gives every operation the same state and output with and without sharing; limits hold in units', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const plan = {
          operations: scenario.ops.map((o, i) => ({
            id: `op${i}`,
            kind: o.kind,
            input: { group: o.group, ms: o.ms, value: o.value, ...(o.fail === undefined ? {} : { fail: o.fail, failOnce: o.failOnce }) },
            after: i === 0 ? [] : [...new Set(o.deps.map((d) => `op${d % i}`))],
            retry: { attempts: 2, baseDelayMs: 1 },
            ...(o.timeoutMs !== undefined && o.ms > o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
          })),
        };
        const outcome = async (share: boolean) => {
          const clock = new ManualClock();
          const kinds = { glob: { max: scenario.limits[0] }, grep: { max: scenario.limits[1] } };
          const { adapters, batches } = sharingAdapters(clock, kinds, { share, maxSize: scenario.maxSize });
          const violations: string[] = [];
          const { result } = await runPlan(clock, adapters, plan, { concurrency: scenario.global, limits: { glob: { limiter: 'fixed' }, grep: { limiter: 'fixed' } } });
          for (const call of batches.calls) if (call.length > scenario.maxSize) violations.push(`a batch of ${call.length} > ${scenario.maxSize}`);
          return { states: [...result.operations()].map((o) => [o.id, o.state, o.output] as const), violations, summary: result.summary };
        };
        const alone = await outcome(false);
        const shared = await outcome(true);
        expect(shared.violations).toEqual([]);
        expect(shared.states).toEqual(alone.states);
        expect(shared.summary.total).toBe(plan.operations.length);
        expect(shared.summary.peakInflight).toBeLessThanOrEqual(scenario.global);
        for (const [kind, summary] of Object.entries(shared.summary.byKind)) {
          const max = kind === 'glob' ? scenario.limits[0] : scenario.limits[1];
          expect(summary.peakInflight, `${kind} units in flight`).toBeLessThanOrEqual(max);
        }
      }),
      { numRuns: 200 },
    );
  });
});
