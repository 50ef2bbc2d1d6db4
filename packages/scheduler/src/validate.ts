import type { Adapter } from './adapter.js';
import { describeValue, type PlanIssue } from './errors.js';
import { buildGraph, type Graph } from './graph.js';
import { hashString, IdIndex } from './id-index.js';
import { MAX_PRIORITY, operationSchema, planSchema, type OperationSpec, type OutputRef, type Plan } from './plan.js';
import { findRefs } from './refs.js';
import { fromZodIssues, joinPath } from './zod-issues.js';

/** Limits on what a plan may hold. */
export interface PlanLimits {
  /**
   * Most operations in a plan, fan-out children included.
   * @default 1_000_000
   */
  maxOperations?: number;
}

export const DEFAULT_MAX_OPERATIONS = 1_000_000;

/** A plan that passed validation, compiled into flat arrays for the engine. */
export interface CompiledPlan {
  plan: Plan;
  count: number;
  ids: string[];
  specs: OperationSpec[];
  index: IdIndex;
  /** The distinct adapters the plan uses, in order of first use. */
  kinds: Adapter[];
  /** Index into `kinds` of each operation. */
  kindOf: Uint16Array;
  /** Parsed input of each operation (raw when it holds references). */
  inputs: unknown[];
  /** {@link OpFlag} bits of each operation. */
  flags: Uint8Array;
  priority: Int32Array;
  graph: Graph;
}

/** The outcome of {@link validatePlan}. */
export type ValidationResult = { ok: true; compiled: CompiledPlan } | { ok: false; issues: PlanIssue[] };

const OPERATION_KEYS = Object.keys(operationSchema.shape);

