import { defaultClassify, type Classification } from '@fanout/scheduler';
import { AdapterError, type AdapterErrorCode, type AdapterErrorOptions } from '../errors.js';
import { parseRetryAfter } from './retry-after.js';

/** What {@link HttpError} carries beyond an {@link AdapterError}. */
export interface HttpErrorOptions extends AdapterErrorOptions {
  url?: string | undefined;
  status?: number | undefined;
}

/**
 * An HTTP request that failed: a status that is not a success, a timeout, a network error, a
 * body too large or not decodable, too many redirects. `status` is set when the server
 * answered; `classification.retryAfterMs` when it said when to come back.
 */
export class HttpError extends AdapterError {
  override name = 'HttpError';
  /** The URL that failed (after redirects). */
  readonly url: string | undefined;
  /** The status the server answered with, if it answered. */
  readonly status: number | undefined;

  constructor(code: AdapterErrorCode, message: string, options: HttpErrorOptions = {}) {
    super(code, message, options);
    this.url = options.url;
    this.status = options.status;
  }

  /** How long the server asked to wait before the next attempt, if it did. */
  get retryAfterMs(): number | undefined {
    return this.classification.retryAfterMs;
  }
}

/** How a failed request is to be described and classified. */
export interface FailureContext {
  url: string;
  /** The input field the failure is reported on. @default "url" */
  field?: string;
  /** Who answered, for messages ("Brave Search"). @default the URL's host */
  who?: string;
  /**
   * Whether the request may be sent again when the server might have acted on it already
   * (a POST that timed out). When false, only failures that prove the request was not
   * processed (429, 503, a refused connection) stay retryable.
   * @default true
   */
  idempotent?: boolean;
  /** A `Retry-After` longer than this makes the failure fatal: waiting is not worth it. */
  maxRetryAfterMs: number;
}

/** Codes of network failures that happen before a request can have reached the server. */
const BEFORE_SENDING = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const NOT_IDEMPOTENT = ' (not retried: the request is not idempotent and the server may have acted on it; set idempotent: true to retry it)';

function withDelay(cls: Classification['class'], retryAfterMs: number | undefined): Classification {
  return retryAfterMs === undefined ? { class: cls } : { class: cls, retryAfterMs };
}

function describeWait(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

/** A header value of undici's `IncomingHttpHeaders` as one string. */
export function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The error for an answer that is not a success. 429 and 503 are the server saying it is
 * overloaded: `drop`, so the scheduler's limiter backs off, with the server's `Retry-After`
 * (or `retryAfterMs`, from other headers) as the floor of the wait. Other 5xx are
 * `retryable`; 4xx are `fatal` (sending the same request again cannot help).
 */
export function statusError(response: { status: number; headers: Record<string, string | string[] | undefined>; snippet?: string | undefined; retryAfterMs?: number | undefined }, context: FailureContext): HttpError {
  const { status } = response;
  const who = context.who ?? safeHost(context.url);
  const retryAfterMs = response.retryAfterMs ?? parseRetryAfter(headerText(response.headers['retry-after']));
  let classification: Classification;
  let note = '';
  if (status === 429 || status === 503) classification = withDelay('drop', retryAfterMs);
  else if (status >= 500) classification = withDelay(context.idempotent === false ? 'fatal' : 'retryable', retryAfterMs);
  else classification = { class: 'fatal' };
  if (classification.class !== 'fatal' && retryAfterMs !== undefined) {
    if (retryAfterMs > context.maxRetryAfterMs) {
      classification = { class: 'fatal' };
      note = ` and asked to wait ${describeWait(retryAfterMs)}, longer than maxRetryAfterMs (${describeWait(context.maxRetryAfterMs)}): not retried`;
    } else {
      note = ` and asked to wait ${describeWait(retryAfterMs)}`;
    }
  } else if (status >= 500 && status !== 503 && context.idempotent === false) {
    note = NOT_IDEMPOTENT;
  }
  const snippet = response.snippet === undefined || response.snippet === '' ? '' : `: ${response.snippet}`;
  return new HttpError('FANOUT_HTTP_STATUS', `expected a successful answer from ${who} (${context.url}), got status ${status}${note}${snippet}`, {
    path: context.field ?? 'url',
    url: context.url,
    status,
    classification,
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Timeouts in force, for messages. */
export interface TimeoutsInForce {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

/**
 * The error for a request that got no (complete) answer: undici's timeouts become
 * `FANOUT_HTTP_TIMEOUT`, anything else `FANOUT_HTTP_NETWORK`, classified like the scheduler
 * classifies network codes (timeouts and resets are `drop`, a refused connection is
 * `retryable`, an unknown host is `fatal`). `bodyBytes` is how much of the body had arrived.
 */
export function networkError(error: unknown, context: FailureContext, timeouts: TimeoutsInForce, bodyBytes?: number): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const who = context.who ?? safeHost(context.url);
  let classification = defaultClassify(error);
  let note = '';
  if (context.idempotent === false && classification.class !== 'fatal' && !(typeof code === 'string' && BEFORE_SENDING.has(code))) {
    classification = { class: 'fatal' };
    note = NOT_IDEMPOTENT;
  }
  const options: HttpErrorOptions = { cause: error, path: context.field ?? 'url', url: context.url, classification };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new HttpError('FANOUT_HTTP_TIMEOUT', `expected to connect to ${who} within ${timeouts.connectMs} ms (connectTimeoutMs), but it did not answer${note}`, options);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new HttpError('FANOUT_HTTP_TIMEOUT', `expected response headers from ${context.url} within ${timeouts.headersMs} ms (headersTimeoutMs), got none${note}`, options);
    case 'UND_ERR_BODY_TIMEOUT':
      return new HttpError('FANOUT_HTTP_TIMEOUT', `expected more of the body of ${context.url} within ${timeouts.bodyMs} ms (bodyTimeoutMs) after ${bodyBytes ?? 0} bytes, got nothing${note}`, options);
    default: {
      const detail = error instanceof Error ? error.message : String(error);
      const where = bodyBytes === undefined ? `requesting ${context.url}` : `reading the body of ${context.url} after ${bodyBytes} bytes`;
      return new HttpError('FANOUT_HTTP_NETWORK', `the connection to ${who} failed while ${where}: ${typeof code === 'string' ? `${code} ` : ''}${detail}${note}`, options);
    }
  }
}
