import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FailurePolicy, SchedulerEvent } from '../src/index.js';
import { flush } from '../src/testing.js';
import { harness, type Step } from './helpers.js';

const KINDS = ['a', 'b', 'c'] as const;
const KEYS = ['k1', 'k2', 'k3'];

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ ok: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ fail: fc.integer({ min: 0, max: 20 }), error: fc.constantFrom('retryable', 'drop', 'fatal') }) },
  { weight: 1, arbitrary: fc.constant({ hang: true as const }) },
);

interface GenOp {
  kind: (typeof KINDS)[number];
  steps: Step[];
  deps: number[];
  priority: number;
  locks: { key: string; mode: 'read' | 'write' }[];
  retry: number;
  timeoutMs: number | undefined;
}

const opArb: fc.Arbitrary<GenOp> = fc.record({
  kind: fc.constantFrom(...KINDS),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }),
  deps: fc.array(fc.nat(), { maxLength: 3 }),
  priority: fc.integer({ min: -2, max: 2 }),
  locks: fc.array(fc.record({ key: fc.constantFrom(...KEYS), mode: fc.constantFrom('read' as const, 'write' as const) }), { maxLength: 2 }),
  retry: fc.integer({ min: 1, max: 3 }),
  timeoutMs: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
});

const scenarioArb = fc.record({
  ops: fc.array(opArb, { minLength: 1, maxLength: 30 }),
  limits: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
  global: fc.integer({ min: 1, max: 8 }),
  failure: fc.constantFrom<FailurePolicy>('isolate', 'continue', { halt: 'now' }, { halt: 'soon' }, { halt: 'soon', failures: 3 }),
  limitChanges: fc.array(fc.record({ at: fc.integer({ min: 0, max: 100 }), kind: fc.constantFrom(...KINDS), limit: fc.integer({ min: 1, max: 5 }) }), { maxLength: 4 }),
  cancelAt: fc.option(fc.integer({ min: 0, max: 150 }), { nil: undefined }),
  queueTimeoutMs: fc.option(fc.integer({ min: 20, max: 200 }), { nil: undefined }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function toPlan(scenario: Scenario) {
  return {
    operations: scenario.ops.map((o, i) => ({
      id: `op${i}`,
      kind: o.kind,
      input: { steps: o.steps },
      // Dependencies only on earlier operations: always a DAG.
      after: i === 0 ? [] : [...new Set(o.deps.map((d) => `op${d % i}`))],
      priority: o.priority,
      locks: o.locks,
      retry: o.retry,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    })),
  };
}

async function execute(scenario: Scenario) {
  const [la, lb, lc] = scenario.limits;
  const h = harness(
    { a: { maxConcurrency: la, idempotent: true }, b: { maxConcurrency: lb, idempotent: true }, c: { maxConcurrency: lc, idempotent: false } },
    { concurrency: scenario.global, limits: { a: { limiter: 'fixed' }, b: { limiter: 'fixed' }, c: { limiter: 'fixed' } }, retryBudget: 20 },
  );
  const plan = toPlan(scenario);
  // A deadline past every generated time, so that hanging attempts end too.
  const run = h.scheduler.run(plan, { failure: scenario.failure, deadlineMs: 1000, ...(scenario.queueTimeoutMs === undefined ? {} : { queueTimeoutMs: scenario.queueTimeoutMs }) });
  const events: SchedulerEvent[] = [];
  const limits = new Map<string, number>(KINDS.map((k, i) => [k, scenario.limits[i]!]));
  const violations: string[] = [];
  run.on((event) => {
    events.push(event);
    if (event.type === 'limit-changed') limits.set(event.kind, event.to);
    if (event.type === 'op-started') {
      // Counted on the adapter's side; the adapter is called right after this event.
      const inflight = (h.trace.inflight.get(event.kind) ?? 0) + 1;
      if (inflight > limits.get(event.kind)!) violations.push(`${event.id}: ${inflight} in flight over limit ${limits.get(event.kind)}`);
      const global = [...h.trace.inflight.values()].reduce((x, y) => x + y, 0) + 1;
      if (global > scenario.global) violations.push(`${event.id}: ${global} in flight over the global cap ${scenario.global}`);
    }
  });
  await flush();
  const changes = [...scenario.limitChanges].sort((x, y) => x.at - y.at);
  let cancelledAt: number | undefined;
  let settled = false;
  void run.result.then(
    () => (settled = true),
    () => (settled = true),
  );
  // Drive the clock by hand so that limit changes and the cancel land at their times.
  for (;;) {
    await flush();
    if (settled) break;
    const nextChange = changes[0]?.at ?? Infinity;
    const cancel = scenario.cancelAt !== undefined && cancelledAt === undefined ? scenario.cancelAt : Infinity;
    const nextTimer = h.clock.nextAt ?? Infinity;
    const next = Math.min(nextChange, cancel, nextTimer);
    if (next === Infinity) throw new Error('the run hangs: no timer left and not settled');
    h.clock.advance(Math.max(0, next - h.clock.now()));
    while (changes.length > 0 && changes[0]!.at <= h.clock.now()) {
      const change = changes.shift()!;
      if (plan.operations.some((o) => o.kind === change.kind)) run.setLimit(change.kind, change.limit);
    }
    if (cancel <= h.clock.now() && cancelledAt === undefined) {
      cancelledAt = h.clock.now();
      run.cancel('property test');
    }
  }
  const result = await run.result;
  return { h, plan, events, result, violations, cancelledAt };
}

describe('scheduler invariants (fast-check)', () => {
  it('every operation ends exactly once; dependencies, limits and write locks always hold', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const { h, plan, events, result, violations, cancelledAt } = await execute(scenario);
        expect(violations).toEqual([]);

        // Exactly one terminal state per operation, once.
        const finished = events.filter((e): e is Extract<SchedulerEvent, { type: 'op-finished' }> => e.type === 'op-finished');
        const ids = plan.operations.map((o) => o.id);
        expect(finished.map((e) => e.id).sort()).toEqual([...ids].sort());
        const total = Object.values(result.summary.byState).reduce((a, b) => a + b, 0);
        expect(total).toBe(ids.length);
        expect(result.summary.total).toBe(ids.length);

        // No operation starts before its dependencies have ended (and, when isolating, succeeded).
        const endSeq = new Map(finished.map((e) => [e.id, e]));
        for (const event of events) {
          if (event.type !== 'op-started') continue;
          const spec = plan.operations.find((o) => o.id === event.id)!;
          for (const dep of spec.after) {
            const depEnd = endSeq.get(dep)!;
            expect(depEnd.seq).toBeLessThan(event.seq);
            if (scenario.failure === 'isolate') expect(depEnd.state).toBe('succeeded');
          }
        }

        // Write locks are exclusive: intervals on one key never overlap a write.
        const held = new Map<string, { id: string; mode: string; start: number; end: number }[]>();
        const open = new Map<string, number>();
        for (const entry of h.trace.log) {
          const key = `${entry.id}#${entry.attempt}`;
          if (entry.type === 'start') open.set(key, entry.at);
          else {
            const spec = scenario.ops[Number(entry.id.slice(2))]!;
            for (const lock of spec.locks) {
              const mode = spec.locks.some((l) => l.key === lock.key && l.mode === 'write') ? 'write' : 'read';
              const list = held.get(lock.key) ?? [];
              list.push({ id: entry.id, mode, start: open.get(key)!, end: entry.at });
              held.set(lock.key, list);
            }
          }
        }
        for (const list of held.values()) {
          for (let x = 0; x < list.length; x++) {
            for (let y = x + 1; y < list.length; y++) {
              const p = list[x]!;
              const q = list[y]!;
              if (p.id === q.id || (p.mode === 'read' && q.mode === 'read')) continue;
              const overlap = p.start < q.end && q.start < p.end;
              expect(overlap, `${p.id} (${p.mode}) and ${q.id} (${q.mode}) overlap`).toBe(false);
            }
          }
        }

        // Cancelling settles everything at once: the run ends at the moment of the cancel.
        if (cancelledAt !== undefined && result.summary.byState.cancelled > 0) {
          expect(result.summary.wallMs).toBe(cancelledAt);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('resuming from a journal never reruns a success', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-prop-'));
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ fails: fc.boolean(), deps: fc.array(fc.nat(), { maxLength: 2 }) }), { minLength: 1, maxLength: 20 }), async (ops) => {
          const path = join(dir, `journal-${n++}.ndjson`);
          const plan = (failing: boolean) => ({
            operations: ops.map((o, i) => ({
              id: `op${i}`,
              kind: 'work',
              input: { steps: [failing && o.fails ? { fail: 1, error: 'fatal' } : { ok: 1 }] },
              after: i === 0 ? [] : [...new Set(o.deps.map((d) => `op${d % i}`))],
            })),
          });
          // Both runs see the same plan: what failed fails again, what succeeded must not rerun.
          const first = await harness().run(plan(true), { journal: path });
          const succeeded = new Set([...first.operations()].filter((r) => r.state === 'succeeded').map((r) => r.id));
          const h2 = harness();
          const second = await h2.run(plan(true), { journal: { path, mode: 'resume' } });
          for (const id of h2.trace.calls.keys()) expect(succeeded.has(id)).toBe(false);
          for (const id of succeeded) expect(second.get(id)).toMatchObject({ state: 'succeeded', resumed: true });
        }),
        { numRuns: 40 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
