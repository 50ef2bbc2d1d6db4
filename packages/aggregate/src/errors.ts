import { describeValue, FanoutError, OptionCheck, type FanoutErrorOptions } from '@fanout/scheduler';

/** Stable error codes of `@fanout/aggregate`. Match on `code`, never on the message. */
export type AggregateErrorCode = 'FANOUT_OPTION_INVALID' | 'FANOUT_AGGREGATE_EXTRACTOR_INVALID' | 'FANOUT_AGGREGATE_OUTPUT_UNEXPECTED';

/**
 * Base class of the errors of this package (named so as not to shadow the built-in
 * `AggregateError`): a stable `code`, the `path` of the option or output field concerned,
 * and the `cause`.
 */
export class AggregationError extends FanoutError<AggregateErrorCode> {
  override name = 'AggregationError';

  constructor(code: AggregateErrorCode, message: string, options: FanoutErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * An operation's output is not the shape its extractor expects. The aggregation records it
 * beside the results (the operation's results are missing) and goes on.
 */
export class UnexpectedOutputError extends AggregationError {
  override name = 'UnexpectedOutputError';

  /** `path` is where in the output, e.g. `messages[3].data.line_number`. */
  constructor(kind: string, path: string, expected: string, got: unknown) {
    super('FANOUT_AGGREGATE_OUTPUT_UNEXPECTED', `expected ${expected} at ${path} of a ${kind} output, got ${describeValue(got)}`, { path });
  }
}

/** The code, message and path of any error, its serialised form (events) or a thrown value. */
export function errorInfo(error: unknown): { code: string | undefined; message: string; path: string | undefined } {
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    const e = error as { code?: unknown; message: string; path?: unknown };
    return { code: typeof e.code === 'string' ? e.code : undefined, message: e.message, path: typeof e.path === 'string' ? e.path : undefined };
  }
  if (typeof error === 'string') return { code: undefined, message: error, path: undefined };
  return { code: undefined, message: error === undefined ? 'no reason given' : `threw ${describeValue(error)}`, path: undefined };
}

/** The option checks of this package: `FANOUT_OPTION_INVALID` as an {@link AggregationError}. */
export const check = new OptionCheck(AggregationError);
