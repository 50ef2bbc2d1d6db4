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
  specs: readonly OperationSpec[];
  index: IdIndex;
  /** The distinct adapters the plan uses, in order of first use. */
  kinds: Adapter[];
  /** Index into `kinds` of each operation. */
  kindOf: Uint16Array;
  /** Operations per kind. */
  kindCounts: number[];
  /** Parsed input of each operation (raw when it holds references); absent when none has one. */
  inputs: unknown[] | undefined;
  /** {@link OpFlag} bits of each operation. */
  flags: Uint8Array;
  /** Priority of each operation; absent when all are 0. */
  priority: Int32Array | undefined;
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
  // Never written to: the caller's plan stays as it was (fan-out children live elsewhere).
  const specs = operations as readonly OperationSpec[];
  const index = new IdIndex(ids);
  const hashes = new Int32Array(count);
  const kinds: Adapter[] = [];
  const kindTakesAnything: boolean[] = [];
  const kindCounts: number[] = [];
  const kindOf = new Uint16Array(count);
  let lastKindIndex = 0;
  // Allocated on first use: a plan of a million no-ops needs neither.
  let inputs: unknown[] | undefined;
  let priority: Int32Array | undefined;
  const flags = new Uint8Array(count);
  const valid = new Uint8Array(count);
  const defaultPriority = top.data.defaults?.priority ?? 0;
  const edges = new EdgeList();
  // References whose target was not seen yet: resolved (or reported unknown) after the loop.
  const pending: { op: number; id: string; path: string; self: string }[] = [];
  const duplicate = (later: number, earlier: number): void => {
    issues.push({ code: 'FANOUT_PLAN_DUPLICATE_ID', path: `operations[${later}].id`, message: `duplicate id "${ids[later]}", already used by operations[${earlier}]` });
  };
  // Dependencies are resolved as they come, through the id table, which is started on the
  // first dependency; a plan without any never builds it (duplicates are then found by the
  // cheaper bitmap filter after the loop).
  const depend = (i: number, target: string, path: string, self: string): void => {
    if (!index.built) {
      index.start(count);
      for (let j = 0; j <= i; j++) {
        if (valid[j] === 0) continue;
        const earlier = index.insert(j, hashes[j]);
        if (earlier >= 0) duplicate(j, earlier);
      }
    }
    const to = index.get(target);
    if (to < 0 || to >= i) pending.push({ op: i, id: target, path, self });
    else edges.add(i, to);
  };

  let lastKind = '';
  let lastAdapter: Adapter | undefined;
  for (let i = 0; i < count; i++) {
    const op = operations[i] as OperationSpec;
    // Paths into the plan are built only for messages: this loop runs a million times.
    let shape = plainShape(op);
    if (shape < 0) {
      const parsed = operationSchema.safeParse(op);
      if (!parsed.success) {
        issues.push(...fromZodIssues(parsed.error, op, `operations[${i}]`, 'FANOUT_PLAN_INVALID', OPERATION_KEYS));
        const id = (op as { id?: unknown } | null)?.id;
        ids[i] = typeof id === 'string' ? id : `\u0000invalid-${i}`;
        hashes[i] = hashString(ids[i]!);
        continue;
      }
      shape =
        (op.locks === undefined ? 0 : OpFlag.Locks) |
        (op.timeoutMs === undefined ? 0 : OpFlag.Timeout) |
        (op.retry === undefined ? 0 : OpFlag.Retry) |
        (op.forEach === undefined ? 0 : OpFlag.ForEach);
    }
    valid[i] = 1;
    const id = op.id;
    ids[i] = id;
    const hash = hashString(id);
    hashes[i] = hash;
    if (index.built) {
      const earlier = index.insert(i, hash);
      if (earlier >= 0) duplicate(i, earlier);
    }
    const p = op.priority ?? defaultPriority;
    if (p !== 0) (priority ??= new Int32Array(count))[i] = p;

    const adapter = op.kind === lastKind ? lastAdapter : adapters.get(op.kind);
    if (adapter === undefined) {
      const known = [...adapters.keys()].sort();
      issues.push({
        code: 'FANOUT_PLAN_UNKNOWN_KIND',
        path: `operations[${i}].kind`,
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
          kindCounts.push(0);
        }
      }
      kindOf[i] = lastKindIndex;
      kindCounts[lastKindIndex]!++;
    }

    const after = op.after;
    if (after !== undefined) {
      for (let j = 0; j < after.length; j++) depend(i, after[j]!, `operations[${i}].after[${j}]`, 'waits for itself');
    }
    const input = op.input;
    let refs = false;
    if (typeof input === 'object' && input !== null) {
      refs = findRefs(input, `operations[${i}].input`, ({ ref, path }) => {
        if ('$ref' in ref) {
          const problem = checkRef(ref, path);
          if (problem !== undefined) issues.push(problem);
          else depend(i, ref.$ref, `${path}.$ref`, 'refers to its own output');
        } else if (op.forEach === undefined) {
          issues.push({ code: 'FANOUT_PLAN_INVALID', path, message: 'expected "$item" only in an operation with "forEach", which has none' });
        }
      });
    }
    if ((shape & OpFlag.ForEach) !== 0) depend(i, op.forEach!.$ref, `operations[${i}].forEach.$ref`, 'fans out over its own output');
    flags[i] = shape | (refs ? OpFlag.Refs : 0);

    if (adapter !== undefined && (shape & OpFlag.ForEach) === 0 && !refs && !kindTakesAnything[lastKindIndex]) {
      const parsed = adapter.input.safeParse(input);
      if (parsed.success) {
        if (parsed.data !== undefined) (inputs ??= new Array<unknown>(count))[i] = parsed.data;
      } else issues.push(...fromZodIssues(parsed.error, input, `operations[${i}].input`, 'FANOUT_INPUT_INVALID'));
    } else if (input !== undefined) {
      // Checked once its references are resolved (when it becomes ready), or taken as is.
      (inputs ??= new Array<unknown>(count))[i] = input;
    }
  }

  if (!index.built) {
    for (const [later, earlier] of IdIndex.duplicates(ids, count, hashes)) duplicate(later, earlier);
  }
  for (const ref of pending) {
    const to = index.get(ref.id);
    if (to < 0) issues.push(unknownDependency(ref.id, ref.path, ids));
    else if (to === ref.op) issues.push({ code: 'FANOUT_PLAN_CYCLE', path: ref.path, message: `"${ids[ref.op]}" ${ref.self}` });
    else edges.add(ref.op, to);
  }

  const graph = buildGraph(count, edges.from, edges.to, edges.size);
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
    compiled: { plan: { ...top.data, operations } as Plan, count, ids, specs, index, kinds, kindOf, kindCounts, inputs, flags, priority, graph },
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

