/**
 * One walk for every operation of a pass. Each operation looks at the tree through its own
 * lens — a target directory it starts from and its own rules (grep's ignore files, globs,
 * hidden entries, symlinks; analyze's `.gitignore`, hidden entries, `node_modules`) — and the
 * walker reads each directory once for all the lenses that are in it, asks every lens which
 * entries it takes, and descends into a subdirectory if any lens does.
 *
 * Order: depth first, each directory's entries sorted by name (UTF-16 code units), a
 * subdirectory's files where its name sorts — ripgrep's `--sort path` order. Every lens sees
 * its files in that order whatever other lenses share the walk, so an operation's output
 * does not depend on its company (each operation also orders its several targets itself, see
 * `member.ts`).
 *
 * Directories are read with `readdirSync` in slices of a few milliseconds between which the
 * event loop runs (worker results, aborts, other operations): an asynchronous `readdir` costs
 * a round trip through libuv's thread pool per directory, and made the walk, not the search,
 * the slow part. Listings go into the batch's shared cache (`listings.ts`), where the globs
 * of the same batch find them.
 */
import type { Dirent } from 'node:fs';
import { realpathSync, statSync } from 'node:fs';
import { sep } from 'node:path';
// `timers.promises` is read at the call, so that the `fanout` command's bundle loads
// node:timers/promises when a walk first yields, not at start-up.
import { promises as timers } from 'node:timers';
import { isInside } from '../../roots.js';
import type { GrepFileError } from '../grep/walk.js';
import type { Listings } from './listings.js';

/** What a symlink points to (real path and type), or why that is unknown. */
export type LinkTarget = { real: string; isDir: boolean; isFile: boolean } | { error: unknown };

/**
 * An entry of a directory being walked, with what lenses ask of it computed once. A plain
 * object with no field initialisers: one is made for every entry of every directory, and a
 * class's private fields cost more to set up than the rest of an entry's walk (measured at 4
 * µs an entry before the JIT warms up).
 */
export interface WalkEntry {
  readonly dirent: Dirent;
  readonly name: string;
  readonly path: string;
  /** What a symlink points to (see {@link linkTarget}). */
  link?: LinkTarget;
  /** The real path of a directory (see {@link realPathOf}). */
  real?: string;
}

function walkEntry(dir: string, dirent: Dirent): WalkEntry {
  // `dir` is absolute and normalised: a plain concatenation is what path.join would give.
  return { dirent, name: dirent.name, path: dir.endsWith(sep) ? dir + dirent.name : dir + sep + dirent.name };
}

/** What the symlink `entry` points to (real path and type), or why that is unknown; asked once. */
export function linkTarget(entry: WalkEntry): LinkTarget {
  if (entry.link === undefined) {
    try {
      const real = realpathSync(entry.path);
      const info = statSync(real);
      entry.link = { real, isDir: info.isDirectory(), isFile: info.isFile() };
    } catch (error) {
      entry.link = { error };
    }
  }
  return entry.link;
}

/** The real path of the directory `entry` (for symlink loop checks); its path when unknown. */
export function realPathOf(entry: WalkEntry): string {
  if (entry.real === undefined) {
    try {
      entry.real = realpathSync(entry.path);
    } catch {
      entry.real = entry.path;
    }
  }
  return entry.real;
}

/** One directory's entries, sorted, as every lens sees them. */
export interface WalkDirectory {
  path: string;
  dirents: Dirent[];
  entries: WalkEntry[];
  /** The entries' names (grep's ignore rules look up which ignore files are there). */
  readonly names: ReadonlySet<string>;
}

/** A directory's entries, with their names as a set made on first use. */
class Directory implements WalkDirectory {
  readonly path: string;
  readonly dirents: Dirent[];
  readonly entries: WalkEntry[];
  #names: Set<string> | undefined;

  constructor(path: string, dirents: Dirent[]) {
    this.path = path;
    this.dirents = dirents;
    this.entries = dirents.map((dirent) => walkEntry(path, dirent));
  }