/** What an operation sets beyond id, kind and plain input; hot paths test these bits. */
export const OpFlag = {
  /** The input holds references to resolve when the operation becomes ready. */
  Refs: 1,
  ForEach: 2,
  Locks: 4,
  Timeout: 8,
  Retry: 16,
} as const;

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

  const count = operations.length;
  const ids = new Array<string>(count);
  // A copy: fan-outs append their children's specs, and the caller's plan must stay as it was.
  const specs = operations.slice() as OperationSpec[];
  const index = new IdIndex(ids);
  const hashes = new Int32Array(count);
  const kinds: Adapter[] = [];
  const kindTakesAnything: boolean[] = [];
  const kindOf = new Uint16Array(count);
  let lastKindIndex = 0;
  const inputs = new Array<unknown>(count);
  const flags = new Uint8Array(count);
  const priority = new Int32Array(count);
  const valid = new Uint8Array(count);
  const defaultPriority = top.data.defaults?.priority ?? 0;
  const refTargets: { op: number; id: string; path: string }[] = [];

  let lastKind = '';
  let lastAdapter: Adapter | undefined;
  for (let i = 0; i < count; i++) {
    const op = operations[i] as OperationSpec;
    const base = `operations[${i}]`;
    if (!isPlainOperation(op)) {
      const parsed = operationSchema.safeParse(op);
      if (!parsed.success) {
        issues.push(...fromZodIssues(parsed.error, op, base, 'FANOUT_PLAN_INVALID', OPERATION_KEYS));
        const id = (op as { id?: unknown } | null)?.id;
        ids[i] = typeof id === 'string' ? id : `\u0000invalid-${i}`;
        hashes[i] = hashString(ids[i]!);
        continue;
      }
    }
    valid[i] = 1;
    ids[i] = op.id;
    hashes[i] = hashString(op.id);
    priority[i] = op.priority ?? defaultPriority;

    const adapter = op.kind === lastKind ? lastAdapter : adapters.get(op.kind);
    if (adapter === undefined) {
      const known = [...adapters.keys()].sort();
      issues.push({
        code: 'FANOUT_PLAN_UNKNOWN_KIND',
        path: `${base}.kind`,
        message: `unknown kind "${op.kind}"; expected one of: ${known.length > 0 ? known.join(', ') : '(no adapters registered)'}`,
      });
    } else {
      if (adapter !== lastAdapter) {
        lastKind = op.kind;
        lastAdapter = adapter;
        lastKindIndex = kinds.indexOf(adapter);
        if (lastKindIndex < 0) {
          lastKindIndex = kinds.push(adapter) - 1;
          kindTakesAnything.push(acceptsAnything(adapter.input));
        }
      }
      kindOf[i] = lastKindIndex;
    }

    let refs = false;
    if (typeof op.input === 'object' && op.input !== null) {
      refs = findRefs(op.input, `${base}.input`, ({ ref, path }) => {
        if ('$ref' in ref) {
          const problem = checkRef(ref, path);
          if (problem !== undefined) issues.push(problem);
          else refTargets.push({ op: i, id: ref.$ref, path: `${path}.$ref` });
        } else {
          if (op.forEach === undefined) {
            issues.push({ code: 'FANOUT_PLAN_INVALID', path, message: 'expected "$item" only in an operation with "forEach", which has none' });
          }
        }
      });
    }
    if (op.forEach !== undefined) refTargets.push({ op: i, id: op.forEach.$ref, path: `${base}.forEach.$ref` });
    flags[i] =
      (refs ? OpFlag.Refs : 0) |
      (op.forEach === undefined ? 0 : OpFlag.ForEach) |
      (op.locks === undefined ? 0 : OpFlag.Locks) |
      (op.timeoutMs === undefined ? 0 : OpFlag.Timeout) |
      (op.retry === undefined ? 0 : OpFlag.Retry);

    if (adapter !== undefined && op.forEach === undefined && !refs && !kindTakesAnything[lastKindIndex]) {
      const parsed = adapter.input.safeParse(op.input);
      if (parsed.success) inputs[i] = parsed.data;
      else issues.push(...fromZodIssues(parsed.error, op.input, `${base}.input`, 'FANOUT_INPUT_INVALID'));
    } else {
      // Checked once its references are resolved (when it becomes ready), or taken as is.
      inputs[i] = op.input;
    }
  }

  for (const [later, earlier] of IdIndex.duplicates(ids, count, hashes)) {
    issues.push({ code: 'FANOUT_PLAN_DUPLICATE_ID', path: `operations[${later}].id`, message: `duplicate id "${ids[later]}", already used by operations[${earlier}]` });
  }

  // Dependencies: `after`, plus every operation a `$ref` or `forEach` points to.
  const depStart = new Int32Array(count + 1);
  const deps: number[] = [];
  let refCursor = 0;
  for (let i = 0; i < count; i++) {
    depStart[i] = deps.length;
    if (valid[i] === 0) continue;
    const op = operations[i] as OperationSpec;
    const after = op.after;
    if (after !== undefined) {
      for (let j = 0; j < after.length; j++) {
        const target = index.get(after[j]!);
        const path = `operations[${i}].after[${j}]`;
        if (target < 0) issues.push(unknownDependency(after[j]!, path, ids));
        else if (target === i) issues.push({ code: 'FANOUT_PLAN_CYCLE', path, message: `"${op.id}" waits for itself` });
        else pushUnique(deps, depStart[i]!, target);
      }
    }
    while (refCursor < refTargets.length && refTargets[refCursor]!.op === i) {
      const { id, path } = refTargets[refCursor++]!;
      const target = index.get(id);
      if (target < 0) issues.push(unknownDependency(id, path, ids));
      else if (target === i) issues.push({ code: 'FANOUT_PLAN_CYCLE', path, message: `"${op.id}" refers to its own output` });
      else pushUnique(deps, depStart[i]!, target);
    }
  }
  depStart[count] = deps.length;

  const graph = buildGraph(count, depStart, Int32Array.from(deps));
  for (const cycle of graph.cycles) {
    const names = cycle.map((i) => `"${ids[i]}"`);
    issues.push({
      code: 'FANOUT_PLAN_CYCLE',
      path: `operations[${cycle[0]}].after`,
      message: `dependency cycle: ${[...names, names[0]].join(' → ')} (each runs after the one before it, so none can start)`,
    });
  }

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    compiled: { plan: { ...top.data, operations } as Plan, count, ids, specs, index, kinds, kindOf, inputs, flags, priority, graph },
  };
}

