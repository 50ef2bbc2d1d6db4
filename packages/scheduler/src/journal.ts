import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { FanoutError, type SerializedError } from './errors.js';
import type { TerminalState } from './events.js';

/** How a run uses its journal. */
export type JournalMode =
  /** Append this run's records; read nothing. */
  | 'append'
  /** Skip operations the journal records as succeeded (with the same input); run the rest. */
  | 'resume'
  /**
   * Rerun only failures: operations recorded as failed or timed-out, and those skipped
   * because of them. Successes are carried over; operations the journal never saw, or saw
   * cancelled, are skipped with that reason.
   */
  | 'retry-failed';

/** Options of a run's journal. */
export interface JournalOptions {
  /** The NDJSON file; created when missing, only ever appended to. */
  path: string;
  /** @default "append" */
  mode?: JournalMode;
}

/** The first record a run writes. */
export interface JournalRunRecord {
  type: 'run';
  version: 1;
  runId: string;
  name?: string;
  startedAt: string;
  operations: number;
}

/** One operation's terminal state. */
export interface JournalOpRecord {
  type: 'op';
  runId: string;
  id: string;
  kind: string;
  state: TerminalState;
  attempts: number;
  /** Fingerprint of kind and input: a success is carried over only for the same input. */
  fingerprint: string;
  durationMs: number;
  output?: unknown;
  /** The output could not be written as JSON, so the success cannot be carried over. */
  outputNotSerializable?: true;
  error?: SerializedError;
  parent?: string;
}

/** The last record of a run that ended (a run killed midway has none). */
export interface JournalEndRecord {
  type: 'end';
  runId: string;
  wallMs: number;
  byState: Record<TerminalState, number>;
}

export type JournalRecord = JournalRunRecord | JournalOpRecord | JournalEndRecord;

/** The latest record of each operation in a journal. */
export type JournalState = Map<string, JournalOpRecord>;

/** Fingerprint of what an operation would do, for matching journal records. */
export function fingerprint(kind: string, input: unknown): string {
  let text: string;
  try {
    text = JSON.stringify([kind, input]) ?? '';
  } catch {
    text = `${kind}\u0000unserializable`;
  }
  return createHash('sha1').update(text).digest('base64url').slice(0, 16);
}

/** What a journal record means for an operation about to run again. */
export type CarryOver = { resume: true; output: unknown } | { resume: false; why: string };

/**
 * Decides from an operation's latest record (if any) whether this run carries its success
 * over (`resume`), skips it (`retry-failed` reruns only failures) or runs it (undefined).
 * A success carries over only with the same fingerprint and a JSON-writable output.
 */
export function carryOver(record: JournalOpRecord | undefined, fingerprint: string, mode: JournalMode): CarryOver | undefined {
  if (mode === 'append') return undefined;
  const matches = record !== undefined && record.fingerprint === fingerprint;
  if (matches && record.state === 'succeeded' && record.outputNotSerializable !== true) return { resume: true, output: record.output };
  if (mode !== 'retry-failed') return undefined;
  const failure =
    record !== undefined &&
    (record.state === 'failed' || record.state === 'timed-out' || (record.state === 'skipped' && record.error?.code === 'FANOUT_DEPENDENCY_FAILED'));
  if (failure) return undefined;
  return {
    resume: false,
    why:
      record === undefined
        ? 'retry-failed reruns only failures, and the journal has no record of this operation'
        : `retry-failed reruns only failures, and the journal records this operation as ${record.state}${matches ? '' : ' with a different input'}`,
  };
}

/**
 * Reads a journal: the latest record of each operation. A missing file is an empty journal;
 * a torn last line (the process died mid-write) is ignored; any other bad line is an error
 * naming it.
 */
export async function readJournal(path: string): Promise<JournalState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new FanoutError('FANOUT_JOURNAL_INVALID', `cannot read the journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  const state: JournalState = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch (error) {
      const isLast = lines.slice(i + 1).every((rest) => rest.trim() === '');
      if (isLast) break;
      throw new FanoutError('FANOUT_JOURNAL_INVALID', `expected a JSON record on line ${i + 1} of ${path}, got ${JSON.stringify(line.slice(0, 80))}`, {
        cause: error,
        path: `${path}:${i + 1}`,
      });
    }
    if (record?.type === 'op') {
      if (typeof record.id !== 'string' || typeof record.state !== 'string') {
        throw new FanoutError('FANOUT_JOURNAL_INVALID', `expected "id" and "state" in the operation record on line ${i + 1} of ${path}`, { path: `${path}:${i + 1}` });
      }
      state.set(record.id, record);
    }
  }
  return state;
}

/**
 * Appends records as NDJSON. Records are batched per turn of the event loop and written in
 * order; `close()` resolves once everything is on disk.
 */
export class JournalWriter {
  #handle: Promise<FileHandle>;
  #pending = '';
  #writing: Promise<void> | undefined;
  #error: unknown;

  constructor(path: string) {
    this.#handle = open(path, 'a');
    this.#handle.catch((error: unknown) => {
      this.#error = error;
    });
  }

  append(record: JournalRecord): void {
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ...record, output: undefined, outputNotSerializable: true });
    }
    this.#pending += `${line}\n`;
    if (this.#writing === undefined) this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    // Let the rest of this turn's records join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      const handle = await this.#handle;
      while (this.#pending !== '') {
        const chunk = this.#pending;
        this.#pending = '';
        await handle.write(chunk);
      }
    } catch (error) {
      this.#error ??= error;
    } finally {
      this.#writing = undefined;
    }
  }

  /** Writes what is pending, syncs and closes. Rejects when any write failed. */
  async close(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    if (this.#pending !== '') await this.#drain();
    const handle = await this.#handle.catch(() => undefined);
    if (handle !== undefined) {
      await handle.sync().catch(() => undefined);
      await handle.close();
    }
    if (this.#error !== undefined) {
      throw new FanoutError('FANOUT_JOURNAL_INVALID', `could not write the journal: ${(this.#error as Error).message}`, { cause: this.#error });
    }
  }
}
