/**
 * Runs on disk, one file each in `<data-dir>/runs/`: `<id>.ndjson`, the run's append-only log,
 * which is also the scheduler's journal (what a resume reads): the scheduler hands its records
 * to the log ({@link RunLog.journal}), which writes them with its own lines. One file created per run, not two:
 * creating a file (an inode taken, a directory entry written) was the largest kernel cost of a
 * short run. Runs of an earlier layout, and those of the MCP tools (whose journal is opened
 * before their log exists), keep the journal beside it, `<id>.journal.ndjson`.
 *
 * The run's log, one JSON value a line:
 * - `{"type":"run:meta","meta":…}` first, and again each time the recorded state changes
 *   (queued again by a resume, over); the last one is the run's state;
 * - `{"type":"run:plan","plan":…}` second;
 * - the events a subscriber is sent (the scheduler's, and resource samples), their count being
 *   the SSE id;
 * - `{"type":"run:report","report":…}` once the run is over, in the same write as the meta
 *   line after it, which holds where the report starts;
 * - among them, the journal's records (`{"type":"run",…}`, `{"type":"op",…}`,
 *   `{"type":"end",…}`), which are not events.
 *
 * One file open per live run, its appends batched per turn of the event loop: submitting a run
 * costs a write (its file is made ahead, see {@link RunStore.reserve}); its events and journal records a write per turn; its end one write and a
 * close. What is acknowledged (the 202 of a submit, the `end` of a stream) has been written
 * first, so a server killed with SIGKILL loses none of it; a kill mid-write leaves at most a
 * torn last line, which readers drop and a resume cuts, and so does a write that fails (the log
 * writes nothing after it). The only fsync is the journal's, which
 * the scheduler asks for just after a run ends (`sync: "after-result"`): the journal is what a resume
 * trusts, so a machine that loses power can list a run that was over as interrupted, or lose
 * one accepted in its last moments, but never makes a resume rerun an operation whose success
 * was synced (see the README).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, open as openFd, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { access, mkdir, open, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isJournalLine, type JournalSink, type Plan, type RunSummary, type TerminalState } from '@fanout/scheduler';

/** Where a run stands. `interrupted`: the server stopped while it was queued or going; resume it. */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** The states a run does not leave by itself. */
export const SETTLED: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** What the API says of a run (its last `run:meta` line). */
export interface RunMeta {
  id: string;
  title: string;
  state: RunState;
  /** The principal (a hash of the token) that submitted it. */
  principal: string;
  operations: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times it was submitted to run: 1, then one more per resume (counted when queued, so that a kill does not lose it). */
  starts: number;
  /** Counts by terminal state, once it is over. */
  byState?: Record<TerminalState, number>;
  /** Why it ended without a summary (an error of the server itself). */
  error?: string;
  /** A run started by a tool call at `/mcp`: the tool and the handle its client knows it by. */
  mcp?: { tool: string; handle: string };
}

/** What a run's report holds. */
export interface StoredReport {
  summary: RunSummary;
  /** The aggregated report (`@fanout/aggregate`), as `fanout run --json` prints it. */
  report: unknown;
  markdown: string;
}

/** Where a report line is in `run.ndjson`: its first byte and its length, newline excluded. */
export interface ReportPlace {
  at: number;
  bytes: number;
}

/** A run as its log last recorded it. */
export interface StoredRun {
  meta: RunMeta;
  report?: ReportPlace;
}

/** Everything a run's log holds (for a resume, or the events of a run no longer in memory). */
export interface RunContents extends StoredRun {
  plan: Plan | undefined;
  /** The events' JSON texts, in order. */
  events: string[];
  /** Bytes of whole lines: where the next line goes once a torn tail is cut. */
  size: number;
}

let counter = 0;
/** Random bytes for ids, drawn 4 KiB at a time (a call to the CSPRNG per run cost more than the rest of the id). */
let random = Buffer.alloc(0);
let randomAt = 0;