function checkRef(ref: OutputRef, path: string): PlanIssue | undefined {
  const keys = Object.keys(ref);
  for (const key of keys) {
    if (key !== '$ref' && key !== 'path') {
      return { code: 'FANOUT_PLAN_INVALID', path: joinPath(path, [key]), message: `unknown field "${key}" in a reference (expected "$ref" and an optional "path")` };
    }
  }
  if (typeof ref.$ref !== 'string' || ref.$ref === '') {
    return { code: 'FANOUT_PLAN_INVALID', path: `${path}.$ref`, message: `expected the id of an operation, got ${describeValue(ref.$ref)}` };
  }
  const p = ref.path;
  if (p !== undefined && typeof p !== 'string' && !(Array.isArray(p) && p.every((s) => typeof s === 'string' || (Number.isInteger(s) && s >= 0)))) {
    return { code: 'FANOUT_PLAN_INVALID', path: `${path}.path`, message: `expected a dotted path or an array of keys and indexes, got ${describeValue(p)}` };
  }
  return undefined;
}

function unknownDependency(id: string, path: string, ids: readonly string[]): PlanIssue {
  const hint = closest(id, ids);
  return {
    code: 'FANOUT_PLAN_UNKNOWN_DEPENDENCY',
    path,
    message: `expected the id of an operation in this plan, got "${id}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
  };
}

function pushUnique(deps: number[], from: number, target: number): void {
  for (let k = from; k < deps.length; k++) if (deps[k] === target) return;
  deps.push(target);
}

/**
 * The shape check for the common case, an operation with only plain fields, without running
 * zod: a million-operation plan validates in a few milliseconds. Anything else (or anything
 * wrong) goes through `operationSchema`, which stays the single source of truth.
 */
function isPlainOperation(op: unknown): op is OperationSpec {
  if (typeof op !== 'object' || op === null || Array.isArray(op)) return false;
  const o = op as Record<string, unknown>;
  for (const key in o) {
    switch (key) {
      case 'id':
      case 'kind':
      case 'input':
        break;
      case 'after': {
        const after = o.after;
        if (after === undefined) break;
        if (!Array.isArray(after)) return false;
        for (let i = 0; i < after.length; i++) if (typeof after[i] !== 'string' || after[i] === '') return false;
        break;
      }
      case 'priority': {
        const p = o.priority;
        if (p !== undefined && !(Number.isInteger(p) && Math.abs(p as number) <= MAX_PRIORITY)) return false;
        break;
      }
      case 'timeoutMs': {
        const t = o.timeoutMs;
        if (t !== undefined && !(typeof t === 'number' && t > 0 && t <= 2 ** 31 - 1)) return false;
        break;
      }
      default:
        return false;
    }
  }
  const id = o.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 512 && typeof o.kind === 'string' && o.kind !== '';
}

/** Does the schema accept any value unchanged (`z.unknown()`, `z.any()`)? Then skip parsing. */
function acceptsAnything(schema: Adapter['input']): boolean {
  const type = (schema as { _zod?: { def?: { type?: string } } })._zod?.def?.type;
  return type === 'unknown' || type === 'any';
}

/** The id nearest to `id` by edit distance, when near enough to be a likely typo. */
function closest(id: string, ids: readonly string[]): string | undefined {
  if (ids.length > 10_000) return undefined;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(id.length / 3)) + 1;
  for (const candidate of ids) {
    if (Math.abs(candidate.length - id.length) >= bestDistance) continue;
    const d = editDistance(id, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
