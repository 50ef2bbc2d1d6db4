// `fs.promises` is read at each call: in the `fanout` command's bundle, node:fs/promises
// (~2-4 ms to load) is then loaded by the first call that needs it, not at start-up.
import { fstatSync, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FanoutError, type SchedulerErrorCode, type SerializedError } from './errors.js';
import { escapedExcerpt } from './excerpt.js';
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
  /**
   * When the file is synced to disk (fsync). `"before-result"`: the run's result resolves once
   * it is. `"after-result"`: the result resolves once every record is written (in the
   * kernel's page cache: a process killed, even with SIGKILL, loses none of them), and the
   * sync follows, at most {@link DEFERRED_SYNCS} at a time in the process; `Run.synced`
   * resolves after it. What a power loss can then take: the last records of journals whose
   * runs had ended but whose sync had not completed — a resume reruns what they recorded.
   * For a caller that answers many short runs (a server), where the disk's flush would
   * otherwise be on every answer's path.
   * @default "before-result"
   */
  sync?: 'before-result' | 'after-result';
  /**
   * Where the records go, for a caller that already holds the file open (fanout-server appends
   * them to a run's log, with the lines it writes there itself): the scheduler then neither
   * opens, repairs nor closes `path`, which it only reads (modes `"resume"` and
   * `"retry-failed"`, before the run starts) and names in its errors. The sink must leave the
   * records in `path` for a later resume to read, after whole lines (see {@link repairJournalTail}).
   * @default none: the scheduler opens `path` to append
   */
  sink?: JournalSink;
}

/**
 * A journal's records written by the caller (see `JournalOptions.sink`), each one line of
 * JSON handed over without its newline. The scheduler calls `flush` once the run's last record
 * is appended, then `sync` once, when `sync` (the option) says, unless the flush failed; and
 * `flush` once, its failure ignored, when the run ends on an error of its own (a throwing
 * pressure source, a journal that cannot be read).
 *
 * `append` must hand the record to the file on its own, within the turn of the event loop it
 * was called in (batching a turn's records into one write is fine), not keep it until `flush`:
 * `flush` comes only at the run's end, so records kept until then are lost when the process
 * dies first, and a resume reruns every operation they recorded — the journal's guarantee.
 *
 * @example
 * ```ts
 * const fd = openSync(path, 'a');
 * const sink: JournalSink = {
 *   // Written now: a record still in memory when the process dies is an operation run again.
 *   append: (line) => appendFileSync(fd, `${line}\n`),
 *   flush: async () => {},
 *   sync: () => promisify(fsync)(fd),
 * };
 * const run = scheduler.run(plan, { journal: { path, sink } });
 * await run.synced.finally(() => closeSync(fd));
 * ```
 */
export interface JournalSink {
  /**
   * Takes one record and writes it whole, after the ones before it, by the end of this turn
   * of the event loop. A throw is kept: the run goes on, and its result rejects with
   * `FANOUT_JOURNAL_IO` once its records are flushed.
   */
  append(line: string): void;
  /** Resolves once every line appended so far is written (a process killed after loses none); rejects when a write failed. */
  flush(): Promise<void>;
  /** Resolves once what was written is on disk (fsync). */
  sync(): Promise<void>;
}

/** Deferred syncs (`sync: "after-result"`) in flight at once: the rest wait, leaving libuv's thread pool to the runs' own file operations. */
export const DEFERRED_SYNCS = 2;
let deferredSyncs = 0;
const waitingSyncs: (() => void)[] = [];

