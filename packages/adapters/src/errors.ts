import { FanoutError, type Classification, type FanoutErrorOptions } from '@fanout/scheduler';

/** Stable error codes of `@fanout/adapters`. Match on `code`, never on the message. */
export type AdapterErrorCode =
  | 'FANOUT_PATH_INVALID'
  | 'FANOUT_PATH_OUTSIDE_ROOT'
  | 'FANOUT_NOT_FOUND'
  | 'FANOUT_EXISTS'
  | 'FANOUT_IS_DIRECTORY'
  | 'FANOUT_NOT_DIRECTORY'
  | 'FANOUT_TOO_LARGE'
  | 'FANOUT_SYMLINK_REFUSED'
  | 'FANOUT_SPECIAL_FILE'
  | 'FANOUT_PATTERN_INVALID'
  | 'FANOUT_REGEX_TOO_SLOW'
  | 'FANOUT_RIPGREP_NOT_FOUND'
  | 'FANOUT_RIPGREP_FAILED'
  | 'FANOUT_IO'
  | 'FANOUT_PROCESS_FAILED'
  | 'FANOUT_PROCESS_SPAWN'
  | 'FANOUT_HTTP_STATUS'
  | 'FANOUT_HTTP_TIMEOUT'
  | 'FANOUT_HTTP_REDIRECTS'
  | 'FANOUT_HTTP_BODY_TOO_LARGE'
  | 'FANOUT_HTTP_NETWORK'
  | 'FANOUT_HTTP_DECODE'
  /** fetch: the URL, a redirect or a DNS answer leads to a loopback, private, link-local or metadata address the policy does not allow. */
  | 'FANOUT_HTTP_ADDRESS_REFUSED'
  | 'FANOUT_SEARCH_NOT_CONFIGURED'
  | 'FANOUT_SEARCH_RESPONSE'
  | 'FANOUT_SEARCH_FAILED'
  | 'FANOUT_ANALYZER_FAILED'
  | 'FANOUT_ANALYZER_INVALID'
  | 'FANOUT_OPTION_INVALID'
  | 'FANOUT_ABORTED';

export interface AdapterErrorOptions extends FanoutErrorOptions {
  /** How the scheduler should treat the error (see `classify`). @default "fatal" */
  classification?: Classification;
}

/**
 * Base class of every error an adapter of this package throws: a stable `code`, the `path`
 * of the input field concerned (or of the file), the `cause`, and how to treat it.
 */
export class AdapterError extends FanoutError<AdapterErrorCode> {
  override name = 'AdapterError';
  readonly classification: Classification;

  constructor(code: AdapterErrorCode, message: string, options: AdapterErrorOptions = {}) {
    super(code, message, options);
    this.classification = options.classification ?? { class: 'fatal' };
  }
}

/**
 * The `classify` every adapter of this package uses: its own errors say how they are to be
 * treated; an abort is fatal (retrying cannot help); anything else falls back to the
 * scheduler's defaults through `fallback`.
 */
export function classifyAdapterError(error: unknown, fallback: (error: unknown) => Classification): Classification {
  if (error instanceof AdapterError) return error.classification;
  if (error instanceof Error && error.name === 'AbortError') return { class: 'fatal' };
  return fallback(error);
}

/** Turns a Node.js file system error into an {@link AdapterError} naming the path. */
export function fromFsError(error: unknown, path: string, field?: string): AdapterError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const options = { cause: error, path: field ?? path };
  switch (code) {
    case 'ENOENT':
      return new AdapterError('FANOUT_NOT_FOUND', `expected ${path} to exist, but it does not`, options);
    case 'EEXIST':
      return new AdapterError('FANOUT_EXISTS', `expected ${path} not to exist (mode "create"), but it does`, options);
    case 'EISDIR':
      return new AdapterError('FANOUT_IS_DIRECTORY', `expected a file at ${path}, got a directory`, options);
    case 'ENOTDIR':
      return new AdapterError('FANOUT_NOT_DIRECTORY', `expected a directory on the way to ${path}, got a file`, options);
    case 'EMFILE':
    case 'ENFILE':
    case 'EBUSY':
    case 'EAGAIN':
      return new AdapterError('FANOUT_IO', `${code} on ${path}: ${(error as Error).message}`, { ...options, classification: { class: 'retryable' } });
    default:
      return new AdapterError('FANOUT_IO', `could not use ${path}: ${(error as Error | undefined)?.message ?? String(error)}`, options);
  }
}
