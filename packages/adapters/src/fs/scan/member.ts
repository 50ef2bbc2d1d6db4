/**
 * One operation inside a pass, on the main thread: it receives what the shared walk finds for
 * each of its targets, puts it in its own order (its targets one after the other, each in walk
 * order, every file once), and merges the per-file outcomes in that order, whatever thread
 * finished them first and whatever other operations share the pass. So its output, and where
 * a cap cuts it, is what it would be alone.
 *
 * The walk may visit an operation's targets out of its order (another operation's target came
 * first): what a later target finds waits here until the earlier ones are complete.
 */
import type { AttemptContext } from '@fanout/scheduler';
import { isInside } from '../../roots.js';
import type { StreamItem, WalkMember } from './walker.js';
import type { ConsumerOutcome } from './work.js';

/** An item of the operation's own order. */
export type Ordered = { kind: 'file'; path: string; outcome: ConsumerOutcome | undefined; again?: true } | { kind: 'error'; item: Extract<StreamItem, { kind: 'error' | 'list-error' }>; target: number };

interface Stream {
  items: (StreamItem | undefined)[];
  complete: boolean;
}

/** How a member ends: through the scheduler's batch member, or a plain callback pair. */
export interface Settle {
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/**
 * Can one path be met under two of these targets (the same path, or one inside another)?
 * Only then does an operation need to remember the files it has taken, to take each once: a
 * walk from one target meets every path once.
 */
export function overlapping(paths: readonly string[]): boolean {
  for (let i = 0; i < paths.length; i++) for (let j = 0; j < paths.length; j++) if (i !== j && isInside(paths[i]!, paths[j]!)) return true;
  return false;
}

export abstract class ScanMember implements WalkMember {
  /** Its consumer in the pass (set by the pass), when it reads files. */
  consumer: number | undefined = undefined;
  readonly context: AttemptContext;
  readonly #settle: Settle;
  readonly #streams: Stream[];
  #target = 0;
  #position = 0;
  /** The paths taken so far, when its targets overlap (see {@link overlapping}): named in the input or not. */
  readonly #seen: Map<string, boolean> | undefined;
  /** Files released into the order so far (their indices), and errors. */
  #released = 0;
  #next = 0;
  readonly #indexOf = new Map<number, number>();
  readonly #early = new Map<number, ConsumerOutcome>();
  /**
   * What was released and is not merged yet, in order: item `index` of the order is at
   * `index - #readyFrom`. A queue, not a map by index: every file of every operation goes
   * through it (a glob of a large tree takes most of its files), and a map's inserts and
   * deletes were a visible share of the main thread in profiles of Babel.
   */
  #ready: (Ordered | undefined)[] = [];
  #readyFrom = 0;
  /** It takes no more files (a cap on files was reached). */
  #full = false;
  /** A merge is due (see `#soon`). */
  #scheduled = false;
  #ended = false;
  /** Called once it has ended, however. */
  onEnd: () => void = () => {};

  readonly #onAbort = (): void => {
    // The scheduler has ended the operation already: only its share of the work stops.
    this.#end();
  };

