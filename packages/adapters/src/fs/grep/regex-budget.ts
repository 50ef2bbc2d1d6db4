/**
 * The time budget of a regular expression in one file, for the patterns V8 cannot run in
 * linear time (see `ascii-pattern.ts` for those it can): lookaround, backreferences, large
 * counted repetitions, and any pattern on text that is not pure ASCII.
 *
 * Two checks, because a backtracking match can be slow in two ways:
 * - many match attempts, each finishing (exponential on each short line): the searcher looks
 *   at the clock between attempts and gives up on the file past the budget
 *   ({@link SearchClock});
 * - one attempt that never finishes (`(a+)+$` on forty `é`s and a `b`): JavaScript cannot
 *   interrupt it, only terminating the worker thread can. The searcher counts its attempts in
 *   memory shared with the main thread ({@link Heartbeat}); the main thread's
 *   {@link Watchdog} sees the count stand still for the budget and ends the thread.
 * Either way the operation fails with `FANOUT_REGEX_TOO_SLOW`, naming the pattern and file
 * (`regexTooSlow` in `pattern.ts`). This module imports nothing: the worker threads load it.
 */
/**
 * How long a regular expression may spend on one file, and in one match attempt, before the
 * grep fails with `FANOUT_REGEX_TOO_SLOW`. ripgrep searches any file in linear time; a
 * JavaScript search of a 128 MiB file (the default size cap) at 25 MB/s stays within it.
 */
export const REGEX_BUDGET_MS = 10_000;

/** Slots of the shared heartbeat: the file being searched (its index + 1, 0 when idle) and the attempt count. */
const FILE = 0;
const TICKS = 1;

/** A heartbeat buffer, shared between one worker thread and the main thread. */
export function createHeartbeat(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
}

/** Thrown inside a search that ran past its budget; caught by the file searcher. */
export class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
}

/**
 * The searcher's side: counts match attempts into the shared heartbeat (when there is one) and
 * looks at the clock every 16 attempts (a fast attempt takes well under a microsecond; a slow
 * one is what the clock is for).
 */
export class SearchClock {
  readonly #beat: Int32Array | undefined;
  readonly #budgetMs: number;
  #deadline = Number.POSITIVE_INFINITY;
  #count = 0;

  constructor(beat: Int32Array | undefined, budgetMs: number) {
    this.#beat = beat;
    this.#budgetMs = budgetMs;
  }

  /** A file starts (`index` in the walk). */
  begin(index: number): void {
    this.#deadline = performance.now() + this.#budgetMs;
    if (this.#beat !== undefined) {
      Atomics.store(this.#beat, FILE, index + 1);
      Atomics.add(this.#beat, TICKS, 1);
    }
  }

  /** One match attempt is about to start; throws {@link BudgetExceeded} past the budget. */
  tick(): void {
    if (this.#beat !== undefined) Atomics.add(this.#beat, TICKS, 1);
    if ((++this.#count & 15) === 0 && performance.now() > this.#deadline) throw new BudgetExceeded(`past ${this.#budgetMs} ms`);
  }

  /** The file is done. */
  end(): void {
    this.#deadline = Number.POSITIVE_INFINITY;
    if (this.#beat !== undefined) Atomics.store(this.#beat, FILE, 0);
  }
}

/**
 * The main thread's side: polls a worker's heartbeat and calls `onStall(fileIndex)` once when
 * the worker has been in one match attempt for `budgetMs` (the attempt count did not move while
 * a file was being searched). Its timer does not keep the process alive.
 */
export class Watchdog {
  readonly #timer: NodeJS.Timeout;
  #ticks = -1;
  #file = 0;
  #since = 0;

  constructor(beat: Int32Array, budgetMs: number, onStall: (fileIndex: number) => void) {
    const every = Math.max(10, Math.floor(budgetMs / 5));
    this.#timer = setInterval(() => {
      const file = Atomics.load(beat, FILE);
      const ticks = Atomics.load(beat, TICKS);
      const now = performance.now();
      if (file === 0 || ticks !== this.#ticks || file !== this.#file) {
        this.#ticks = ticks;
        this.#file = file;
        this.#since = now;
        return;
      }
      if (now - this.#since >= budgetMs) {
        this.stop();
        onStall(file - 1);
      }
    }, every);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