function randomHex(bytes: number): string {
  if (randomAt + bytes > random.length) {
    random = randomBytes(4096);
    randomAt = 0;
  }
  randomAt += bytes;
  return random.toString('hex', randomAt - bytes, randomAt);
}

/**
 * A new run id that sorts by creation time (base-36 milliseconds, then a counter within the
 * process, then randomness), so "newest first" is the ids in reverse order.
 */
export function newRunId(now = Date.now()): string {
  counter = (counter + 1) % 36 ** 4;
  return `r${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomHex(4)}`;
}

const ID = /^r[0-9a-z]{13}[0-9a-f]{8}$/;

/** True when `id` could be a run id (before it is used in a path). */
export function isRunId(id: string): boolean {
  return ID.test(id);
}

/** How the server's own lines begin; no scheduler event's type starts with `run:`. */
const META = '{"type":"run:meta",';
const PLAN = '{"type":"run:plan",';
const REPORT = '{"type":"run:report",';
const RECORD = '{"type":"run:';

/**
 * The pieces of a report line, which joined are `JSON.stringify({ type: 'run:report', report })`
 * (a report with a part that JSON leaves out, `undefined`, is one piece of that text).
 */
function reportPieces(report: StoredReport, summaryJson: string | undefined): readonly string[] {
  const summary = summaryJson ?? JSON.stringify(report.summary);
  const aggregated = JSON.stringify(report.report);
  const markdown = JSON.stringify(report.markdown);
  if (summary === undefined || aggregated === undefined || markdown === undefined) return [JSON.stringify({ type: 'run:report', report })];
  return ['{"type":"run:report","report":{"summary":', summary, ',"report":', aggregated, ',"markdown":', markdown, '}}'];
}

function metaLine(meta: RunMeta, report?: ReportPlace): string {
  return JSON.stringify(report === undefined ? { type: 'run:meta', meta } : { type: 'run:meta', meta, report });
}

/**
 * The open log of a live run: lines appended in order, written together once per turn of the
 * event loop (a run's burst of events is one write), `flush` resolving once all appended so
 * far is written. Its file is opened in the thread pool (creating it updates its directory,
 * which may wait on the disk), then written with synchronous calls on the event loop (a write
 * per turn, the close: writes to the page cache, never synced), not through the pool:
 * a pool round trip costs more than the write itself, and the pool's threads are what the
 * runs' own file operations and their journals' fsyncs wait for.
 */
export class RunLog {
  readonly #fd: number;
  /** Lines appended and not written yet: a line is a string, or the pieces of one (see {@link finish}). */
  #pending: (string | readonly string[])[] = [];
  /** Their bytes, newlines included, counted as they are appended (each line's length is walked once here, once as it is encoded). */
  #pendingBytes = 0;
  #scheduled = false;
  #error: unknown;
  #closed = false;
  /** Who keeps the file open: the log until `close`, and its run's journal until released (see {@link journal}). */
  #holds = 1;
  /** Bytes in the file: what it held when opened, and every write since (see {@link finish}). */
  #size: number;

  /** `size`: the bytes the file holds already (0 for a new log, the whole lines kept for a resume). */
  constructor(fd: number, size = 0) {
    this.#fd = fd;
    this.#size = size;
  }

