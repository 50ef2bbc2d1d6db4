/**
 * Plan compilation: one pass over a plan's operations that checks each one and fills the flat
 * columns the engine runs on (ids, kinds, flags, priorities, parsed inputs, the graph).
 * validate.ts drives it and decides what a valid plan is; this file is the per-operation work.
 */
import type { Adapter } from './adapter.js';
import { describeValue } from './diagnostics.js';
import type { PlanIssue } from './errors.js';
import { buildGraph, type Graph } from './graph.js';
import { hashString, IdIndex } from './id-index.js';
import { MAX_PRIORITY, operationSchema, type OperationSpec, type OutputRef, type Plan } from './plan.js';
import { escapedExcerpt } from './excerpt.js';
import { findRefs, MAX_INPUT_DEPTH } from './refs.js';
import { joinPath } from './diagnostics.js';
import { fromZodIssues } from './zod-issues.js';

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

/** The state of one validation: every column of the compiled plan, filled operation by operation. */
export class PlanCompiler {
  readonly ids: string[];
  readonly index: IdIndex;
  readonly hashes: Int32Array;
  readonly kinds: Adapter[] = [];
  readonly kindCounts: number[] = [];
  readonly kindOf: Uint16Array;
  readonly flags: Uint8Array;
  /** Allocated on first use: a plan of a million no-ops needs neither. */
  inputs: unknown[] | undefined;
  priority: Int32Array | undefined;
  readonly #count: number;
  readonly #adapters: ReadonlyMap<string, Adapter>;
  readonly #defaultPriority: number;
  readonly #issues: PlanIssue[];
  readonly #valid: Uint8Array;
  readonly #takesAnything: boolean[] = [];
  readonly #edges = new EdgeList();
  /** References whose target was not seen yet: resolved (or reported unknown) at the end. */
  readonly #pending: { op: number; id: string; path: string; self: string }[] = [];
  #lastKind = '';
  #lastAdapter: Adapter | undefined;
  #lastKindIndex = 0;

  constructor(count: number, adapters: ReadonlyMap<string, Adapter>, defaultPriority: number, issues: PlanIssue[]) {
    this.#count = count;
    this.#adapters = adapters;
    this.#defaultPriority = defaultPriority;
    this.#issues = issues;
    this.ids = new Array<string>(count);
    this.index = new IdIndex(this.ids);
    this.hashes = new Int32Array(count);
    this.kindOf = new Uint16Array(count);
    this.flags = new Uint8Array(count);
    this.#valid = new Uint8Array(count);
  }

