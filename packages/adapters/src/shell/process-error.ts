import type { Classification } from '@fanout/scheduler';
import { AdapterError } from '../errors.js';
import type { BashOutput } from './output.js';

/** How much of a stream's tail a message quotes (the error object carries more). */
const QUOTED_CHARS = 600;

function quote(tail: string): string {
  const trimmed = tail.trimEnd();
  return trimmed.length <= QUOTED_CHARS ? trimmed : `…${trimmed.slice(trimmed.length - QUOTED_CHARS)}`;
}

/**
 * A process that ran and did not succeed. `code` is `FANOUT_PROCESS_FAILED` when it exited
 * with a code outside `okExitCodes` or was ended by a signal it was not sent by us (fatal:
 * running it again does the same), and `FANOUT_ABORTED` when we stopped it because the
 * attempt was aborted or timed out (`cause` is the abort reason; a timeout is classed
 * `drop`, like the scheduler's own timeouts, anything else fatal). Either way it carries the
 * result so far and the last bytes of each stream, where error messages are.
 */
export class ProcessError extends AdapterError {
  override name = 'ProcessError';
  /** What the process did, up to the caps. */
  readonly result: BashOutput;
  /** The last few KiB of stdout and stderr (UTF-8). */
  readonly stdoutTail: string;
  readonly stderrTail: string;

  constructor(code: 'FANOUT_PROCESS_FAILED' | 'FANOUT_ABORTED', message: string, details: { result: BashOutput; stdoutTail: string; stderrTail: string; field: string; cause?: unknown; classification: Classification }) {
    super(code, message, { path: details.field, cause: details.cause, classification: details.classification });
    this.result = details.result;
    this.stdoutTail = details.stdoutTail;
    this.stderrTail = details.stderrTail;
  }

  /** The result, for whoever reads the error as data (events, journals, reports). */
  get data(): BashOutput {
    return this.result;
  }

  /** A non-ok exit code, or an end by a signal someone else sent. */
  static failed(result: BashOutput, tails: { stdout: string; stderr: string }, field: string, okExitCodes: readonly number[]): ProcessError {
    const expected = `to exit with ${okExitCodes.length === 1 ? okExitCodes[0] : `one of ${okExitCodes.join(', ')}`}`;
    const got = result.signal !== null ? `it was ended by ${result.signal}` : `it exited with ${result.exitCode}`;
    const said = tails.stderr.trim() !== '' ? `; stderr ends with:\n${quote(tails.stderr)}` : tails.stdout.trim() !== '' ? `; stdout ends with:\n${quote(tails.stdout)}` : '; it printed nothing';
    return new ProcessError('FANOUT_PROCESS_FAILED', `expected ${field} ${JSON.stringify(result.command)} ${expected}, but ${got}${said}`, {
      result,
      stdoutTail: tails.stdout,
      stderrTail: tails.stderr,
      field,
      classification: { class: 'fatal' },
    });
  }

  /** Stopped by us: the attempt's signal aborted (a timeout, a cancel). */
  static aborted(result: BashOutput, tails: { stdout: string; stderr: string }, field: string, reason: unknown): ProcessError {
    const timedOut = (reason as { code?: unknown } | undefined)?.code === 'FANOUT_ATTEMPT_TIMEOUT';
    const why = reason instanceof Error ? reason.message : String(reason);
    return new ProcessError('FANOUT_ABORTED', `stopped ${field} ${JSON.stringify(result.command)} and its process group (${why}); it had run ${Math.round(result.durationMs)} ms`, {
      result,
      stdoutTail: tails.stdout,
      stderrTail: tails.stderr,
      field,
      cause: reason,
      classification: { class: timedOut ? 'drop' : 'fatal' },
    });
  }
}

/** Errnos of a spawn that may succeed later: the system is out of processes, descriptors or memory. */
const TRANSIENT = new Set(['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM']);

/**
 * The error of a process that could not be started, naming the input field that chose the
 * program (`command[0]` or `shell`): ENOENT and EACCES are fatal, resource exhaustion is
 * retryable.
 */
export function spawnError(error: unknown, field: string, program: string, path: string | undefined): AdapterError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  const options = { cause: error, path: field };
  switch (code) {
    case 'ENOENT': {
      const where = program.includes('/') ? 'a path to an existing program' : `a program on PATH (${path ?? 'PATH is not set'})`;
      return new AdapterError(
        'FANOUT_PROCESS_SPAWN',
        `expected ${field} to be ${where}, got ${JSON.stringify(program)}, which was not found (ENOENT: no such file, or the interpreter its #! line names is missing)`,
        options,
      );
    }
    case 'EACCES':
      return new AdapterError('FANOUT_PROCESS_SPAWN', `expected ${field} to be an executable file, got ${JSON.stringify(program)}, which cannot be executed (EACCES: not executable, or a directory)`, options);
    case 'ENOTDIR':
      return new AdapterError('FANOUT_PROCESS_SPAWN', `expected ${field} to be a path through directories, got ${JSON.stringify(program)}, which goes through a file (ENOTDIR)`, options);
    default: {
      const message = `could not start ${field} ${JSON.stringify(program)}: ${(error as Error | undefined)?.message ?? String(error)}`;
      return new AdapterError('FANOUT_PROCESS_SPAWN', message, { ...options, classification: { class: TRANSIENT.has(code) ? 'retryable' : 'fatal' } });
    }
  }
}
