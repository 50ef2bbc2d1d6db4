import * as assert from 'node:assert/strict';
import { createScheduler, validatePlan, type Adapter, type RunResult } from '@fanout/scheduler';
import { eventually } from './helpers.js';

/** An input that must fail validation, and the input field the error must name. */
export interface InvalidCase {
  input: unknown;
  /** The path of the offending field inside the input, e.g. `"path"` or `"paths.1"` (dots). */
  field: string;
}

/** Real work that takes a while, and a probe of whether it has really stopped. */
export interface SlowCase<I> {
  input: I;
  /**
   * Resolves true once the real work is gone: the process no longer exists, the socket is
   * closed, the worker has ended. Polled until it says true or the bound passes.
   */
  stopped(): Promise<boolean>;
  /** Releases what the case set up (servers, files). */
  cleanup?(): Promise<void>;
}

/** An input whose natural output exceeds the adapter's caps. */
export interface BigCase<I> {
  input: I;
  /** True when `output` stays within the caps it was given. */
  within(output: unknown): boolean;
  /** True when `output` says that it was cut. */
  saysCut(output: unknown): boolean;
  cleanup?(): Promise<void>;
}

/** What an adapter hands to the shared conformance suite. */
export interface ConformanceSubject<I> {
  adapter: Adapter<I, unknown>;
  /** A valid input that succeeds quickly. */
  valid: () => Promise<{ input: I; cleanup?(): Promise<void> }>;
  /** Inputs that must be refused, each naming its field. */
  invalid: InvalidCase[];
  /** Real work to abort and to time out (called once per case). */
  slow: () => Promise<SlowCase<I>>;
  /** Output over the caps. */
  big?: () => Promise<BigCase<I>>;
  /**
   * How long the real work may take to stop after an abort or a timeout, in milliseconds.
   * A real-world bound (processes, sockets), not a timing assertion.
   * @default 5000
   */
  stopWithinMs?: number;
}

/** One check of the suite: a name and a function that throws when the adapter fails it. */
export interface ConformanceCase {
  name: string;
  run(): Promise<void>;
}

function single<I>(adapter: Adapter<I, unknown>, input: I, extra: Record<string, unknown> = {}) {
  return { operations: [{ id: 'subject', kind: adapter.kind, input, ...extra }] };
}

/**
 * The checks every adapter passes, framework-agnostic (they throw `AssertionError`):
 * bad input gets a typed error naming the field; an abort stops the real work promptly; a
 * timeout is honoured (and stops the work too); output stays within its caps and says when it
 * was cut; the contract's parts (`classify`, `locks`, defaults) are well-formed.
 *
 * @example
 * for (const check of conformanceCases(subject)) it(check.name, check.run);
 */