  /** Checks operation `i` and fills its columns. Paths are built only for messages. */
  operation(value: unknown, i: number): void {
    const issues = this.#issues;
    let shape = plainShape(value);
    const op = value as OperationSpec;
    if (shape < 0) {
      const parsed = operationSchema.safeParse(op);
      if (!parsed.success) {
        issues.push(...fromZodIssues(parsed.error, op, `operations[${i}]`, 'FANOUT_PLAN_INVALID', OPERATION_KEYS));
        const id = (op as { id?: unknown } | null)?.id;
        this.ids[i] = typeof id === 'string' ? id : `\u0000invalid-${i}`;
        this.hashes[i] = hashString(this.ids[i]!);
        return;
      }
      shape = (op.locks === undefined ? 0 : OpFlag.Locks) | (op.timeoutMs === undefined ? 0 : OpFlag.Timeout) | (op.retry === undefined ? 0 : OpFlag.Retry) | (op.forEach === undefined ? 0 : OpFlag.ForEach);
    }
    this.#valid[i] = 1;
    const id = op.id;
    this.ids[i] = id;
    const hash = hashString(id);
    this.hashes[i] = hash;
    if (this.index.built) {
      const earlier = this.index.insert(i, hash);
      if (earlier >= 0) this.#duplicate(i, earlier);
    }
    const p = op.priority ?? this.#defaultPriority;
    if (p !== 0) (this.priority ??= new Int32Array(this.#count))[i] = p;

    const adapter = op.kind === this.#lastKind ? this.#lastAdapter : this.#adapters.get(op.kind);
    if (adapter === undefined) {
      const known = [...this.#adapters.keys()].sort();
      issues.push({
        code: 'FANOUT_PLAN_UNKNOWN_KIND',
        path: `operations[${i}].kind`,
        message: `unknown kind "${op.kind}"; expected one of: ${known.length > 0 ? known.join(', ') : '(no adapters registered)'}`,
      });
    } else {
      if (adapter !== this.#lastAdapter) this.#switchKind(op.kind, adapter);
      this.kindOf[i] = this.#lastKindIndex;
      this.kindCounts[this.#lastKindIndex]!++;
    }

    const after = op.after;
    if (after !== undefined) {
      // The path is a number (the index in "after") until a message needs it: most edges never do.
      for (let j = 0; j < after.length; j++) this.#depend(i, after[j]!, j, 'waits for itself');
    }
    const input = op.input;
    let refs = false;
    let tooDeep = false;
    if (typeof input === 'object' && input !== null) {
      refs = findRefs(
        input,
        () => `operations[${i}].input`,
        ({ ref, path }) => {
          if ('$ref' in ref) {
            const problem = checkRef(ref, path);
            if (problem !== undefined) issues.push(problem);
            else this.#depend(i, ref.$ref, `${path}.$ref`, 'refers to its own output');
          } else if (op.forEach === undefined) {
            issues.push({ code: 'FANOUT_PLAN_INVALID', path, message: 'expected "$item" only in an operation with "forEach", which has none' });
          }
        },
        (path) => {
          tooDeep = true;
          issues.push({
            code: 'FANOUT_PLAN_TOO_DEEP',
            path: `operations[${i}].input`,
            message: `expected an input nested at most ${MAX_INPUT_DEPTH} levels deep, got deeper at ${shortPath(path)}`,
          });
        },
      );
    }
    if ((shape & OpFlag.ForEach) !== 0) this.#depend(i, op.forEach!.$ref, `operations[${i}].forEach.$ref`, 'fans out over its own output');
    this.flags[i] = shape | (refs ? OpFlag.Refs : 0);

    if (tooDeep) return; // zod would walk it recursively, one stack frame per level
    if (adapter !== undefined && (shape & OpFlag.ForEach) === 0 && !refs && !this.#takesAnything[this.#lastKindIndex]) {
      const parsed = adapter.input.safeParse(input);
      if (parsed.success) {
        if (parsed.data !== undefined) (this.inputs ??= new Array<unknown>(this.#count))[i] = parsed.data;
      } else issues.push(...fromZodIssues(parsed.error, input, `operations[${i}].input`, 'FANOUT_INPUT_INVALID'));
    } else if (input !== undefined) {
      // Checked once its references are resolved (when it becomes ready), or taken as is.
      (this.inputs ??= new Array<unknown>(this.#count))[i] = input;
    }
  }

  /** After every operation: duplicates (when no table was needed), forward references, the graph. */
  finish(): Graph {
    const { ids, index, hashes } = this;
    if (!index.built) {
      for (const [later, earlier] of IdIndex.duplicates(ids, this.#count, hashes)) this.#duplicate(later, earlier);
    }
    for (const ref of this.#pending) {
      const to = index.get(ref.id);
      if (to < 0) this.#issues.push(unknownDependency(ref.id, ref.path, ids));
      else if (to === ref.op) this.#issues.push({ code: 'FANOUT_PLAN_CYCLE', path: ref.path, message: `"${ids[ref.op]}" ${ref.self}` });
      else this.#edges.add(ref.op, to);
    }
    const graph = buildGraph(this.#count, this.#edges.from, this.#edges.to, this.#edges.size);
    for (const cycle of graph.cycles) {
      this.#issues.push({
        code: 'FANOUT_PLAN_CYCLE',
        path: `operations[${cycle[0]}].after`,
        message: `dependency cycle: ${describeCycle(cycle.map((i) => ids[i]!))} (each runs after the one before it, so none can start)`,
      });
    }
    return graph;
  }

  #switchKind(kind: string, adapter: Adapter): void {
    this.#lastKind = kind;
    this.#lastAdapter = adapter;
    this.#lastKindIndex = this.kinds.indexOf(adapter);
    if (this.#lastKindIndex < 0) {
      this.#lastKindIndex = this.kinds.push(adapter) - 1;
      this.#takesAnything.push(acceptsAnything(adapter.input));
      this.kindCounts.push(0);
    }
  }

  #duplicate(later: number, earlier: number): void {
    this.#issues.push({ code: 'FANOUT_PLAN_DUPLICATE_ID', path: `operations[${later}].id`, message: `duplicate id "${this.ids[later]}", already used by operations[${earlier}]` });
  }

  /**
   * Operation `i` depends on `target`. Dependencies are resolved as they come, through the id
   * table, which is started on the first dependency; a plan without any never builds it
   * (duplicates are then found by the cheaper bitmap filter in `finish`).
   */
  /** `path` is the dependency's path, or its index in `after` (the path is built only if needed). */
  #depend(i: number, target: string, path: string | number, self: string): void {
    const index = this.index;
    if (!index.built) {
      index.start(this.#count);
      for (let j = 0; j <= i; j++) {
        if (this.#valid[j] === 0) continue;
        const earlier = index.insert(j, this.hashes[j]);
        if (earlier >= 0) this.#duplicate(j, earlier);
      }
    }
    const to = index.get(target);
    if (to < 0 || to >= i) this.#pending.push({ op: i, id: target, path: typeof path === 'number' ? `operations[${i}].after[${path}]` : path, self });
    else this.#edges.add(i, to);
  }
}

function checkRef(ref: OutputRef, path: string): PlanIssue | undefined {
  const keys = Object.keys(ref);
  for (const key of keys) {
    if (key !== '$ref' && key !== 'path' && key !== 'optional') {
      return { code: 'FANOUT_PLAN_INVALID', path: joinPath(path, [key]), message: `unknown field "${key}" in a reference (expected "$ref", and optionally "path" and "optional")` };
    }
  }
  if (typeof ref.$ref !== 'string' || ref.$ref === '') {
    return { code: 'FANOUT_PLAN_INVALID', path: `${path}.$ref`, message: `expected the id of an operation, got ${describeValue(ref.$ref)}` };
  }
  if (ref.optional !== undefined && typeof ref.optional !== 'boolean') {
    return { code: 'FANOUT_PLAN_INVALID', path: `${path}.optional`, message: `expected true or false, got ${describeValue(ref.optional)}` };
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

/** Most operations of a cycle named in its message; a longer one shows its ends and its length. */
const CYCLE_SHOWN = 8;

/**
 * A cycle as `"a" → "b" → … → "a"`. A cycle of 100,000 operations would make a message of a
 * megabyte: past {@link CYCLE_SHOWN} it shows the first five and the last two, and how many
 * there are. Ids are escaped excerpts (a hostile id writes no raw bytes to a terminal).
 */
export function describeCycle(ids: readonly string[]): string {
  const name = (id: string): string => escapedExcerpt(id, 40);
  if (ids.length <= CYCLE_SHOWN) return [...ids, ids[0]!].map(name).join(' → ');
  const head = ids.slice(0, 5).map(name);
  const tail = ids.slice(-2).map(name);
  return `${[...head, `… ${ids.length - 7} more …`, ...tail, name(ids[0]!)].join(' → ')} (${ids.length} operations)`;
}

/** A path in the plan, cut in the middle when long (one 10,000 levels deep is 40 KB). */
function shortPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 80)}…${path.slice(-30)} (${path.length} characters)`;
}