  /** `paths`: its targets' paths, in order. */
  constructor(paths: readonly string[], context: AttemptContext, settle: Settle) {
    const targets = paths.length;
    this.#seen = overlapping(paths) ? new Map() : undefined;
    this.context = context;
    this.#settle = settle;
    this.#streams = Array.from({ length: targets }, () => ({ items: [], complete: false }));
    if (context.signal.aborted) this.#ended = true;
    else context.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Has it ended (output, error, or its signal: the abort listener ends it at once)? */
  get ended(): boolean {
    return this.#ended;
  }

  wants(target: number): boolean {
    return !this.ended && !this.#full && target >= this.#target;
  }

  push(target: number, item: StreamItem): boolean {
    if (!this.wants(target)) return false;
    if (target > this.#target) {
      // Behind an earlier target of its own: it waits; its bytes are wanted unless already seen.
      this.#streams[target]!.items.push(item);
      return item.kind === 'file' && this.#taking(item) !== false;
    }
    // The current target (whatever came before it is released already).
    const taken = this.#release(item, target);
    this.#soon();
    return taken;
  }

  complete(target: number): void {
    if (this.ended) return;
    this.#streams[target]!.complete = true;
    this.#drain();
  }

  /** A file's outcome for this member, in any order. */
  deliver(id: number, outcome: ConsumerOutcome): void {
    if (this.ended) return;
    const index = this.#indexOf.get(id);
    if (index === undefined) {
      this.#early.set(id, outcome);
      return;
    }
    this.#indexOf.delete(id);
    (this.#ready[index - this.#readyFrom] as Extract<Ordered, { kind: 'file' }>).outcome = outcome;
    this.#soon();
  }

  /** Ends the member with an output (once). */
  protected resolve(output: unknown): void {
    if (this.#end()) this.#settle.resolve(output);
  }

  /** Ends the member with an error (once). */
  fail(error: unknown): void {
    if (this.#end()) this.#settle.reject(error);
  }

  /** Stops taking files: what was taken is merged, then the member finishes. */
  protected stopTaking(): void {
    this.#full = true;
  }

  /**
   * Decides whether a file (not seen before) joins the order: false stops the member taking
   * files (analyze's `maxFiles`: the file is one too many).
   */
  protected accept(_path: string): boolean {
    return true;
  }

  /**
   * Takes a file named in the input once more when its walk took it first (see `#taking`):
   * grep does, since ripgrep searches a named file whatever its walk found, and its binary
   * rule differs for a named file.
   */
  protected retakesNamed(): boolean {
    return false;
  }

  /**
   * Whether a file joins the order: the first time its path comes (`first`); a named file
   * after the walk took the path (`again`, when the member {@link retakesNamed}, marked on
   * its item); or not at all.
   */
  #taking(item: Extract<StreamItem, { kind: 'file' }>): 'first' | 'again' | false {
    const named = this.#seen?.get(item.path);
    if (named === undefined) return 'first';
    return !named && item.named && this.retakesNamed() ? 'again' : false;
  }

  /** Takes the next items of its order, in order (a batch of them: one progress report per batch). */
  protected abstract take(items: readonly Ordered[]): void;

  /** Everything is merged: produce the output. */
  protected abstract finish(): void;

  #end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    this.context.signal.removeEventListener('abort', this.#onAbort);
    this.#early.clear();
    this.#ready = [];
    this.#readyFrom = this.#next;
    this.#indexOf.clear();
    for (const stream of this.#streams) stream.items = [];
    this.onEnd();
    return true;
  }

  /** Releases what its order allows now: the items of a target that became current. */
  #drain(): void {
    while (!this.ended && this.#target < this.#streams.length) {
      const stream = this.#streams[this.#target]!;
      if (this.#position < stream.items.length) {
        const item = stream.items[this.#position]!;
        stream.items[this.#position++] = undefined;
        this.#release(item, this.#target);
        continue;
      }
      if (!stream.complete || this.#full) break;
      stream.items = [];
      this.#target++;
      this.#position = 0;
    }
    this.#soon();
  }

  /**
   * Merges once the current stretch of work is over (a microtask): the files a worker's batch
   * or a slice of main-thread work finished are taken together, so one progress report
   * carries them all (one per file made the command's output a write per matching file).
   */
  #soon(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#merge();
    });
  }

  #release(item: StreamItem, target: number): boolean {
    switch (item.kind) {
      case 'fatal':
        this.fail(item.error);
        return false;
      case 'error':
      case 'list-error':
        this.#ready.push({ kind: 'error', item, target });
        this.#released++;
        return false;
      case 'file': {
        const taking = this.#full ? false : this.#taking(item);
        if (taking === false || (taking === 'first' && !this.accept(item.path))) {
          this.#early.delete(item.id);
          if (taking === 'first') this.#full = true;
          return false;
        }
        this.#seen?.set(item.path, item.named || this.#seen.get(item.path) === true);
        const index = this.#released++;
        const early = this.#early.get(item.id);
        if (early !== undefined) this.#early.delete(item.id);
        else if (this.consumer !== undefined) this.#indexOf.set(item.id, index);
        this.#ready.push(taking === 'again' ? { kind: 'file', path: item.path, outcome: early, again: true } : { kind: 'file', path: item.path, outcome: early });
        return true;
      }
    }
  }

  #merge(): void {
    if (this.ended) return;
    const batch: Ordered[] = [];
    const queue = this.#ready;
    let at = this.#next - this.#readyFrom;
    for (; at < queue.length; at++) {
      const ready = queue[at]!;
      if (ready.kind === 'file' && ready.outcome === undefined && this.consumer !== undefined) break;
      queue[at] = undefined;
      batch.push(ready);
    }
    this.#next = this.#readyFrom + at;
    // Merged items leave the queue once they are most of it (each one moved once, on average).
    if (at === queue.length) {
      this.#ready = [];
      this.#readyFrom = this.#next;
    } else if (at >= 1024 && at * 2 >= queue.length) {
      this.#ready = queue.slice(at);
      this.#readyFrom = this.#next;
    }
    if (batch.length > 0) this.take(batch);
    if (this.ended) return;
    const walked = this.#full || this.#target === this.#streams.length;
    if (walked && this.#next === this.#released) this.finish();
  }
}