/** Runs `sync` when fewer than {@link DEFERRED_SYNCS} deferred syncs are in flight. */
async function deferredSync(sync: () => Promise<void>): Promise<void> {
  if (deferredSyncs >= DEFERRED_SYNCS) await new Promise<void>((resolve) => waitingSyncs.push(resolve));
  else deferredSyncs++;
  try {
    await sync();
  } finally {
    // The slot passes to the next waiting sync, if any, without being released.
    const next = waitingSyncs.shift();
    if (next === undefined) deferredSyncs--;
    else next();
  }
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

/** How a journal record's line begins: run-journal.ts writes `type` first in every record. */
const RECORD_STARTS = ['{"type":"op",', '{"type":"run",', '{"type":"end",'] as const;

/**
 * Is `line` (without its newline) one of the journal's records? For a file the journal shares
 * with other lines (fanout-server appends it to a run's log), telling its records from the
 * rest without parsing every line.
 */
export function isJournalLine(line: string): boolean {
  return line.startsWith(RECORD_STARTS[0]) || line.startsWith(RECORD_STARTS[1]) || line.startsWith(RECORD_STARTS[2]);
}

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
  // node:crypto is loaded here, on the first journaled run, not when the scheduler loads:
  // its ~16 internal modules were part of the start-up of every short command.
  return process.getBuiltinModule('node:crypto').createHash('sha1').update(text).digest('base64url').slice(0, 16);
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
  const failure = record !== undefined && (record.state === 'failed' || record.state === 'timed-out' || (record.state === 'skipped' && record.error?.code === 'FANOUT_DEPENDENCY_FAILED'));
  if (failure) return undefined;
  return {
    resume: false,
    why:
      record === undefined
        ? 'retry-failed reruns only failures, and the journal has no record of this operation'
        : `retry-failed reruns only failures, and the journal records this operation as ${record.state}${matches ? '' : ' with a different input'}`,
  };
}

/** Where a record starts in a line that holds a torn record with a whole one after it (see {@link readJournal}). */
const RECORD_START = '{"type":"';

function parseRecord(line: string): JournalRecord | undefined {
  try {
    return JSON.parse(line) as JournalRecord;
  } catch {
    // A torn record, then a whole one appended right after it (what fanout did before it cut
    // torn tails): the whole one is kept.
    const at = line.lastIndexOf(RECORD_START);
    if (at <= 0) return undefined;
    try {
      return JSON.parse(line.slice(at)) as JournalRecord;
    } catch {
      return undefined;
    }
  }
}

/**
 * Reads a journal: the latest record of each operation. A missing file is an empty journal;
 * a torn last line (the process died mid-write) is ignored, and so is a torn record with a
 * whole one glued after it on one line (journals written before torn tails were cut); any
 * other bad line is a `FANOUT_JOURNAL_INVALID` error naming the line, with a short escaped
 * excerpt — never the raw bytes of a binary file.
 */
export async function readJournal(path: string): Promise<JournalState> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_INVALID', `expected a journal file at ${path}, but it cannot be read: ${(error as Error).message}`, { cause: error, path });
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new FanoutError<SchedulerErrorCode>(
      'FANOUT_JOURNAL_INVALID',
      `expected a journal (NDJSON text, one record a line) at ${path}, got binary data (a NUL byte at offset ${nul}, starting ${escapedExcerpt(bytes.subarray(0, 24).toString('latin1'))})`,
      { path },
    );
  }
  const text = bytes.toString('utf8');
  const state: JournalState = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const record = parseRecord(line);
    if (record === undefined) {
      // The last line, cut short by a crash: what fanout writes begins with RECORD_START.
      const isLast = lines.slice(i + 1).every((rest) => rest.trim() === '');
      if (isLast && (line.startsWith(RECORD_START) || RECORD_START.startsWith(line))) break;
      throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_INVALID', `expected a JSON record on line ${i + 1} of the journal ${path}, got ${escapedExcerpt(line)}`, { path: `${path}:${i + 1}` });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_INVALID', `expected a record (a JSON object) on line ${i + 1} of the journal ${path}, got ${escapedExcerpt(line)}`, { path: `${path}:${i + 1}` });
    }
    if (record.type === 'op') {
      if (typeof record.id !== 'string' || typeof record.state !== 'string') {
        throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_INVALID', `expected "id" and "state" in the operation record on line ${i + 1} of the journal ${path}, got ${escapedExcerpt(line)}`, {
          path: `${path}:${i + 1}`,
        });
      }
      state.set(record.id, record);
    }
  }
  return state;
}

