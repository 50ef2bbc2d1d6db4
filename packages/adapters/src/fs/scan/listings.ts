/**
 * What the operations of one batch share about the tree besides the pass: directory listings
 * and `.gitignore` rules. The walker of the pass and every glob of the batch read a directory
 * through here, so it is listed once; globs that honour `.gitignore` share one
 * {@link GitignoreFilter} per set of roots (so each `.gitignore` is parsed once) and the
 * filtered listing of each directory.
 *
 * Memory: listings are kept for the batch only, and at most {@link MAX_SHARED_ENTRIES}
 * entries in all (about 100 bytes each); past that, directories are listed without being
 * kept, as they would be without sharing.
 */
import { readdirSync, type Dirent } from 'node:fs';
import { GitignoreFilter } from '../gitignore.js';
import { listInside } from './opened.js';

/** Most directory entries (listed and filtered) one batch keeps. */
export const MAX_SHARED_ENTRIES = 250_000;

/** Node's callback `readdir` with file types, as fast-glob calls it. */
export type ReaddirCallback = (error: NodeJS.ErrnoException | null, entries: Dirent[]) => void;
export type Readdir = (path: string, options: { withFileTypes: true }, callback: ReaddirCallback) => void;

const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Callbacks answered from memory are never synchronous: fast-glob's queue would call the next
 * readdir from inside this one, one stack frame deeper per directory. A microtask is enough
 * for that, and costs a fraction of a trip through the event loop (`setImmediate`, measured at
 * 440 ms of main-thread time for 16 globs over a 13,000-directory tree); every 64th answer
 * still takes that trip, so a walk answered from memory lets timers, aborts and worker
 * messages in as it goes.
 */
let answered = 0;
const later = (callback: ReaddirCallback, error: NodeJS.ErrnoException | null, entries: Dirent[]): void => {
  if ((++answered & 63) === 0) setImmediate(callback, error, entries);
  else queueMicrotask(() => callback(error, entries));
};

/** Listings of one file system (`node:fs`, or a glob adapter's own `fs`). */
class ListingCache {
  readonly done = new Map<string, Dirent[]>();
  readonly reading = new Map<string, ReaddirCallback[]>();
}

/** What a scan has done, for monitoring and tests (see `FsScan.stats`). */
export interface ScanCounters {
  /** Batches run (a lone operation is a batch of one). */
  batches: number;
  /** Directories listed (`readdir`), by walks and globs together. */
  directoriesListed: number;
  /** Files opened and read for the per-file work. */
  filesRead: number;
  bytesRead: number;
}

/** The listings and `.gitignore` filters one batch shares. */
export class Listings {
  readonly #node = new ListingCache();
  readonly #others = new WeakMap<Readdir, ListingCache>();
  readonly #filters = new Map<string, GitignoreFilter>();
  readonly #filtered = new Map<GitignoreFilter, Map<string, { entries: Dirent[]; kept: Dirent[]; set?: ReadonlySet<Dirent> }>>();
  readonly #max: number;
  readonly #counters: ScanCounters | undefined;
  readonly #roots: readonly string[] | undefined;
  #kept = 0;

  /**
   * @param roots The allowed roots' real paths: each directory is listed through its
   * descriptor once that is checked inside them (`opened.ts`), so a directory swapped for a
   * symlink to the outside is refused with `FANOUT_PATH_OUTSIDE_ROOT`, not listed. Without
   * them, directories are listed by path.
   */
  constructor(maxEntries = MAX_SHARED_ENTRIES, counters?: ScanCounters, roots?: readonly string[]) {
    this.#max = maxEntries;
    this.#counters = counters;
    this.#roots = roots;
  }

  /** Entries kept now (listings and filtered listings). */
  get size(): number {
    return this.#kept;
  }

