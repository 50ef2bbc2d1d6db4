import { z } from 'zod';

/**
 * A value taken from a dependency's output when the operation becomes ready.
 * `path` walks into the output: `"files"`, `"files.0"`, or `["files", 0]`.
 *
 * @example
 * { "$ref": "find", "path": "files" }
 */
export interface OutputRef {
  $ref: string;
  path?: string | readonly (string | number)[];
  /**
   * Resolve to `null` when the operation did not succeed, instead of skipping this one. Only
   * meaningful with the `continue` failure policy (with `isolate`, dependents of a failure are
   * skipped before their input is looked at).
   * @default false
   */
  optional?: boolean;
}

/**
 * The current item of a fan-out (see {@link OperationSpec.forEach}); `true` for the whole
 * item, or a path into it.
 *
 * @example
 * { "$item": true }
 */
export interface ItemRef {
  $item: true | string | readonly (string | number)[];
}

/**
 * A value passed on as written, even when it holds `$ref` or `$item` keys (a JSON Schema, say).
 *
 * @example
 * { "$literal": { "$ref": "#/definitions/user" } }
 */
export interface LiteralValue {
  $literal: unknown;
}

/** A lock on a resource key. A plain string key is a write (exclusive) lock. */
export interface LockSpec {
  key: string;
  /** @default "write" */
  mode?: 'read' | 'write';
}

/** How an operation is retried. `false` or `{ attempts: 1 }` turns retries off. */
export interface RetrySpec {
  /**
   * Most attempts in all, the first one included.
   * @default 3
   */
  attempts?: number;
  /**
   * Backoff base: the delay before retry n is drawn uniformly from
   * [0, min(maxDelayMs, baseDelayMs × 2^(n-1))] ("full jitter").
   * @default 100
   */
  baseDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
  /**
   * Retry even when the adapter says the operation is not idempotent.
   * @default false
   */
  force?: boolean;
  /**
   * Retry every failure, even one the adapter calls fatal (a command exiting non-zero), the
   * way GNU parallel's `--retries` does. Implies `force`.
   * @default false
   */
  anyFailure?: boolean;
}

/** One operation of a plan. */
export interface OperationSpec {
  /** Unique within the plan. */
  id: string;
  /** The adapter that runs it. */
  kind: string;
  /** The adapter's input; values may be {@link OutputRef}s or, in a fan-out, {@link ItemRef}s. */
  input?: unknown;
  /** Ids of operations that must end first. A `$ref` in the input adds its operation here. */
  after?: readonly string[];
  /**
   * Higher runs first among ready operations; an integer within ±1e9.
   * @default 0
   */
  priority?: number;
  /** Timeout of each attempt, from its start. Defaults to the adapter's, then the run's. */
  timeoutMs?: number;
  retry?: RetrySpec | number | false;
  /** Resource keys held while the operation runs, besides those the adapter derives. */
  locks?: readonly (string | LockSpec)[];
  /**
   * Fans out: one child operation per item of the list this reference points to. Children are
   * named `id[0]`, `id[1]`, …, inherit everything else, and may use {@link ItemRef}s. The
   * operation itself ends when its children have, with their outputs as its output.
   */
  forEach?: OutputRef;
}

/** How a failure affects the rest of the run. */
export type FailurePolicy =
  /** A failure never cancels siblings; its dependents are skipped with the reason. */
  | 'isolate'
  /** Dependents run anyway. */
  | 'continue'
  /**
   * After `failures` failures (default 1): `now` cancels what runs, `soon` lets it finish;
   * both start nothing new.
   */
  | { halt: 'now' | 'soon'; failures?: number };

/** Run settings a plan may carry; options passed to `run()` override them. */
export interface PlanPolicy {
  /** @default "isolate" */
  failure?: FailurePolicy;
  /** Cancels what is left, as `timed-out`, this long after the run starts. */
  deadlineMs?: number;
  /** An operation that waits this long to start ends `timed-out`. */
  queueTimeoutMs?: number;
}

