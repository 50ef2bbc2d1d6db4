/**
 * Reading small files on the main thread, in slices. A file read through libuv's thread pool
 * costs two trips (open, read), each waking a pool thread and then the main thread: for a
 * read of 200 small files that was most of the CPU of the call (in-process, 200 files of ≤ 4 KiB:
 * 55–79 ms of CPU over all threads for the second to fourth reads, against 13 ms read
 * synchronously), and on a busy machine the pool threads also compete with the main thread
 * for the cores. A synchronous read blocks the event loop, though, so it is bounded: files
 * of at most {@link SyncReadOptions.fileBytes} are read on the main thread until the turn's
 * slice ({@link SyncReadOptions.ms} of time, {@link SyncReadOptions.bytes} of content) is
 * spent; the next file then waits for the next turn of the event loop (`setImmediate`), so
 * whatever else is ready — other requests, other operations' I/O, timers — runs in between.
 * The slice is shared by every operation of the thread that uses the same {@link SyncSlices}
 * (the default one is the module's), so operations read at once do not each take a slice
 * per turn. Larger files, line ranges and FIFOs go through the thread pool as before.
 */

/** How much a synchronous read may take of a turn of the event loop. */
export interface SyncReadOptions {
  /** Time of synchronous reading per turn before yielding. @default 2 */
  ms?: number;
  /** Bytes of content read synchronously per turn before yielding. @default 1048576 (1 MiB) */
  bytes?: number;
  /** Largest file read synchronously; larger ones go through the thread pool. @default 65536 (64 KiB) */
  fileBytes?: number;
  /**
   * A file whose synchronous open and read took longer than this (a network file system that
   * stalls, a disk queue far behind) makes the rest of its operation read through the thread
   * pool. The clock cannot tell I/O from preemption: on a busy machine a thread waits for a
   * core for several milliseconds at a time, and at 10 ms (a disk seek) under valgrind or a
   * load of 15 on 2 cores most operations went back to the pool after a file or two.
   * @default 50
   */
  slowMs?: number;
  /** The clock, in milliseconds. @default performance.now */
  now?: () => number;
}

export const SYNC_SLICE_MS = 2;
export const SYNC_SLICE_BYTES = 1024 * 1024;
export const SYNC_FILE_BYTES = 64 * 1024;
export const SYNC_SLOW_MS = 50;

/** The synchronous-read budget of the current turn of the event loop, shared by the operations that hold it. */
export class SyncSlices {
  readonly ms: number;
  readonly bytes: number;
  readonly fileBytes: number;
  readonly slowMs: number;
  readonly now: () => number;
  #spentMs = 0;
  #spentBytes = 0;
  #next: Promise<void> | undefined;
  #yields = 0;

  constructor(options: SyncReadOptions = {}) {
    this.ms = options.ms ?? SYNC_SLICE_MS;
    this.bytes = options.bytes ?? SYNC_SLICE_BYTES;
    this.fileBytes = options.fileBytes ?? SYNC_FILE_BYTES;
    this.slowMs = options.slowMs ?? SYNC_SLOW_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** The turn's slice is spent: the next synchronous read waits for {@link nextTurn}. */
  get spent(): boolean {
    return this.#spentMs >= this.ms || this.#spentBytes >= this.bytes;
  }

  /** How many times reads waited for the next turn (for tests and measurements). */
  get yields(): number {
    return this.#yields;
  }

  /** Resolves on the next turn of the event loop, with a fresh slice; every waiter shares it. */
  nextTurn(): Promise<void> {
    if (this.#next === undefined) {
      this.#yields++;
      this.#next = new Promise((resolve) => {
        setImmediate(() => {
          this.#next = undefined;
          this.#spentMs = 0;
          this.#spentBytes = 0;
          resolve();
        });
      });
    }
    return this.#next;
  }

  /** Counts a synchronous read that started at `startedAt` (from {@link now}) and read `bytes`; resolves its duration. */
  spend(startedAt: number, bytes: number): number {
    const took = this.now() - startedAt;
    this.#spentMs += took;
    this.#spentBytes += bytes;
    return took;
  }
}

/** The thread's slices, shared by every `read` adapter made without options of its own. */
export const sharedSyncSlices = new SyncSlices();

/**
 * One operation's use of the slices: synchronous while no file of it was slow. Made per
 * operation, so a slow file system under one operation does not change the others.
 */
export class SyncReads {
  readonly slices: SyncSlices;
  #slow = false;

  constructor(slices: SyncSlices) {
    this.slices = slices;
  }

  /** Whether this operation still reads on the main thread. */
  get allowed(): boolean {
    return !this.#slow;
  }

  /** Counts a file read synchronously; a slow one turns this operation's later files asynchronous. */
  done(startedAt: number, bytes: number): void {
    if (this.slices.spend(startedAt, bytes) > this.slices.slowMs) this.#slow = true;
  }
}