/** A growable list of dependency edges: `from[k]` waits for `to[k]`. */
class EdgeList {
  from = new Int32Array(64);
  to = new Int32Array(64);
  size = 0;

  add(from: number, to: number): void {
    if (this.size === this.from.length) {
      const grownFrom = new Int32Array(this.size * 2);
      grownFrom.set(this.from);
      this.from = grownFrom;
      const grownTo = new Int32Array(this.size * 2);
      grownTo.set(this.to);
      this.to = grownTo;
    }
    this.from[this.size] = from;
    this.to[this.size] = to;
    this.size++;
  }
}

/**
 * The shape check for the common case, an operation with plain fields only, without running
 * zod: a million-operation plan validates in a few milliseconds. Returns the operation's
 * `OpFlag` bits for timeout (the only flag a plain operation can have), or -1 when the
 * operation needs `operationSchema`, which stays the single source of truth (and describes
 * what is wrong).
 */
function plainShape(op: unknown): number {
  if (typeof op !== 'object' || op === null || Array.isArray(op)) return -1;
  const o = op as Record<string, unknown>;
  let shape = 0;
  for (const key in o) {
    switch (key) {
      case 'id':
      case 'kind':
      case 'input':
        break;
      case 'after': {
        const after = o.after;
        if (after === undefined) break;
        if (!Array.isArray(after)) return -1;
        for (let i = 0; i < after.length; i++) if (typeof after[i] !== 'string' || after[i] === '') return -1;
        break;
      }
      case 'priority': {
        const p = o.priority;
        if (p !== undefined && !(Number.isInteger(p) && Math.abs(p as number) <= MAX_PRIORITY)) return -1;
        break;
      }
      case 'timeoutMs': {
        const t = o.timeoutMs;
        if (t === undefined) break;
        if (!(typeof t === 'number' && t > 0 && t <= 2 ** 31 - 1)) return -1;
        shape |= OpFlag.Timeout;
        break;
      }
      default:
        return -1;
    }
  }
  const id = o.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 512 && typeof o.kind === 'string' && o.kind !== '' ? shape : -1;
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