  /**
   * The log as its run's journal (`JournalOptions.sink` of the scheduler): the journal's records
   * are appended with the events, written in the same write per turn, not through a descriptor
   * and a thread-pool write of their own (an open, a read of the tail and two writes in the
   * pool per run, each a thread to wake, were most of what the journal cost a short run).
   * `flush` writes them now; `sync` is an fsync in the pool. The file stays open after `close`
   * until `release` is called, once the run's `synced` has settled: a deferred sync still finds
   * it open.
   */
  journal(): JournalSink & { release(): void } {
    this.#holds++;
    let released = false;
    return {
      append: (line) => this.append(line),
      flush: () => this.flush(),
      // Handed to the pool after this turn, so after the run's end is written and sent (the
      // scheduler asks for the sync before it resolves the run's result): handing work to the
      // pool wakes a thread, which on a busy machine can take the CPU from this one at once.
      sync: () => new Promise<void>((resolve) => setImmediate(resolve)).then(() => fsyncAsync(this.#fd)),
      release: () => {
        if (released) return;
        released = true;
        this.#release();
      },
    };
  }

  #release(): void {
    if (--this.#holds === 0) closeSync(this.#fd);
  }

  /** Appends a line (without its newline). */
  append(line: string): void {
    this.#add(line, Buffer.byteLength(line));
  }

  #add(line: string | readonly string[], bytes: number): void {
    if (this.#closed) throw new Error('expected an open run log, got one already closed');
    this.#pending.push(line);
    this.#pendingBytes += bytes + 1;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#write();
      });
    }
  }

  #write(): void {
    if (this.#pending.length === 0 || this.#closed) return;
    // Nothing after a failed write: it may have left part of a line, and a later write that
    // succeeded would glue a whole one to it in the middle of the file, where readers do not
    // drop torn lines. The first error is kept, and `flush` and `close` report it.
    const lines = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#error !== undefined) return;
    // Each line encoded straight into one buffer, with its newline: no joined copy of the lines
    // on the heap (a run's report line is kilobytes of two-byte text, and the copy was most of
    // what a short run's writes allocated); a line in pieces is encoded piece by piece.
    const data = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (const line of lines) {
      if (typeof line === 'string') at += data.write(line, at);
      else for (const piece of line) at += data.write(piece, at);
      data[at++] = 0x0a;
    }
    try {
      // The file is opened to append: each write lands at its end, whatever its offset says.
      for (let done = 0; done < data.length; ) done += writeSync(this.#fd, data, done);
      this.#size += data.length;
    } catch (error) {
      this.#error ??= error;
    }
  }

  /** Appends an event's JSON text. */
  event(data: string): void {
    this.append(data);
  }

  /** Appends a meta line: a change of the recorded state. */
  meta(meta: RunMeta): void {
    this.append(metaLine(meta));
  }

  /**
   * Appends the report and the final meta line after it, with what is pending (one write),
   * and closes the log. The report's place is counted by the log, not asked of the file (an
   * fstat, and a write of what was pending before it, per run): every line of a server's log
   * goes through it, the journal's records too, and all are appended before a run's end (the
   * scheduler's result waits for them). A reader that finds no report there (a file written
   * through another descriptor too) looks for it in the whole log.
   *
   * The report line is the text of `JSON.stringify({ type: 'run:report', report })`, written in
   * pieces: its Markdown is two-byte text (·, —), and one string holding it all would be
   * two-byte throughout, built and then flattened at twice the size. `summaryJson`, when
   * given, is `JSON.stringify(report.summary)` already made (the run's last event holds it).
   */
  async finish(meta: RunMeta, report: StoredReport | undefined, summaryJson?: string): Promise<StoredRun> {
    let place: ReportPlace | undefined;
    if (report !== undefined) {
      const pieces = reportPieces(report, summaryJson);
      let bytes = 0;
      for (const piece of pieces) bytes += Buffer.byteLength(piece);
      place = { at: this.#size + this.#pendingBytes, bytes };
      this.#add(pieces, bytes);
    }
    this.append(metaLine(meta, place));
    await this.close();
    return place === undefined ? { meta } : { meta, report: place };
  }

  /** Writes every line appended so far; rejects when a write failed. */
  async flush(): Promise<void> {
    this.#write();
    if (this.#error !== undefined) throw this.#error;
  }

  /** Writes what is pending and closes the file (once its journal is released, if it has one). */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#release();
    }
  }
}

/** Opens a file to a plain descriptor in the thread pool: creating a file updates its directory, which may wait on the disk. */
const openFdAsync = promisify(openFd);
const fsyncAsync = promisify(fsync);

/** How the name of a file an earlier version made ahead began (`.spare-<hex>`); a kill could leave one. */
const LEGACY_SPARE = '.spare-';

