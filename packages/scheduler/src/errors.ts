/** Stable error codes of `@fanout/scheduler`. Match on `code`, never on the message. */
export type SchedulerErrorCode =
  | 'FANOUT_PLAN_INVALID'
  | 'FANOUT_PLAN_TOO_LARGE'
  | 'FANOUT_PLAN_TOO_DEEP'
  | 'FANOUT_INPUT_INVALID'
  | 'FANOUT_REF_UNRESOLVED'
  | 'FANOUT_FOREACH_NOT_LIST'
  | 'FANOUT_ATTEMPT_TIMEOUT'
  | 'FANOUT_QUEUE_TIMEOUT'
  | 'FANOUT_RUN_DEADLINE'
  | 'FANOUT_CANCELLED'
  | 'FANOUT_HALTED'
  | 'FANOUT_DEPENDENCY_FAILED'
  | 'FANOUT_CHILDREN_FAILED'
  | 'FANOUT_NOT_RETRIED'
  | 'FANOUT_JOURNAL_INVALID'
  | 'FANOUT_JOURNAL_IO'
  | 'FANOUT_ADAPTER_INVALID'
  | 'FANOUT_OPTION_INVALID'
  | 'FANOUT_OPERATION_FAILED';

export interface FanoutErrorOptions {
  cause?: unknown;
  /** Where the problem is, as a path into the plan or config (`operations[3].after[0]`). */
  path?: string;
}

/**
 * Base class of every error the scheduler creates. Carries a stable `code`, an optional
 * `path` into the plan, and the `cause`.
 */
export class FanoutError extends Error {
  override name = 'FanoutError';
  readonly code: string;
  readonly path: string | undefined;

  constructor(code: string, message: string, options: FanoutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }

  /** A plain, JSON-serialisable view (for events, journals and reports). */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/** One problem found while validating a plan. */
export interface PlanIssue {
  code: string;
  /** Path in the plan, e.g. `operations[4].input.path`. */
  path: string;
  message: string;
}

/** Thrown by `run()` / `validate()` when a plan is invalid; lists every problem found. */
export class PlanValidationError extends FanoutError {
  override name = 'PlanValidationError';
  readonly issues: readonly PlanIssue[];

  constructor(issues: readonly PlanIssue[]) {
    const head = issues
      .slice(0, 20)
      .map((issue) => `  - ${issue.path}: ${issue.message}`)
      .join('\n');
    const more = issues.length > 20 ? `\n  … and ${issues.length - 20} more` : '';
    super('FANOUT_PLAN_INVALID', `The plan has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${head}${more}`);
    this.issues = issues;
  }
}

/** The JSON shape of an error in events, results and the journal. */
export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
  path?: string;
  /** What the error carries for a reader (an error's own `data`, e.g. a failed process's output). */
  data?: unknown;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const out: SerializedError = {
      name: error.name,
      code: typeof code === 'string' ? code : undefined,
      message: error.message,
    };
    const path = (error as { path?: unknown }).path;
    if (typeof path === 'string') out.path = path;
    const data = (error as { data?: unknown }).data;
    if (data !== undefined) out.data = data;
    return out;
  }
  return { name: 'NonError', code: undefined, message: describeValue(error) };
}

/** A short description of an arbitrary value for messages ("a string", "null", "an array of 3"). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 60 ? `a string (${JSON.stringify(value.slice(0, 57))}…)` : `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
