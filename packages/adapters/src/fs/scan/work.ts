/**
 * The per-file work of a scan pass: open a file once, read it once, and hand the same bytes to
 * every consumer that wants it — each grep operation its own matcher, `stats` its counting,
 * `markers` its scan — returning one outcome per consumer. It runs in the grep worker threads
 * and on the main thread alike, so it imports only the search engine and the analyzers'
 * per-file halves (no zod, no scheduler): a worker starts fast.
 *
 * Synchronous on purpose: a worker does one file at a time, and `readSync` into a reused
 * buffer is the fastest way Node has to get bytes.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { markerPattern, markersInFile, MAX_MARKER_FILE_BYTES, tooLargeForMarkers, type MarkerPattern, type MarkersFileOutcome } from '../../analyze/markers.js';
import type { MarkerKind } from '../../analyze/output.js';
import { factsOf, MAX_MAP_FILE_BYTES, type MapFileOutcome } from '../../analyze/facts.js';
import { countFile, countFileInChunks, type StatsFileOutcome } from '../../analyze/stats.js';
import { shareViews } from '../grep/decode.js';
import { FileSearcher, type FileOutcome, type FileSearchConfig, type FileTask } from '../grep/file.js';
import { checkOpened } from './opened.js';

/** What one consumer of a pass does with each file it is given. */
export type ConsumerSpec = { type: 'grep'; config: FileSearchConfig } | { type: 'stats' } | { type: 'markers'; kinds: MarkerKind[] } | { type: 'map' };

/**
 * A grep's file searched with no match and nothing cut, as its size in bytes: by far the most
 * common outcome (most files match none of a pass's greps), and a number crosses between
 * threads for a fraction of what an object with two arrays costs to clone and to collect
 * (see {@link noMatchOutcome} for what it stands for).
 */
export type NoMatch = number;

/** One consumer's outcome for one file, by the consumer's type. */
export type ConsumerOutcome = FileOutcome | NoMatch | StatsFileOutcome | MarkersFileOutcome | MapFileOutcome;

/**
 * The empty arrays of every no-match outcome: one shared array, frozen, so that code appending
 * to one outcome's messages or sizes throws instead of changing every other no-match outcome.
 */
const NONE = Object.freeze([]) as unknown as never[];

/** The grep outcome a {@link NoMatch} stands for: searched, `bytes` long, no match, nothing cut (its time is not kept: only files with matches add theirs). */
export function noMatchOutcome(index: number, bytes: NoMatch): FileOutcome {
  return { index, status: 'searched', bytes, elapsedNs: 0, matchedLines: 0, matches: 0, messages: NONE, sizes: NONE, lineMatches: undefined, more: false };
}

/** One file of a pass, and which consumers want it. */
export interface ScanTask {
  /** The file's number in the pass (not any operation's index: each orders its files itself). */
  id: number;
  /** Absolute path, as reported. */
  path: string;
  /** What to open when it is not `path` (a named file's real path). */
  open?: string;
  /** Open through a symlink (a named file, or a link a walk with `followSymlinks` took); otherwise O_NOFOLLOW. */
  follow: boolean;
  /** Named in an input rather than found by a walk. */
  named: boolean;
  /** The consumers (indices into the configured list) that want the file. */
  consumers: number[];
  /**
   * Per consumer (same order): what its cap still allows, a hint that spares work (matching
   * lines for grep, markers for `markers`; unused by `stats`). The main thread applies the
   * caps exactly, in order.
   */
  limits: number[];
}

/**
 * Files up to this size are read whole for `stats` alone (larger ones in chunks of
 * {@link CHUNK_BYTES}, unless another consumer reads them whole anyway).
 */
export const STATS_WHOLE_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
/** Files up to this size have their decoded text shared by their greps (kept while they run: up to twice the size). */
const SHARED_VIEWS_BYTES = 16 * 1024 * 1024;
/** The read buffer is kept between files up to this size; a larger one is dropped after use. */
const KEEP_BUFFER_BYTES = 16 * 1024 * 1024;

/** What {@link FileWork}'s first read says when it cannot give the size. */
const UNKNOWN = -1;
const NOT_REGULAR = -2;

/** What a consumer needs of a file of a given size: nothing, its whole bytes, or chunks of it. */
const Need = { None: 0, Whole: 1, Chunks: 2 } as const;
type Need = (typeof Need)[keyof typeof Need];

