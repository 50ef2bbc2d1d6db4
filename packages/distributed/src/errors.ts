import { FanoutError, type SerializedError } from '@fanout/scheduler';

/** Stable error codes of `@fanout/distributed`. Match on `code`, never on the message. */
export type DistributedErrorCode =
  | 'FANOUT_WORKER_LOST'
  | 'FANOUT_NO_WORKER'
  | 'FANOUT_OUTPUT_TOO_LARGE'
  | 'FANOUT_REDIS_UNAVAILABLE'
  | 'FANOUT_JOB_LOST'
  | 'FANOUT_OPTION_INVALID'
  | 'FANOUT_CANCELLED'
  | 'FANOUT_OPERATION_FAILED';

/** An error of this package. */
export class DistributedError extends FanoutError<DistributedErrorCode> {
  override name = 'DistributedError';
  /** `false` for errors retrying cannot help; read by the executor's `classify`. */
  readonly retryable: boolean | undefined;

  constructor(code: DistributedErrorCode, message: string, options: { cause?: unknown; path?: string; retryable?: boolean } = {}) {
    super(code, message, options);
    this.retryable = options.retryable;
  }
}

/**
 * An error an adapter threw on a worker, rebuilt on the executor's side: the same name, code,
 * message, path and data as it had there (so results match an in-process run), and the worker
 * that ran it.
 */
export class RemoteError extends Error {
  readonly code: string | undefined;
  readonly path: string | undefined;
  readonly data: unknown;
  readonly worker: string;

  constructor(serialized: SerializedError, worker: string) {
    super(serialized.message);
    this.name = serialized.name;
    this.code = serialized.code;
    this.path = serialized.path;
    this.data = serialized.data;
    this.worker = worker;
  }
}
