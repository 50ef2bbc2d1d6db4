/**
 * The errors of fanout: one base class with a stable `code` (a literal union per package,
 * checked by the compiler), the `path` of the problem, and the `cause`. Every code, of every
 * package, is listed with its meaning in docs/error-codes.md.
 */
import { describeValue, OptionCheck, type Diagnostic } from './diagnostics.js';

/** Stable error codes of `@fanout/scheduler`. Match on `code`, never on the message. */
export type SchedulerErrorCode =
  | 'FANOUT_PLAN_INVALID'
  | 'FANOUT_PLAN_DUPLICATE_ID'
  | 'FANOUT_PLAN_UNKNOWN_DEPENDENCY'
  | 'FANOUT_PLAN_UNKNOWN_KIND'
  | 'FANOUT_PLAN_CYCLE'
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
 * Base class of every error fanout creates. Carries a stable `code`, an optional `path` into
 * the plan, the configuration or the options, and the `cause`. Each package narrows `Code` to
 * its own union; the scheduler's own errors are `FanoutError<SchedulerErrorCode>`.
 */
export class FanoutError<Code extends string = string> extends Error {
  override name = 'FanoutError';
  readonly code: Code;
  readonly path: string | undefined;

  constructor(code: Code, message: string, options: FanoutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
  }

  /** A plain, JSON-serialisable view (for events, journals and reports). */
  toJSON(): SerializedError {
    return serializeError(this);
  }
}

/** The scheduler's own option checks: `FANOUT_OPTION_INVALID` as a `FanoutError`. */
export const check = new OptionCheck(FanoutError);

/** One problem found while validating a plan. */
export interface PlanIssue extends Diagnostic {
  code: SchedulerErrorCode;
  /** Path in the plan, e.g. `operations[4].input.path`. */
  path: string;
}

/**
 * Base of the errors that list every problem found at once (an invalid plan, an invalid
 * configuration): the message shows the first 20, `issues` holds all of them.
 */
export class IssuesError<Code extends string = string, Item = Diagnostic> extends FanoutError<Code> {
  override name = 'IssuesError';
  readonly issues: readonly Item[];

  /** `what` names the document ("The plan"); `line` renders one problem in the message. */
  constructor(code: Code, what: string, issues: readonly Item[], line: (issue: Item) => string) {
    const head = issues
      .slice(0, 20)
      .map((issue) => `  - ${line(issue)}`)
      .join('\n');
    const more = issues.length > 20 ? `\n  … and ${issues.length - 20} more` : '';
    super(code, `${what} has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${head}${more}`);
    this.issues = issues;
  }
}

/** Thrown by `run()` / `validate()` when a plan is invalid; lists every problem found. */
export class PlanValidationError extends IssuesError<'FANOUT_PLAN_INVALID', PlanIssue> {
  override name = 'PlanValidationError';

  constructor(issues: readonly PlanIssue[]) {
    super('FANOUT_PLAN_INVALID', 'The plan', issues, (issue) => `${issue.path}: ${issue.message}`);
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