interface Consumer {
  need(size: number): Need;
  /** The outcome when the file is not read for it (too large). */
  unread(task: FileTask, size: number): ConsumerOutcome;
  bytes(task: FileTask, bytes: Buffer, size: number, limit: number, started: number): ConsumerOutcome;
  chunks(fd: number, buffer: Buffer, size: number): ConsumerOutcome;
  notRegular(task: FileTask): ConsumerOutcome;
  failed(task: FileTask, error: unknown): ConsumerOutcome;
}

class GrepConsumer implements Consumer {
  readonly #searcher: FileSearcher;
  readonly #maxFileSize: number;
  /** Its place among the pass's `count` consumers: the file number its clock reports (see `clockIndex`). */
  readonly #place: number;
  readonly #count: number;

  constructor(config: FileSearchConfig, place: number, count: number) {
    this.#searcher = new FileSearcher(config);
    this.#maxFileSize = config.maxFileSize;
    this.#place = place;
    this.#count = count;
  }

  need(size: number): Need {
    return size > this.#maxFileSize ? Need.None : Need.Whole;
  }
  unread(task: FileTask, size: number): ConsumerOutcome {
    return { index: task.index, status: 'large', bytes: size };
  }
  bytes(task: FileTask, bytes: Buffer, _size: number, limit: number, started: number): ConsumerOutcome {
    // The regular expression's clock reports which file and which consumer it is in, so a
    // watchdog can fail that operation alone (see `clockIndex`).
    const outcome = this.#searcher.searchBytes({ index: clockIndex(task.index, this.#place, this.#count), path: task.path, open: task.open, named: task.named }, bytes, limit, started);
    return outcome.status === 'searched' && outcome.messages.length === 0 && !outcome.more ? outcome.bytes : outcome;
  }
  chunks(): ConsumerOutcome {
    throw new Error('expected grep to read whole files');
  }
  notRegular(task: FileTask): ConsumerOutcome {
    return { index: task.index, status: 'skipped' };
  }
  failed(task: FileTask, error: unknown): ConsumerOutcome {
    return this.#searcher.failed(task, error);
  }
}

class StatsConsumer implements Consumer {
  need(size: number): Need {
    return size > STATS_WHOLE_BYTES ? Need.Chunks : Need.Whole;
  }
  unread(): ConsumerOutcome {
    throw new Error('expected stats to count every file');
  }
  bytes(_task: FileTask, bytes: Buffer, size: number): ConsumerOutcome {
    return countFile(bytes, size);
  }
  chunks(fd: number, buffer: Buffer, size: number): ConsumerOutcome {
    return countFileInChunks(fd, buffer, size);
  }
  notRegular(): ConsumerOutcome {
    return { status: 'skipped', reason: 'not a regular file' };
  }
  failed(_task: FileTask, error: unknown): ConsumerOutcome {
    return { status: 'skipped', reason: messageOf(error) };
  }
}

class MarkersConsumer implements Consumer {
  readonly #pattern: MarkerPattern;

  constructor(kinds: readonly MarkerKind[]) {
    this.#pattern = markerPattern(kinds);
  }

