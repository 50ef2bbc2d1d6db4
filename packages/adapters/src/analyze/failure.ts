import type { WorkerFailure } from './protocol.js';

/**
 * An error raised inside a worker with its stable code and input field; it crosses to the
 * main thread as a {@link WorkerFailure} and becomes an `AdapterError` there.
 */
export class AnalyzerFailure extends Error {
  override name = 'AnalyzerFailure';
  readonly code: WorkerFailure['code'];
  readonly field: string;

  constructor(code: WorkerFailure['code'], field: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.field = field;
  }

  toFailure(): WorkerFailure {
    return this.cause === undefined ? { code: this.code, field: this.field, message: this.message } : { code: this.code, field: this.field, message: this.message, cause: describeCause(this.cause) };
  }
}

/** The message of anything thrown (`throw "text"` included). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : safeString(error);
}

/** A thrown value as plain data that survives a structured clone. */
export function describeCause(error: unknown): NonNullable<WorkerFailure['cause']> {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: typeof error, message: messageOf(error) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