/** Bytes read at a time while looking for the last newline of a journal. */
const TAIL_CHUNK = 64 * 1024;

/**
 * Makes a journal end with a whole line before anything is appended. A process killed while
 * writing leaves a torn last record without its newline; appending after it would glue the
 * next record to it, and every later read would fail on that line. A tail that parses as a
 * record (only its newline is missing) gets its newline; the beginning of a record after the
 * last newline is cut; any other text there is refused (`FANOUT_JOURNAL_INVALID`: the file
 * is not a journal, and is left as it is). Resolves how many bytes were cut.
 */
export async function repairJournalTail(handle: FileHandle): Promise<number> {
  // On the event loop: an fstat of a file just opened answers from its inode, at less cost than a trip through libuv's thread pool.
  const { size } = fstatSync(handle.fd);
  if (size === 0) return 0;
  let end = size;
  let lineStart = 0;
  const chunk = Buffer.allocUnsafe(TAIL_CHUNK);
  const last = Buffer.allocUnsafe(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return 0;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at !== -1) {
      lineStart = start + at + 1;
      break;
    }
    end = start;
  }
  const tail = Buffer.allocUnsafe(size - lineStart);
  await handle.read(tail, 0, tail.length, lineStart);
  let whole = false;
  try {
    const value: unknown = JSON.parse(tail.toString('utf8'));
    whole = typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    whole = false;
  }
  if (whole) {
    await handle.write('\n');
    return 0;
  }
  // Only what fanout itself could have torn is cut: a record's beginning. Any other text is
  // not a journal's, and cutting it could destroy a file named by mistake.
  const text = tail.toString('utf8');
  if (!text.startsWith(RECORD_START) && !RECORD_START.startsWith(text)) {
    throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_INVALID', `expected a journal (NDJSON records fanout wrote), got a last line that is not one: ${escapedExcerpt(text)}; not appending to it`);
  }
  await handle.truncate(lineStart);
  return size - lineStart;
}

/** A record as its line (without the newline); an output JSON cannot hold is left out and marked. */
function recordLine(record: JournalRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ ...record, output: undefined, outputNotSerializable: true });
  }
}

/** What a run writes its records through: the scheduler's own {@link JournalWriter}, or a caller's sink ({@link SinkWriter}). */
export interface RecordWriter {
  append(record: JournalRecord): void;
  /** Writes what is pending and syncs; rejects with `FANOUT_JOURNAL_IO` when any write failed. */
  close(): Promise<void>;
  /** Writes what is pending, then resolves; `synced` resolves after the sync (see {@link JournalWriter.closeDeferred}). */
  closeDeferred(): { written: Promise<void>; synced: Promise<void> };
  /** For a run ended by an error of its own: writes what is pending if it can, and lets the file go; never rejects. */
  abandon(): Promise<void>;
}

/** Records handed to a caller's {@link JournalSink}: no file of its own to open, repair or close. */
export class SinkWriter implements RecordWriter {
  readonly #sink: JournalSink;
  readonly #path: string;
  /** The first append that threw. */
  #error: unknown;

  constructor(sink: JournalSink, path: string) {
    this.#sink = sink;
    this.#path = path;
  }

  append(record: JournalRecord): void {
    // Kept, not thrown: an append comes from where an operation settles, which must not fail
    // halfway (the scheduler's own writer keeps its write errors so too); the run's result
    // rejects with it once the records are flushed.
    try {
      this.#sink.append(recordLine(record));
    } catch (error) {
      this.#error ??= error;
    }
  }

  async close(): Promise<void> {
    await this.#io(() => this.#flush());
    await this.#io(() => this.#sink.sync());
  }

