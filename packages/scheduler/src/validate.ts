/**
 * Plan validation: the whole plan checked at once, every problem reported with its path,
 * before anything runs. The per-operation checks and the compiled columns are in compile.ts.
 */
import type { Adapter } from './adapter.js';
import { PlanCompiler, type CompiledPlan } from './compile.js';
import { describeValue } from './diagnostics.js';
import type { PlanIssue } from './errors.js';
import { planSchema, type OperationSpec, type Plan } from './plan.js';
import { fromZodIssues } from './zod-issues.js';

/** Limits on what a plan may hold. */
export interface PlanLimits {
  /**
   * Most operations in a plan, fan-out children included.
   * @default 1_000_000
   */
  maxOperations?: number;
}

export const DEFAULT_MAX_OPERATIONS = 1_000_000;

/** The outcome of {@link validatePlan}. */
export type ValidationResult = { ok: true; compiled: CompiledPlan } | { ok: false; issues: PlanIssue[] };

/**
 * Validates a whole plan and reports every problem at once, each with its path: the plan's
 * shape, duplicate ids, unknown dependencies, cycles (naming the cycle), unknown kinds,
 * inputs that fail their adapter's schema, and plans over the size limit.
 */
export function validatePlan(plan: unknown, adapters: ReadonlyMap<string, Adapter>, limits: PlanLimits = {}): ValidationResult {
  const issues: PlanIssue[] = [];
  const maxOperations = limits.maxOperations ?? DEFAULT_MAX_OPERATIONS;

  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
    return { ok: false, issues: [{ code: 'FANOUT_PLAN_INVALID', path: '', message: `expected a plan object with an "operations" list, got ${describeValue(plan)}` }] };
  }
  // zod would copy a million-entry list just to learn it is a list: check that part by hand.
  const operations = (plan as { operations?: unknown }).operations;
  const top = planSchema.safeParse({ ...plan, operations: [] });
  if (!top.success || !Array.isArray(operations)) {
    const issues = top.success ? [] : fromZodIssues(top.error, plan, '', 'FANOUT_PLAN_INVALID', Object.keys(planSchema.shape));
    if (!Array.isArray(operations)) issues.push({ code: 'FANOUT_PLAN_INVALID', path: 'operations', message: `expected a list of operations, got ${describeValue(operations)}` });
    return { ok: false, issues };
  }
  if (operations.length > maxOperations) {
    return {
      ok: false,
      issues: [
        {
          code: 'FANOUT_PLAN_TOO_LARGE',
          path: 'operations',
          message: `expected at most ${maxOperations} operations, got ${operations.length}; split the plan or raise maxOperations`,
        },
      ],
    };
  }

  const compiler = new PlanCompiler(operations.length, adapters, top.data.defaults?.priority ?? 0, issues);
  // The loop is only a loop: the work per operation is a method, which V8 optimises once and
  // keeps optimised from one plan to the next (a long loop inside one big function is
  // re-optimised mid-loop on every call, and runs cold until then).
  for (let i = 0; i < operations.length; i++) compiler.operation(operations[i], i);
  const graph = compiler.finish();

  if (issues.length > 0) return { ok: false, issues };
  const { ids, index, kinds, kindOf, kindCounts, inputs, flags, priority } = compiler;
  return {
    ok: true,
    compiled: {
      plan: { ...top.data, operations } as Plan,
      count: operations.length,
      ids,
      // Never written to: the caller's plan stays as it was (fan-out children live elsewhere).
      specs: operations as readonly OperationSpec[],
      index,
      kinds,
      kindOf,
      kindCounts,
      inputs,
      flags,
      priority,
      graph,
    },
  };
}
