/**
 * Type tests of the public surface, checked by `tsc` (the typecheck target of `npm test`):
 * what `defineAdapter` infers, what a `Plan` accepts, the options, and the typed error codes.
 * A line marked `@ts-expect-error` fails the typecheck the day it starts to compile.
 */
import { expectTypeOf } from 'vitest';
import { z } from 'zod';
import {
  createScheduler,
  defineAdapter,
  FanoutError,
  OptionCheck,
  PlanValidationError,
  type Adapter,
  type AttemptContext,
  type FailurePolicy,
  type OperationSpec,
  type Plan,
  type PlanIssue,
  type RunOptions,
  type RunResult,
  type SchedulerErrorCode,
  type SchedulerOptions,
} from '@fanout/scheduler';

// defineAdapter: the input type comes from the zod schema, the output from run.
const upper = defineAdapter({
  kind: 'upper',
  input: z.object({ text: z.string() }),
  run: (input, context) => {
    expectTypeOf(input).toEqualTypeOf<{ text: string }>();
    expectTypeOf(context).toEqualTypeOf<AttemptContext>();
    return input.text.toUpperCase();
  },
  locks: (input) => [input.text],
  close: async () => {},
});
expectTypeOf(upper).toEqualTypeOf<Adapter<{ text: string }, string>>();
expectTypeOf(upper).toMatchTypeOf<Adapter>();

defineAdapter({
  kind: 'bad',
  // @ts-expect-error the schema gives a number where run takes a string
  input: z.object({ n: z.number() }),
  run: (input: { n: string }) => input.n,
});

// The adapter contract's close is optional and returns nothing or a promise of nothing.
expectTypeOf<Adapter['close']>().toEqualTypeOf<(() => void | Promise<void>) | undefined>();

// Plans: ids, kinds and inputs; dependencies by id.
const plan: Plan = {
  operations: [
    { id: 'a', kind: 'upper', input: { text: 'x' } },
    { id: 'b', kind: 'upper', input: { text: 'y' }, after: ['a'] },
  ],
};
expectTypeOf(plan.operations).toEqualTypeOf<readonly OperationSpec[]>();
// @ts-expect-error an operation needs an id
const noId: Plan = { operations: [{ kind: 'upper', input: {} }] };
// @ts-expect-error after lists ids, not one id
const badAfter: Plan = { operations: [{ id: 'a', kind: 'upper', after: 'b' }] };
void noId;
void badAfter;

// Options: the scheduler's and a run's.
const options: SchedulerOptions = { adapters: [upper], concurrency: 8 };
expectTypeOf(createScheduler(options).execute).returns.toEqualTypeOf<Promise<RunResult>>();
expectTypeOf<RunOptions['failure']>().toEqualTypeOf<FailurePolicy | undefined>();
expectTypeOf<'isolate'>().toMatchTypeOf<FailurePolicy>();
expectTypeOf<{ halt: 'now' }>().toMatchTypeOf<FailurePolicy>();
// @ts-expect-error the failure policy is one of three
const badFailure: RunOptions = { failure: 'stop' };
void badFailure;

// Error codes: literal unions the compiler checks.
expectTypeOf(new FanoutError<SchedulerErrorCode>('FANOUT_PLAN_CYCLE', 'a cycle').code).toEqualTypeOf<SchedulerErrorCode>();
// @ts-expect-error not a scheduler code
new FanoutError<SchedulerErrorCode>('FANOUT_PLAN_CYCLES', 'a typo');
expectTypeOf(new PlanValidationError([]).code).toEqualTypeOf<'FANOUT_PLAN_INVALID'>();
expectTypeOf<PlanIssue['code']>().toEqualTypeOf<SchedulerErrorCode>();
expectTypeOf(new OptionCheck(FanoutError).integer(undefined, 'concurrency', 4)).toEqualTypeOf<number>();
expectTypeOf(new OptionCheck(FanoutError).integer(undefined, 'concurrency')).toEqualTypeOf<number | undefined>();