  /**
   * The entries of `path`, sorted by name (UTF-16 code units), from `node:fs`; throws what
   * `readdirSync` throws, or the escape error of `opened.ts` when what was opened at `path`
   * is outside the roots.
   */
  read(path: string): Dirent[] {
    let entries = this.#node.done.get(path);
    if (entries === undefined) {
      if (this.#counters !== undefined) this.#counters.directoriesListed++;
      entries = (this.#roots === undefined ? readdirSync(path, { withFileTypes: true }) : listInside(path, this.#roots)).sort(byName);
      this.#keep(this.#node, path, entries);
    }
    // Sorted once, when listed: every listing of node:fs kept here comes through this method.
    return entries;
  }

  /**
   * A callback `readdir` for fast-glob that lists each directory once for the whole batch
   * (`base`: the glob adapter's own `readdir`, if it has one; its listings are kept apart).
   * It never calls back synchronously.
   *
   * `node:fs` directories are listed with `readdirSync`, as the walk lists them: the callback
   * `readdir` costs a round trip through libuv's thread pool per directory, measured at three
   * times the main-thread time of `readdirSync` (400 ms against 140 ms for the 13,000
   * directories of a 27,000-file tree), and the main thread is what a batch waits on.
   */
  readdir(base: Readdir | undefined): Readdir {
    if (base === undefined) {
      return (path, _options, callback) => {
        let entries: Dirent[];
        try {
          entries = this.read(path);
        } catch (error) {
          later(callback, error as NodeJS.ErrnoException, []);
          return;
        }
        later(callback, null, entries);
      };
    }
    const cache = this.#others.get(base) ?? new ListingCache();
    this.#others.set(base, cache);
    const list = base;
    return (path, options, callback) => {
      const done = cache.done.get(path);
      if (done !== undefined) {
        later(callback, null, done);
        return;
      }
      const waiting = cache.reading.get(path);
      if (waiting !== undefined) {
        waiting.push(callback);
        return;
      }
      const callbacks = [callback];
      cache.reading.set(path, callbacks);
      if (this.#counters !== undefined) this.#counters.directoriesListed++;
      list(path, options, (error, entries) => {
        cache.reading.delete(path);
        if (error === null) this.#keep(cache, path, entries);
        for (const waiter of callbacks) waiter(error, entries);
      });
    };
  }

  /** The batch's `.gitignore` filter for these roots (one per set of boundaries), so each file is parsed once. */
  gitignore(boundaries: readonly string[], ignoreCase: boolean): GitignoreFilter {
    const key = `${ignoreCase ? 'i' : 's'}\0${boundaries.join('\0')}`;
    let filter = this.#filters.get(key);
    if (filter === undefined) {
      filter = new GitignoreFilter({ boundaries, ignoreCase });
      this.#filters.set(key, filter);
    }
    return filter;
  }

  /** `filter.filter(dir, entries)`, computed once per directory for the batch when `entries` is the shared listing. */
  filter(filter: GitignoreFilter, dir: string, entries: Dirent[]): Dirent[] {
    let byDir = this.#filtered.get(filter);
    const known = byDir?.get(dir);
    if (known !== undefined && known.entries === entries) return known.kept;
    const kept = filter.filter(dir, entries);
    if (this.#kept + kept.length <= this.#max) {
      if (byDir === undefined) {
        byDir = new Map();
        this.#filtered.set(filter, byDir);
      }
      byDir.set(dir, { entries, kept });
      this.#kept += kept.length;
    }
    return kept;
  }

  /**
   * The entries of {@link Listings.filter} as a set, made once per directory for the batch:
   * every glob of a batch that honours `.gitignore` asks for it in every directory it visits.
   */
  keptSet(filter: GitignoreFilter, dir: string, entries: Dirent[]): ReadonlySet<Dirent> {
    const kept = this.filter(filter, dir, entries);
    const known = this.#filtered.get(filter)?.get(dir);
    if (known === undefined || known.kept !== kept) return new Set(kept);
    known.set ??= new Set(kept);
    return known.set;
  }

  #keep(cache: ListingCache, path: string, entries: Dirent[]): void {
    if (this.#kept + entries.length > this.#max) return;
    cache.done.set(path, entries);
    this.#kept += entries.length;
  }
}
