import { FanoutError, OptionCheck, type FanoutErrorOptions } from '@fanout/scheduler';

/** Stable error codes of `@fanout/monitor`. Match on `code`, never on the message. */
export type MonitorErrorCode =
  /** An option is out of range or of the wrong type; `path` names it. */
  | 'FANOUT_OPTION_INVALID'
  /** A `/proc`, `/sys` or cgroup file does not have the expected format; `path` is the file. */
  | 'FANOUT_MONITOR_MALFORMED'
  /** A file exists but could not be read (permissions, I/O); `path` is the file. */
  | 'FANOUT_MONITOR_UNREADABLE';

/**
 * Base class of every error `@fanout/monitor` creates: a stable `code`, the `path` of the
 * option or file concerned, and the `cause`. Samplers never throw these at a caller: a file
 * that cannot be used turns into a missing signal that carries the error.
 */
export class MonitorError extends FanoutError<MonitorErrorCode> {
  override name = 'MonitorError';

  constructor(code: MonitorErrorCode, message: string, options: FanoutErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Throws a `FANOUT_MONITOR_MALFORMED` error naming the file, what was expected and what was got. */
export function malformed(path: string, expected: string, got: string): never {
  const shown = got.length > 80 ? `${got.slice(0, 77)}...` : got;
  throw new MonitorError('FANOUT_MONITOR_MALFORMED', `expected ${expected} in ${path}, got ${JSON.stringify(shown)}`, { path });
}

/** The option checks of this package's factories: `FANOUT_OPTION_INVALID` as a {@link MonitorError}. */
export const check = new OptionCheck(MonitorError);