  get names(): ReadonlySet<string> {
    this.#names ??= new Set(this.dirents.map((dirent) => dirent.name));
    return this.#names;
  }
}

/** What a lens does with a directory's entries. */
export interface LensVisit<S> {
  /** Takes entry `index` as a file; `follow`: open it through a symlink. */
  file(index: number, follow: boolean): void;
  /** Descends into entry `index`, with the lens's state there. */
  dir(index: number, state: S): void;
  /** Reports a problem with entry `index` (a symlink out of the roots, a loop), in its place. */
  error(index: number, error: GrepFileError): void;
}

/** What the walk hands an operation, in walk order, per target. */
export type StreamItem =
  /** `named`: named in the operation's input, rather than found by its walk. */
  | { kind: 'file'; id: number; path: string; named: boolean }
  /** A problem met on the way (grep reports it; analyze lists it as skipped). */
  | { kind: 'error'; error: GrepFileError }
  /** A directory could not be listed; `start`: the target directory itself. */
  | { kind: 'list-error'; path: string; error: unknown; start: boolean }
  /** The target cannot be walked at all: the operation fails, when its turn comes. */
  | { kind: 'fatal'; error: unknown };

/** An operation as the walker sees it. */
export interface WalkMember {
  /** The consumer doing this operation's per-file work, if it reads files at all. */
  readonly consumer: number | undefined;
  /** Does it still want what the walk finds under `target`? */
  wants(target: number): boolean;
  /** Hands it an item of `target`; true when it wants the file's bytes (a file item). */
  push(target: number, item: StreamItem): boolean;
  /** The walk of `target` is over. */
  complete(target: number): void;
}

/** An operation's target seen through a lens. */
export interface Subscription {
  member: WalkMember;
  target: number;
}

/**
 * A way of looking at a tree from one start: which entries to take, and the state each
 * directory passes down (ignore rules, the relative path, the directories above). Operations
 * with the same target and the same rules share a lens, so the rules are evaluated once.
 */
export abstract class Lens<S = unknown> {
  readonly subscriptions: Subscription[] = [];
  /** Walk items that hold this lens and are not done yet. */
  pending = 0;
  /** Its start has been put in the walk. */
  started = false;
  #complete = false;