export function conformanceCases<I>(subject: ConformanceSubject<I>): ConformanceCase[] {
  const { adapter } = subject;
  const stopWithinMs = subject.stopWithinMs ?? 5000;
  const cases: ConformanceCase[] = [
    {
      name: `${adapter.kind}: declares a kind, a zod input schema, defaults and a classify`,
      async run() {
        assert.equal(typeof adapter.kind, 'string');
        assert.equal(typeof adapter.input.safeParse, 'function');
        assert.equal(typeof adapter.classify, 'function', 'classify is required of the adapters of this package');
        const defaults = adapter.defaults ?? {};
        assert.ok(Number.isInteger(defaults.maxConcurrency) && defaults.maxConcurrency! >= 1, 'defaults.maxConcurrency');
        assert.ok(Number.isInteger(defaults.optimalConcurrency) && defaults.optimalConcurrency! <= defaults.maxConcurrency!, 'defaults.optimalConcurrency');
        assert.ok(defaults.timeoutMs === undefined || defaults.timeoutMs > 0, 'defaults.timeoutMs');
        assert.equal(typeof defaults.idempotent, 'boolean', 'defaults.idempotent');
        for (const answer of [adapter.classify!(new Error('x')), adapter.classify!(Object.assign(new Error('r'), { code: 'ECONNRESET' }))]) {
          const cls = typeof answer === 'string' ? answer : answer.class;
          assert.ok(['retryable', 'drop', 'fatal'].includes(cls), `classify answered ${JSON.stringify(answer)}`);
        }
      },
    },
    {
      name: `${adapter.kind}: runs a valid input through the scheduler`,
      async run() {
        const { input, cleanup } = await subject.valid();
        try {
          if (adapter.locks !== undefined) assert.ok(Array.isArray(adapter.locks(adapter.input.parse(input))), 'locks(input) returns a list');
          const result = await createScheduler({ adapters: [adapter] }).execute(single(adapter, input));
          const op = result.get('subject')!;
          assert.equal(op.state, 'succeeded', `expected success, got ${op.state}: ${String((op.error as Error | undefined)?.message)}`);
        } finally {
          await cleanup?.();
        }
      },
    },
    ...subject.invalid.map(
      (bad, n): ConformanceCase => ({
        name: `${adapter.kind}: refuses bad input #${n + 1}, naming ${bad.field}`,
        async run() {
          const validation = validatePlan(single(adapter, bad.input), new Map([[adapter.kind, adapter as Adapter]]));
          if (validation.ok) {
            // Some checks can only run against the real world (a path outside the roots):
            // then the attempt must fail with a typed error naming the field.
            const result = await createScheduler({ adapters: [adapter] }).execute(single(adapter, bad.input));
            const op = result.get('subject')!;
            assert.equal(op.state, 'failed', `expected the input to be refused, got ${op.state}`);
            const error = op.error as { code?: unknown; path?: unknown; message?: unknown };
            assert.equal(typeof error.code, 'string', 'the error has a stable code');
            const named = `${String(error.path ?? '')} ${String(error.message ?? '')}`;
            assert.ok(named.includes(bad.field.split('.').at(-1)!), `expected the error to name ${bad.field}, got ${named}`);
            return;
          }
          const paths = validation.issues.map((issue) => issue.path);
          const expected = `operations[0].input.${bad.field}`.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
          assert.ok(
            paths.some((p) => p === expected || p.startsWith(`${expected}.`) || p.startsWith(`${expected}[`)),
            `expected an issue at ${expected}, got ${JSON.stringify(validation.issues)}`,
          );
        },
      }),
    ),
    {
      name: `${adapter.kind}: an abort stops the real work promptly`,
      async run() {
        const slow = await subject.slow();
        try {
          const run = createScheduler({ adapters: [adapter] }).run(single(adapter, slow.input));
          let started = false;
          run.on((event) => {
            if (event.type === 'op-started') started = true;
          });
          await eventually(() => started, stopWithinMs, 20);
          // Give the work a moment to really begin (a process to spawn, a request to be sent).
          await new Promise((resolve) => setTimeout(resolve, 100));
          run.cancel('conformance: abort');
          const result: RunResult = await run.result;
          assert.equal(result.get('subject')!.state, 'cancelled');
          assert.ok(await eventually(slow.stopped, stopWithinMs, 20), `the real work was still going ${stopWithinMs} ms after the abort`);
        } finally {
          await slow.cleanup?.();
        }
      },
    },
    {
      name: `${adapter.kind}: a timeout is honoured and stops the real work`,
      async run() {
        const slow = await subject.slow();
        try {
          const result = await createScheduler({ adapters: [adapter] }).execute(single(adapter, slow.input, { timeoutMs: 300, retry: false }));
          const op = result.get('subject')!;
          assert.equal(op.state, 'timed-out', `expected timed-out, got ${op.state}`);
          assert.ok(await eventually(slow.stopped, stopWithinMs, 20), `the real work was still going ${stopWithinMs} ms after the timeout`);
        } finally {
          await slow.cleanup?.();
        }
      },
    },
  ];
  const big = subject.big;
  if (big !== undefined) {
    cases.push({
      name: `${adapter.kind}: output stays within its caps and says it was cut`,
      async run() {
        const caseBig = await big();
        try {
          const result = await createScheduler({ adapters: [adapter] }).execute(single(adapter, caseBig.input));
          const op = result.get('subject')!;
          assert.equal(op.state, 'succeeded', `expected success, got ${op.state}: ${String((op.error as Error | undefined)?.message)}`);
          assert.ok(caseBig.within(op.output), 'the output exceeds its caps');
          assert.ok(caseBig.saysCut(op.output), 'the output does not say it was cut');
        } finally {
          await caseBig.cleanup?.();
        }
      },
    });
  }
  return cases;
}