  need(size: number): Need {
    return size > MAX_MARKER_FILE_BYTES ? Need.None : Need.Whole;
  }
  unread(_task: FileTask, size: number): ConsumerOutcome {
    return { status: 'skipped', reason: tooLargeForMarkers(size) };
  }
  bytes(task: FileTask, bytes: Buffer, _size: number, limit: number): ConsumerOutcome {
    return markersInFile(task.path, bytes, this.#pattern, limit);
  }
  chunks(): ConsumerOutcome {
    throw new Error('expected markers to read whole files');
  }
  notRegular(): ConsumerOutcome {
    return { status: 'skipped', reason: 'not a regular file' };
  }
  failed(_task: FileTask, error: unknown): ConsumerOutcome {
    return { status: 'skipped', reason: messageOf(error) };
  }
}

class MapConsumer implements Consumer {
  need(size: number): Need {
    return size > MAX_MAP_FILE_BYTES ? Need.None : Need.Whole;
  }
  unread(_task: FileTask, size: number): ConsumerOutcome {
    return { status: 'skipped', reason: `${size} bytes, more than the map reads (${MAX_MAP_FILE_BYTES})` };
  }
  bytes(task: FileTask, bytes: Buffer, size: number): ConsumerOutcome {
    return factsOf(task.path, bytes, size);
  }
  chunks(): ConsumerOutcome {
    throw new Error('expected map to read whole files');
  }
  notRegular(): ConsumerOutcome {
    return { status: 'skipped', reason: 'not a regular file' };
  }
  failed(_task: FileTask, error: unknown): ConsumerOutcome {
    return { status: 'skipped', reason: messageOf(error) };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The number a grep consumer's regular-expression clock reports for a file (see
 * `regex-budget.ts`): the file's number and the consumer's place in one integer.
 */
export function clockIndex(file: number, place: number, count: number): number {
  return file * count + place;
}

/** The file and the consumer a clock's number stands for. */
export function fromClockIndex(index: number, count: number): { file: number; place: number } {
  return { file: Math.floor(index / count), place: index % count };
}

function consumerOf(spec: ConsumerSpec, place: number, count: number): Consumer {
  switch (spec.type) {
    case 'grep':
      return new GrepConsumer(spec.config, place, count);
    case 'stats':
      return new StatsConsumer();
    case 'markers':
      return new MarkersConsumer(spec.kinds);
    case 'map':
      return new MapConsumer();
  }
}

/** The per-file work of one pass: its consumers, compiled once (per thread). */
export class FileWork {
  readonly #consumers: Consumer[];
  readonly #roots: readonly string[];
  #buffer = Buffer.allocUnsafe(1024 * 1024);
  #chunk: Buffer | undefined;
  /** Files read so far (opened and read, whole or in chunks, for some consumer). */
  filesRead = 0;
  /** Bytes read so far (what makes a worker thread "warm"). */
  bytesRead = 0;

  /** `roots`: the allowed roots' real paths, which every file opened must be inside (checked on its descriptor). */
  constructor(specs: readonly ConsumerSpec[], roots: readonly string[]) {
    this.#consumers = specs.map((spec, place) => consumerOf(spec, place, specs.length));
    this.#roots = roots;
  }

  /**
   * Does a batch of files, in order. Each file gets the hints it was sent with, not lowered by
   * what the batch's earlier files used: those may come later in an operation's own order (a
   * later target of its walked first), and a hint must never be below what the cap allows at
   * the file's place in that order.
   */
  runBatch(tasks: readonly ScanTask[]): ConsumerOutcome[][] {
    return tasks.map((task) => this.run(task));
  }