  /** Is some subscriber still interested? */
  get active(): boolean {
    if (this.#complete) return false;
    for (const { member, target } of this.subscriptions) if (member.wants(target)) return true;
    return false;
  }

  abstract visit(directory: WalkDirectory, state: S, visit: LensVisit<S>): void;

  /** Hands an item to every subscriber still interested; the consumers that want the file's bytes go into `consumers` (once each). */
  emit(item: StreamItem, consumers?: number[]): void {
    for (const { member, target } of this.subscriptions) {
      if (!member.wants(target)) continue;
      if (member.push(target, item) && consumers !== undefined && member.consumer !== undefined && !consumers.includes(member.consumer)) consumers.push(member.consumer);
    }
  }

  /** Once no walk item holds it any more, its subscribers' targets are complete. */
  settle(): void {
    if (this.#complete || !this.started || this.pending > 0) return;
    this.#complete = true;
    for (const { member, target } of this.subscriptions) member.complete(target);
  }
}

/** Where a lens starts. */
export type Start<S = unknown> =
  | { type: 'dir'; path: string; lens: Lens<S>; state: S }
  /** A file named in an input: open `open` (its real path), report `path`. */
  | { type: 'file'; path: string; open: string; lens: Lens<S> }
  /** A target that failed its checks: its subscribers get `error` in its place. */
  | { type: 'fatal'; lens: Lens<S>; error: unknown };

interface View {
  lens: Lens;
  state: unknown;
  start: boolean;
}

type Item =
  | { type: 'dir'; path: string; views: View[] }
  | { type: 'file'; path: string; open: string; follow: boolean; named: boolean; lenses: Lens[] }
  | { type: 'error'; lens: Lens; error: GrepFileError }
  | { type: 'fatal'; lens: Lens; error: unknown };

/** Main-thread walking between two yields to the event loop. */
const SLICE_MS = 2;

/** The walk of one pass. */
export class Walker {
  readonly #listings: Listings;
  readonly #onFile: (id: number, item: Extract<Item, { type: 'file' }>, consumers: number[]) => void;
  readonly #roots: Item[][] = [];
  /** Directory starts nested in another start's tree: joined when the walk gets there. */
  readonly #nested = new Map<string, View[]>();
  #stack: Item[] = [];
  #stopped = false;
  #nextId = 0;
  /** Directories read so far, files found so far, and directories waiting on the stack (for {@link Walker.filesAhead}). */
  #dirsRead = 0;
  #filesFound = 0;
  #dirsAhead = 0;
  #filesAhead = 0;

  /**
   * @param onFile Receives every file some operation took, with a number of its own and the
   * consumers that want its bytes (possibly none).
   */
  constructor(starts: readonly Start[], listings: Listings, onFile: (id: number, file: { path: string; open: string; follow: boolean; named: boolean }, consumers: number[]) => void) {
    this.#listings = listings;
    this.#onFile = onFile;
    const dirs = starts.filter((start): start is Extract<Start, { type: 'dir' }> => start.type === 'dir');
    const outer = (path: string): boolean => !dirs.some((other) => other.path !== path && isInside(other.path, path));
    const rootItems = new Map<string, Extract<Item, { type: 'dir' }>>();
    for (const start of starts) {
      if (start.type === 'file') {
        this.#roots.push([{ type: 'file', path: start.path, open: start.open, follow: true, named: true, lenses: [start.lens] }]);
      } else if (start.type === 'fatal') {
        this.#roots.push([{ type: 'fatal', lens: start.lens, error: start.error }]);
      } else if (outer(start.path)) {
        const view = { lens: start.lens, state: start.state, start: true };
        const item = rootItems.get(start.path);
        if (item === undefined) {
          const created: Extract<Item, { type: 'dir' }> = { type: 'dir', path: start.path, views: [view] };
          rootItems.set(start.path, created);
          this.#roots.push([created]);
        } else {
          item.views.push(view);
        }
        continue;
      } else {
        const views = this.#nested.get(start.path) ?? [];
        views.push({ lens: start.lens, state: start.state, start: true });
        this.#nested.set(start.path, views);
        continue;
      }
      start.lens.started = true;
      start.lens.pending++;
    }
    for (const item of rootItems.values()) {
      for (const view of item.views) {
        view.lens.started = true;
        view.lens.pending++;
      }
    }
  }

  /**
   * A guess at the files the walk has still to hand out: those on its stack, and for each
   * directory on it as many as the directories read so far held on average. Rough (a
   * directory's subdirectories are not on the stack yet), but it grows as the walk finds a
   * large tree, which is what deciding to start threads needs.
   */
  get filesAhead(): number {
    return this.#filesAhead + (this.#dirsRead === 0 ? this.#dirsAhead : (this.#dirsAhead * this.#filesFound) / this.#dirsRead);
  }

  /** Ends the walk at the next directory (every operation has what it needs). */
  stop(): void {
    this.#stopped = true;
  }

  /** Walks everything; resolves when done or stopped. */
  async run(): Promise<void> {
    let slice = performance.now();
    for (let r = 0; r < this.#roots.length || this.#nested.size > 0; r++) {
      if (r === this.#roots.length) {
        // Nested starts the walk above them never reached (excluded there): walked on their own.
        const [path, views] = this.#nested.entries().next().value!;
        this.#nested.delete(path);
        for (const view of views) {
          view.lens.started = true;
          view.lens.pending++;
        }
        this.#roots.push([{ type: 'dir', path, views }]);
      }
      this.#stack = [...this.#roots[r]!];
      for (const item of this.#stack) this.#ahead(item, 1);
      let steps = 0;
      while (this.#stack.length > 0) {
        if (this.#stopped) return;
        // The clock is read every few steps: a file step is cheaper than reading it.
        if ((++steps & 15) === 0 && performance.now() - slice > SLICE_MS) {
          await timers.setImmediate();
          slice = performance.now();
          if (this.#stopped) return;
        }
        const item = this.#stack.pop()!;
        this.#ahead(item, -1);
        this.#step(item);
      }
    }
  }

  #ahead(item: Item, by: 1 | -1): void {
    if (item.type === 'dir') this.#dirsAhead += by;
    else if (item.type === 'file') this.#filesAhead += by;
  }

  #step(item: Item): void {
    switch (item.type) {
      case 'file': {
        this.#filesFound++;
        const consumers: number[] = [];
        const id = this.#nextId++;
        for (const lens of item.lenses) lens.emit({ kind: 'file', id, path: item.path, named: item.named }, consumers);
        this.#onFile(id, item, consumers);
        this.#release(item.lenses);
        return;
      }
      case 'error':
        item.lens.emit({ kind: 'error', error: item.error });
        this.#release([item.lens]);
        return;
      case 'fatal':
        item.lens.emit({ kind: 'fatal', error: item.error });
        this.#release([item.lens]);
        return;
      case 'dir':
        this.#directory(item);
    }
  }

  #directory(item: Extract<Item, { type: 'dir' }>): void {
    const joining = this.#nested.get(item.path);
    if (joining !== undefined) {
      this.#nested.delete(item.path);
      for (const view of joining) {
        view.lens.started = true;
        view.lens.pending++;
        item.views.push(view);
      }
    }
    const lenses = item.views.map((view) => view.lens);
    const views = item.views.filter((view) => view.lens.active);
    if (views.length === 0) {
      this.#release(lenses);
      return;
    }
    let dirents: Dirent[];
    this.#dirsRead++;
    try {
      dirents = this.#listings.read(item.path);
    } catch (error) {
      for (const view of views) view.lens.emit({ kind: 'list-error', path: item.path, error, start: view.start });
      this.#release(lenses);
      return;
    }
    const directory = new Directory(item.path, dirents);
    // What each entry became, per lens: before-errors, a file, a directory.
    const errors: Extract<Item, { type: 'error' }>[][] = [];
    const files: { lenses: Lens[]; follow: boolean }[] = [];
    const dirs: View[][] = [];
    for (const view of views) {
      const lens = view.lens;
      lens.visit(directory, view.state, {
        file(index, follow) {
          const file = (files[index] ??= { lenses: [], follow: false });
          file.lenses.push(lens);
          file.follow ||= follow;
        },
        dir(index, state) {
          (dirs[index] ??= []).push({ lens, state, start: false });
        },
        error(index, error) {
          (errors[index] ??= []).push({ type: 'error', lens, error });
        },
      });
    }
    const below: Item[] = [];
    const entries = directory.entries;
    for (let i = 0; i < entries.length; i++) {
      const before = errors[i];
      if (before !== undefined) for (const error of before) below.push(error);
      const file = files[i];
      if (file !== undefined) below.push({ type: 'file', path: entries[i]!.path, open: entries[i]!.path, follow: file.follow, named: false, lenses: file.lenses });
      const dir = dirs[i];
      if (dir !== undefined) below.push({ type: 'dir', path: entries[i]!.path, views: dir });
    }
    for (let i = below.length - 1; i >= 0; i--) {
      const child = below[i]!;
      if (child.type === 'dir') for (const view of child.views) view.lens.pending++;
      else if (child.type === 'file') for (const lens of child.lenses) lens.pending++;
      else child.lens.pending++;
      this.#stack.push(child);
      this.#ahead(child, 1);
    }
    this.#release(lenses);
  }

  #release(lenses: readonly Lens[]): void {
    for (const lens of lenses) {
      lens.pending--;
      lens.settle();
    }
  }
}