/** Logs made ahead, empty, under the ids the next runs will have (see {@link RunStore.reserve}). */
const SPARES = 2;

/**
 * A run id handed out by {@link RunStore.reserve}, for {@link RunStore.create}: with the
 * descriptor of its log when the store had made that file ahead.
 */
export interface Reservation {
  readonly id: string;
  /** The log made ahead under this id, empty and open to append; undefined when none was ready. */
  readonly fd: number | undefined;
}

/** A log made ahead: an id not handed out yet, its file (empty) and descriptor. */
interface Spare {
  id: string;
  fd: number;
}

const LOG = '.ndjson';
const JOURNAL = '.journal.ndjson';

/** The files of runs in a data directory. */
export class RunStore {
  readonly root: string;
  #made: Promise<void> | undefined;
  /** Logs made ahead, ids in increasing order: the next runs' files, taken first in first out. */
  readonly #spares: Spare[] = [];
  /** The spare being made (one at a time). */
  #making: Promise<void> | undefined;
  /** The greatest id handed out: a spare made with a smaller one is no longer of use (ids must keep growing). */
  #issued = '';
  /** Paths of this store's logs that are empty on purpose: spares, and logs until their first write (see {@link list}). */
  readonly #unwritten = new Set<string>();
  /** Spares being removed (see {@link close}). */
  readonly #discarding = new Set<Promise<void>>();
  #closed = false;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'runs');
  }

  logPath(id: string): string {
    return join(this.root, `${id}${LOG}`);
  }

  /** The journal of a run of an earlier layout, or of an MCP tool's run, beside its log. */
  journalPath(id: string): string {
    return join(this.root, `${id}${JOURNAL}`);
  }

  /** Where a stored run's journal is, for a resume: beside its log when there is such a file, else its log. */
  async journalOf(id: string): Promise<string> {
    const beside = this.journalPath(id);
    try {
      await access(beside);
      return beside;
    } catch (error) {
      // Only a journal that is not there means the log holds it: any other failure (EACCES, EIO)
      // must not make a resume of an earlier layout's run read a log without journal records and
      // run again what had succeeded.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.logPath(id);
      throw error;
    }
  }

  /** Makes the runs' directory, once per process (and again after a failure, say it was removed). */
  made(): Promise<void> {
    this.#made ??= mkdir(this.root, { recursive: true }).then(
      () => undefined,
      (error: unknown) => {
        this.#made = undefined;
        throw error;
      },
    );
    return this.#made;
  }

  /**
   * The id of the next run, with its log when one was made ahead: ids come out in increasing
   * order, whoever asks (a submit, a tool's run), so "newest first" stays the ids in reverse.
   * Synchronous: no file-system call is made here. The spare taken is replaced after this
   * turn (once the submit's 202 is out). Pass the reservation to {@link create}, or to
   * {@link release} when no run is created.
   *
   * Why logs are made ahead, under the ids they will have: creating a file takes an inode and
   * writes the directory, which on ext4 walks past the inodes freed in the last seconds
   * (`recently_deleted`: 0.4–1 ms at the median in /tmp, measured), and waits while the
   * directory is written out by another log's fsync (the journal's sync of the run before,
   * which the scheduler starts as that run ends, so just as the next submit comes in). A
   * spare made under a name of its own and linked at the submit still cost a link on the
   * submit's path, a thread-pool round trip that waited on the same directory, and an unlink.
   */
  reserve(): Reservation {
    const spare = this.#spares.shift();
    const id = spare?.id ?? newRunId();
    this.#issued = id;
    if (!this.#closed) setImmediate(() => this.stock());
    return { id, fd: spare?.fd };
  }

  /** Gives back a reservation no run was created with: its spare, if it had one, is removed. */
  release(reservation: Reservation): void {
    if (reservation.fd !== undefined) void this.#discard({ id: reservation.id, fd: reservation.fd });
  }

  /**
   * Records a new run: its log with the meta and the plan, written before this resolves. The
   * log stays open for the run's events; the scheduler's journal goes to the same file. The
   * log is the one made ahead when `reservation` has it (no file-system call then but the
   * write), else a file created now, `ax`: a log is never written twice from its start, and
   * appended to (O_APPEND), so no write lands anywhere but at its end.
   */
  async create(meta: RunMeta, plan: Plan, reservation?: Reservation): Promise<RunLog> {
    if (reservation !== undefined && reservation.id !== meta.id) throw new Error(`expected the meta of run ${reservation.id} (the id reserved), got run ${meta.id}`);
    const path = this.logPath(meta.id);
    // Empty until its first write: not one a `list` now may take for a kill's leftover.
    this.#unwritten.add(path);
    try {
      let fd = reservation?.fd;
      if (fd === undefined) {
        await this.made();
        fd = await openFdAsync(path, 'ax');
      }
      const log = new RunLog(fd);
      log.meta(meta);
      log.append(JSON.stringify({ type: 'run:plan', plan }));
      try {
        await log.flush();
      } catch (error) {
        await log.close().catch(() => undefined);
        throw error;
      }
      return log;
    } finally {
      this.#unwritten.delete(path);
    }
  }

  /**
   * Starts making the next log ahead in the thread pool, unless {@link SPARES} are made or one
   * is being made (then the next follows it); {@link reserve} calls it after each id handed out.
   */
  stock(): void {
    if (this.#closed || this.#making !== undefined || this.#spares.length >= SPARES) return;
    const id = newRunId();
    const path = this.logPath(id);
    this.#unwritten.add(path);
    this.#making = this.made()
      .then(() => openFdAsync(path, 'ax'))
      .then(
        (fd) => {
          this.#making = undefined;
          const spare = { id, fd };
          // Closed meanwhile, or an id handed out since this one was drawn (none was ready then).
          if (this.#closed || id < this.#issued) void this.#discard(spare);
          else this.#spares.push(spare);
          this.stock();
        },
        () => {
          // No spare: the next run's file is created on its own path, where a failure is reported.
          this.#making = undefined;
          this.#unwritten.delete(path);
        },
      );
  }

  #discard(spare: Spare): Promise<void> {
    closeSync(spare.fd);
    const path = this.logPath(spare.id);
    const removed = rm(path, { force: true }).then(
      () => void this.#unwritten.delete(path),
      () => undefined,
    );
    this.#discarding.add(removed);
    void removed.then(() => this.#discarding.delete(removed));
    return removed;
  }

  /** Removes the spares (once made, if one is being made); no run is created after. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#making;
    for (const spare of this.#spares.splice(0)) void this.#discard(spare);
    await Promise.all(this.#discarding);
  }

  /** Opens a stored run's log to append again (a resume), cutting the torn tail `contents` left out. */
  async reopen(id: string, contents: RunContents): Promise<RunLog> {
    const handle = await open(this.logPath(id), 'a');
    try {
      const { size } = await handle.stat();
      if (size > contents.size) await handle.truncate(contents.size);
    } finally {
      await handle.close();
    }
    return new RunLog(await openFdAsync(this.logPath(id), 'a'), contents.size);
  }

  /**
   * A run's report, read from where its meta line says it is; when another line is there (a
   * journal record written while the report was, which a run's end does not do), from the last
   * report line of the whole log.
   */
  async readReport(id: string, place: ReportPlace): Promise<StoredReport> {
    const handle = await open(this.logPath(id), 'r');
    let line: string;
    try {
      const buffer = Buffer.allocUnsafe(place.bytes);
      let done = 0;
      while (done < place.bytes) {
        const { bytesRead } = await handle.read(buffer, done, place.bytes - done, place.at + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      line = buffer.subarray(0, done).toString('utf8');
    } finally {
      await handle.close();
    }
    if (!line.startsWith(REPORT)) {
      const text = await readFile(this.logPath(id), 'utf8');
      const at = text.lastIndexOf(`\n${REPORT}`);
      const end = at < 0 ? -1 : text.indexOf('\n', at + 1);
      if (end < 0) throw new Error(`expected the report of run ${id} at byte ${place.at} of ${this.logPath(id)} or further on, got ${JSON.stringify(line.slice(0, 40))} there and none after`);
      line = text.slice(at + 1, end);
    }
    return (JSON.parse(line) as { report: StoredReport }).report;
  }

  /** Everything a run's log holds; a torn last line is left out (and not counted in `size`). */
  async read(id: string): Promise<RunContents> {
    const text = await readFile(this.logPath(id), 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    const contents: RunContents = { meta: undefined as unknown as RunMeta, plan: undefined, events: [], size: Buffer.byteLength(text.slice(0, end)) };
    for (const line of end === 0 ? [] : text.slice(0, end - 1).split('\n')) {
      if (!line.startsWith(RECORD)) {
        // The scheduler's journal records share the file: they are not events.
        if (!isJournalLine(line)) contents.events.push(line);
      } else if (line.startsWith(META)) {
        const record = JSON.parse(line) as StoredRun;
        contents.meta = record.meta;
        if (record.report === undefined) delete contents.report;
        else contents.report = record.report;
      } else if (line.startsWith(PLAN)) contents.plan = (JSON.parse(line) as { plan: Plan }).plan;
    }
    if (contents.meta === undefined) throw new Error(`expected a run log starting with its meta at ${this.logPath(id)}, got none`);
    return contents;
  }

  /**
   * The last recorded meta of a run, read from the end of its log: a run that is over ends with
   * its meta line; one that was going when the server stopped is read whole.
   */
  async #last(id: string): Promise<StoredRun | undefined> {
    const handle = await open(this.logPath(id), 'r');
    let tail: string;
    let empty = false;
    try {
      const { size } = await handle.stat();
      empty = size === 0;
      const length = Math.min(size, TAIL_BYTES);
      const buffer = Buffer.allocUnsafe(length);
      await handle.read(buffer, 0, length, size - length);
      tail = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
    if (empty) {
      // A kill between the log's create and its first write, or a log made ahead that no run
      // took: no run to list or resume, not even an id a client was given (the 202 follows the write).
      if (!this.#unwritten.has(this.logPath(id))) await unlink(this.logPath(id)).catch(() => undefined);
      return undefined;
    }
    const end = tail.lastIndexOf('\n');
    const start = tail.lastIndexOf('\n', end - 1) + 1;
    const last = end < 0 ? '' : tail.slice(start, end);
    // A whole line only if a newline precedes it, or the tail is the whole file.
    if (last.startsWith(META) && (start > 0 || tail.length < TAIL_BYTES)) {
      const { meta, report } = JSON.parse(last) as StoredRun;
      return report === undefined ? { meta } : { meta, report };
    }
    const contents = await this.read(id);
    return { meta: contents.meta };
  }

  /**
   * Every run as last recorded (a log without a readable first line is left out: a kill during
   * creation). Removes what a killed process left: logs it made ahead or created but never
   * wrote, and the spares of an earlier version (`.spare-<hex>`).
   */
  async list(): Promise<StoredRun[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    // Spares an earlier version left (a kill): empty, and no run's.
    const leftovers = names.filter((name) => name.startsWith(LEGACY_SPARE));
    await Promise.all(leftovers.map((name) => rm(join(this.root, name), { force: true }).catch(() => undefined)));
    const ids = names.filter((name) => name.endsWith(LOG) && !name.endsWith(JOURNAL)).map((name) => name.slice(0, -LOG.length));
    const runs = await Promise.all(ids.filter(isRunId).map((id) => this.#last(id).catch(() => undefined)));
    return runs.filter((run): run is StoredRun => run !== undefined);
  }
}

/** Bytes read from the end of a log for its last line: more than any meta line. */
const TAIL_BYTES = 16 * 1024;