  /** Opens, reads and hands one file to its consumers; one outcome per consumer, in `task.consumers` order. */
  run(task: ScanTask): ConsumerOutcome[] {
    if (task.consumers.length === 1) return [this.#runOne(task, this.#consumers[task.consumers[0]!]!, task.limits[0]!)];
    const limits = task.limits;
    const consumers = task.consumers.map((id) => this.#consumers[id]!);
    const file = fileOf(task);
    let fd: number;
    try {
      fd = openTask(task, file.open);
    } catch (error) {
      return consumers.map((consumer) => consumer.failed(file, error));
    }
    const started = performance.now();
    try {
      // What was opened, not only the path the walk checked: a directory on the way swapped
      // for a symlink to the outside fails the file with the escape code (`opened.ts`).
      checkOpened(fd, file.open, this.#roots);
      const stat = fstatSync(fd);
      if (!stat.isFile()) return consumers.map((consumer) => consumer.notRegular(file));
      const size = stat.size;
      const needs = consumers.map((consumer) => consumer.need(size));
      let bytes: Buffer | undefined;
      if (needs.includes(Need.Whole)) bytes = this.#readWhole(fd, size);
      else if (needs.includes(Need.Chunks)) this.bytesRead += size;
      if (bytes !== undefined || needs.includes(Need.Chunks)) this.filesRead++;
      const outcomes = (): ConsumerOutcome[] =>
        consumers.map((consumer, k) => {
          const need = needs[k]!;
          if (need === Need.None) return consumer.unread(file, size);
          if (bytes !== undefined) return consumer.bytes(file, bytes, size, limits[k]!, started);
          this.#chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
          return consumer.chunks(fd, this.#chunk, size);
        });
      // The greps of a file decode its bytes once for all of them (its text kept meanwhile, up to a bound).
      return bytes === undefined || bytes.length > SHARED_VIEWS_BYTES ? outcomes() : shareViews(bytes, outcomes);
    } catch (error) {
      return consumers.map((consumer) => consumer.failed(file, error));
    } finally {
      closeSync(fd);
      if (this.#buffer.length > KEEP_BUFFER_BYTES) this.#buffer = Buffer.allocUnsafe(1024 * 1024);
    }
  }

  /**
   * {@link FileWork.run} for a file one consumer wants (a grep alone, the common case): the
   * same steps and outcome, without the per-consumer arrays and closures, nor the decoded
   * views that only several greps of a file share — a few objects less per file.
   */
  #runOne(task: ScanTask, consumer: Consumer, limit: number): ConsumerOutcome {
    const file = fileOf(task);
    let fd: number;
    try {
      fd = openTask(task, file.open);
    } catch (error) {
      return consumer.failed(file, error);
    }
    const started = performance.now();
    try {
      checkOpened(fd, file.open, this.#roots);
      // Most files fit the read buffer: read first, and their size is what was read up to
      // the end — no fstat, whose Stats (and its four Dates) was a twelfth of a grep's garbage.
      const read = this.#readSmall(fd);
      if (read === NOT_REGULAR) return consumer.notRegular(file);
      if (read !== UNKNOWN) {
        const need = consumer.need(read);
        if (need === Need.None) return consumer.unread(file, read);
        if (need === Need.Whole) {
          this.filesRead++;
          this.bytesRead += read;
          return consumer.bytes(file, this.#buffer.subarray(0, read), read, limit, started);
        }
      }
      const stat = fstatSync(fd);
      if (!stat.isFile()) return consumer.notRegular(file);
      const size = stat.size;
      const need = consumer.need(size);
      if (need === Need.None) return consumer.unread(file, size);
      this.filesRead++;
      if (need === Need.Whole) return consumer.bytes(file, this.#readWhole(fd, size), size, limit, started);
      this.bytesRead += size;
      this.#chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
      return consumer.chunks(fd, this.#chunk, size);
    } catch (error) {
      return consumer.failed(file, error);
    } finally {
      closeSync(fd);
      if (this.#buffer.length > KEEP_BUFFER_BYTES) this.#buffer = Buffer.allocUnsafe(1024 * 1024);
    }
  }

  /**
   * Reads the file into the read buffer from its start, to its end: its size when it is
   * shorter than the buffer and not empty. {@link UNKNOWN} when it filled the buffer or held
   * nothing (an empty file, or something else than a file that reads as empty: the caller
   * then asks fstat), {@link NOT_REGULAR} when it cannot be read as a file: the reads are
   * positioned (`pread`), which a FIFO refuses (ESPIPE) as a directory does (EISDIR) — those
   * fstat then tells apart from a failing file.
   */
  #readSmall(fd: number): number {
    const buffer = this.#buffer;
    let read = 0;
    try {
      for (;;) {
        const n = readSync(fd, buffer, read, buffer.length - read, read);
        if (n === 0) return read === 0 ? UNKNOWN : read;
        read += n;
        if (read === buffer.length) return UNKNOWN;
      }
    } catch (error) {
      if (!fstatSync(fd).isFile()) return NOT_REGULAR;
      throw error;
    }
  }

  /** Reads what the file holds now, up to the size seen (it may change under us). */
  #readWhole(fd: number, size: number): Buffer {
    if (this.#buffer.length < size) this.#buffer = Buffer.allocUnsafe(Math.max(size, this.#buffer.length * 2));
    let read = 0;
    while (read < size) {
      const n = readSync(fd, this.#buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    this.bytesRead += read;
    return this.#buffer.subarray(0, read);
  }
}

/** What a consumer is told of the file a task names. */
function fileOf(task: ScanTask): FileTask {
  return { index: task.id, path: task.path, open: task.open ?? task.path, named: task.named };
}

/**
 * Opens a task's file for reading. O_NONBLOCK: a file replaced by a FIFO since the walk must
 * not block the thread on open (it is then skipped as not a regular file); regular files
 * ignore the flag.
 */
function openTask(task: ScanTask, open: string): number {
  return openSync(open, constants.O_RDONLY | constants.O_NONBLOCK | (task.follow ? 0 : constants.O_NOFOLLOW));
}