/** A plan: operations as data, validated as a whole before anything runs. */
export interface Plan {
  /** Free-form name shown in summaries. */
  name?: string;
  operations: readonly OperationSpec[];
  /** Defaults for every operation that does not set its own. */
  defaults?: Pick<OperationSpec, 'priority' | 'timeoutMs' | 'retry'>;
  policy?: PlanPolicy;
}

const pathSchema = z.union([z.string(), z.array(z.union([z.string(), z.number().int().nonnegative()]))]);

export const outputRefSchema = z
  .object({ $ref: z.string().min(1), path: pathSchema.optional(), optional: z.boolean().optional() })
  .strict()
  .describe('A value taken from the output of the operation named by $ref');

export const lockSpecSchema = z.union([z.string().min(1), z.object({ key: z.string().min(1), mode: z.enum(['read', 'write']).optional() }).strict()]);

export const retrySpecSchema = z.union([
  z.literal(false),
  z.number().int().min(1).max(100),
  z
    .object({
      attempts: z.number().int().min(1).max(100).optional(),
      baseDelayMs: z.number().min(0).optional(),
      maxDelayMs: z.number().min(0).optional(),
      force: z.boolean().optional(),
      anyFailure: z.boolean().optional(),
    })
    .strict(),
]);

/** Priorities pack with path lengths into one double; see `readyKey`. */
export const MAX_PRIORITY = 1e9;

const prioritySchema = z.number().int().min(-MAX_PRIORITY).max(MAX_PRIORITY);
const timeoutSchema = z
  .number()
  .positive()
  .max(2 ** 31 - 1);

export const operationSchema = z
  .object({
    id: z.string().min(1).max(512),
    kind: z.string().min(1),
    input: z.unknown().optional(),
    after: z.array(z.string().min(1)).optional(),
    priority: prioritySchema.optional(),
    timeoutMs: timeoutSchema.optional(),
    retry: retrySpecSchema.optional(),
    locks: z.array(lockSpecSchema).optional(),
    forEach: outputRefSchema.optional(),
  })
  .strict();

export const failurePolicySchema = z.union([z.enum(['isolate', 'continue']), z.object({ halt: z.enum(['now', 'soon']), failures: z.number().int().min(1).optional() }).strict()]);

export const planPolicySchema = z
  .object({
    failure: failurePolicySchema.optional(),
    deadlineMs: timeoutSchema.optional(),
    queueTimeoutMs: timeoutSchema.optional(),
  })
  .strict();

/** The plan's zod schema; the validator and the published JSON Schema come from it. */
export const planSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().optional(),
    operations: z.array(z.unknown()),
    defaults: z.object({ priority: prioritySchema.optional(), timeoutMs: timeoutSchema.optional(), retry: retrySpecSchema.optional() }).strict().optional(),
    policy: planPolicySchema.optional(),
  })
  .strict();

/** JSON Schema of a plan file, for editors and `fanout schema`. */
export function planJsonSchema(): Record<string, unknown> {
  const schema = planSchema.extend({ operations: z.array(operationSchema) });
  return {
    ...z.toJSONSchema(schema, { io: 'input' }),
    title: 'fanout plan',
    description: 'Operations run in parallel by default and in order only where `after` or a `$ref` says so.',
  };
}

/** Is `value` an {@link OutputRef}-shaped object? */
export function isOutputRef(value: unknown): value is OutputRef {
  return typeof value === 'object' && value !== null && '$ref' in value && !Array.isArray(value);
}

/** Is `value` a {@link LiteralValue}? */
export function isLiteral(value: unknown): value is LiteralValue {
  return typeof value === 'object' && value !== null && '$literal' in value && !Array.isArray(value);
}

/** Is `value` an {@link ItemRef}-shaped object? */
export function isItemRef(value: unknown): value is ItemRef {
  return typeof value === 'object' && value !== null && '$item' in value && !Array.isArray(value);
}
