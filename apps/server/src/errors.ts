/**
 * The errors of `@fanout/server`. A request the server refuses answers with one of these as
 * `{ error: { code, message, issues? } }` and the status the code maps to; a failed operation
 * never does (it is part of a run's report). Codes that mean what another package's code
 * already means are that code: a plan that does not validate is `FANOUT_PLAN_INVALID`, a body
 * of the wrong shape `FANOUT_INPUT_INVALID`, a bad flag `FANOUT_OPTION_INVALID`.
 */
import { FanoutError, type FanoutErrorOptions } from '@fanout/scheduler';

/** Stable error codes of `@fanout/server`. Match on `code`, never on the message. */
export type ServerErrorCode =
  /** A request without the bearer token, or with another one (401). */
  | 'FANOUT_SERVER_UNAUTHORIZED'
  /** The `Host` header names no host this server answers for (DNS rebinding) (403). */
  | 'FANOUT_SERVER_HOST_REFUSED'
  /** The `Origin` header names a page of another site (403). */
  | 'FANOUT_SERVER_ORIGIN_REFUSED'
  /** The request body is larger than `--max-body` (413). */
  | 'FANOUT_SERVER_BODY_TOO_LARGE'
  /** The token has as many runs going and queued as it may (429, with `Retry-After`). */
  | 'FANOUT_SERVER_TOO_MANY_RUNS'
  /** The plan has more operations than a run may (429). */
  | 'FANOUT_SERVER_TOO_MANY_OPERATIONS'
  /** The plan uses a kind the server was not started to allow (`bash`, `write`) (403). */
  | 'FANOUT_SERVER_KIND_DISABLED'
  /** No run, or no route, has this path (404). */
  | 'FANOUT_SERVER_NOT_FOUND'
  /** The run cannot be resumed or cancelled in its state (409). */
  | 'FANOUT_SERVER_RUN_STATE'
  /** The server is shutting down and takes no new run (503). */
  | 'FANOUT_SERVER_SHUTTING_DOWN'
  /** Off loopback, the server refuses to start without `--token-file`. */
  | 'FANOUT_SERVER_TOKEN_REQUIRED'
  /** The server itself failed on a request (500). */
  | 'FANOUT_SERVER_INTERNAL'
  | 'FANOUT_PLAN_INVALID'
  | 'FANOUT_INPUT_INVALID'
  | 'FANOUT_OPTION_INVALID'
  | 'FANOUT_CONFIG_INVALID';

/** One problem of a request body: where in it, what was expected and what was got. */
export interface RequestIssue {
  path: string;
  code: string;
  message: string;
}

/** The HTTP status of each code a request can be refused with. */
export const STATUS: Readonly<Record<ServerErrorCode, number>> = {
  FANOUT_SERVER_UNAUTHORIZED: 401,
  FANOUT_SERVER_HOST_REFUSED: 403,
  FANOUT_SERVER_ORIGIN_REFUSED: 403,
  FANOUT_SERVER_BODY_TOO_LARGE: 413,
  FANOUT_SERVER_TOO_MANY_RUNS: 429,
  FANOUT_SERVER_TOO_MANY_OPERATIONS: 429,
  FANOUT_SERVER_KIND_DISABLED: 403,
  FANOUT_SERVER_NOT_FOUND: 404,
  FANOUT_SERVER_RUN_STATE: 409,
  FANOUT_SERVER_SHUTTING_DOWN: 503,
  FANOUT_SERVER_TOKEN_REQUIRED: 500,
  FANOUT_SERVER_INTERNAL: 500,
  FANOUT_PLAN_INVALID: 400,
  FANOUT_INPUT_INVALID: 400,
  FANOUT_OPTION_INVALID: 400,
  FANOUT_CONFIG_INVALID: 500,
};

/** Base class of this package's errors: a code, the issues of a request, a `Retry-After`. */
export class ServerError extends FanoutError<ServerErrorCode> {
  override name = 'ServerError';
  readonly issues: readonly RequestIssue[] | undefined;
  /** Seconds a client should wait before trying again (429, 503). */
  readonly retryAfter: number | undefined;

  constructor(code: ServerErrorCode, message: string, options: FanoutErrorOptions & { issues?: readonly RequestIssue[]; retryAfter?: number } = {}) {
    super(code, message, options);
    this.issues = options.issues;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return STATUS[this.code];
  }

  /** The body of the error response. */
  body(): { error: { code: string; message: string; issues?: readonly RequestIssue[] } } {
    return { error: { code: this.code, message: this.message, ...(this.issues === undefined ? {} : { issues: this.issues }) } };
  }
}