  closeDeferred(): { written: Promise<void>; synced: Promise<void> } {
    const written = this.#io(() => this.#flush());
    // After a failed flush there is nothing to sync: the failure is the result's, as with a file.
    const synced = written.then(
      () => deferredSync(() => this.#io(() => this.#sink.sync())),
      () => undefined,
    );
    return { written, synced };
  }

  /** Best effort, for a run ended by an error of its own: the records a sink still holds are written if they can be. */
  abandon(): Promise<void> {
    return this.#sink.flush().catch(() => undefined);
  }

  /** The sink's flush; rejects with the first append that threw, when one did, rather than with the flush's own error. */
  #flush(): Promise<void> {
    return this.#sink.flush().then(
      () => {
        if (this.#error !== undefined) throw this.#error;
      },
      (error: unknown) => {
        throw this.#error ?? error;
      },
    );
  }

  /** A sink's failure as the scheduler's own writer reports one. */
  async #io(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_IO', `expected to write the journal ${this.#path}, but could not: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
        path: this.#path,
      });
    }
  }
}

/**
 * Appends records as NDJSON. Records are batched per turn of the event loop and written in
 * order, through libuv's thread pool: an append can wait on the file system's journal while
 * another file's fsync commits it, and on the event loop that wait stalled every request of a
 * server running a hundred short runs (seconds at its 99th percentile, bench server-load).
 * `close()` resolves once everything is on disk.
 */
export class JournalWriter implements RecordWriter {
  #handle: Promise<FileHandle>;
  #pending = '';
  #writing: Promise<void> | undefined;
  #error: unknown;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.#handle = (async () => {
      // Read and append: the torn tail of an earlier crash is cut before this run writes.
      const handle = await fs.open(path, 'a+');
      try {
        await repairJournalTail(handle);
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
      return handle;
    })();
    this.#handle.catch((error: unknown) => {
      this.#error = error;
    });
  }

  append(record: JournalRecord): void {
    this.#pending += `${recordLine(record)}\n`;
    if (this.#writing === undefined) this.#writing = this.#drain();
  }

  async #drain(): Promise<void> {
    // Let the rest of this turn's records join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      const handle = await this.#handle;
      while (this.#pending !== '') {
        const chunk = Buffer.from(this.#pending);
        this.#pending = '';
        // A write may be short (a disk filling up answers with part of it, and the error only on
        // the next): the rest is written after it, never dropped, so no record is torn in the
        // middle of the file with another writer's line glued to it (fanout-server's run logs).
        for (let done = 0; done < chunk.length; ) {
          const { bytesWritten } = await handle.write(chunk, done);
          if (bytesWritten === 0) throw new Error(`the journal's write wrote nothing at byte ${done} of ${chunk.length}`);
          done += bytesWritten;
        }
      }
    } catch (error) {
      this.#error ??= error;
    } finally {
      this.#writing = undefined;
    }
  }

  /** Writes what is pending, syncs and closes. Rejects with `FANOUT_JOURNAL_IO` when any write failed. */
  async close(): Promise<void> {
    await this.#written();
    await this.#syncAndClose();
    this.#check();
  }

  /**
   * Writes what is pending, then resolves (rejects with `FANOUT_JOURNAL_IO` when any write
   * failed); `synced` resolves once the file is synced and closed, after, at most
   * {@link DEFERRED_SYNCS} such syncs at a time in the process.
   */
  closeDeferred(): { written: Promise<void>; synced: Promise<void> } {
    const written = this.#written();
    const synced = written.then(() => deferredSync(() => this.#syncAndClose()));
    return { written: written.then(() => this.#check()), synced };
  }

  async abandon(): Promise<void> {
    await this.#written();
    const handle = await this.#handle.catch(() => undefined);
    await handle?.close().catch(() => undefined);
  }

  async #written(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    if (this.#pending !== '') await this.#drain();
  }

  async #syncAndClose(): Promise<void> {
    const handle = await this.#handle.catch(() => undefined);
    if (handle !== undefined) {
      await handle.sync().catch(() => undefined);
      await handle.close();
    }
  }

  #check(): void {
    if (this.#error !== undefined) {
      throw new FanoutError<SchedulerErrorCode>('FANOUT_JOURNAL_IO', `expected to write the journal ${this.#path}, but could not: ${(this.#error as Error).message}`, { cause: this.#error, path: this.#path });
    }
  }
}
