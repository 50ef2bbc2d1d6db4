/**
 * Globs in the scan's shared walk: a glob of a batch is a member of the batch's pass, looking
 * at the tree through its own lens, so every glob, grep and analysis of a batch over one tree
 * shares one walk (each directory listed once, every lens asked about its entries in the same
 * visit), not one walk per glob over shared listings.
 *
 * The semantics stay fast-glob's, because its own filters decide: for each task fast-glob
 * makes of the patterns (`generateTasks`), a lens starts at the task's base and asks
 * fast-glob's entry filter whether an entry is listed and its deep filter whether a directory
 * is entered, with the entry fast-glob's walker would have built (its path relative to `cwd`,
 * `/`-separated, its `Dirent`). A task without magic (`src/index.ts`) names its path: it is
 * looked up (`lstat`), as fast-glob's static reader does, and listed if its entry filter agrees.
 * Listings go through the batch's `.gitignore` filter when the glob honours them.
 *
 * What changes from fast-glob's own walk: the order of an unsorted listing is the walk's
 * (depth first, by name) rather than the order concurrent reads complete in, so a listing cut
 * by `maxResults` keeps the same paths from run to run.
 */
import { lstat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { AttemptContext } from '@fanout/scheduler';
import type fg from 'fast-glob';
import type { GitignoreFilter } from './gitignore.js';
import type { Listings } from './scan/listings.js';
import { ScanMember, type Ordered, type Settle } from './scan/member.js';
import { targetPaths, type Prepared, type TargetSpec } from './scan/prepared.js';
import { Lens, type LensVisit, type WalkDirectory } from './scan/walker.js';

/** An entry as fast-glob's filters take it. */
interface FgEntry {
  name: string;
  path: string;
  dirent: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean };
}

type Filter = (entry: FgEntry) => boolean;

interface ReaderOptions {
  basePath: string;
  deepFilter: Filter;
  entryFilter: Filter;
}

interface Provider {
  _getReaderOptions(task: fg.Task): ReaderOptions;
}

interface Internals {
  Provider: new (settings: unknown) => Provider;
  Settings: new (options: fg.Options) => unknown;
}

let internals: Internals | undefined | null = null;

/** fast-glob 3's provider and settings (internal modules, unchanged since 3.0); undefined if a release moved them. */
export function fastGlobFilters(): Internals | undefined {
  if (internals !== null) return internals;
  try {
    const require = createRequire(import.meta.url);
    const Provider = (require('fast-glob/out/providers/provider') as { default?: Internals['Provider'] }).default;
    const Settings = (require('fast-glob/out/settings') as { default?: Internals['Settings'] }).default;
    internals = typeof Provider === 'function' && typeof Settings === 'function' ? { Provider, Settings } : undefined;
    if (internals !== undefined) {
      // The filters must be where this module expects them.
      const probe = new internals.Provider(new internals.Settings({}))._getReaderOptions({ base: '.', dynamic: true, patterns: ['*'], positive: ['*'], negative: [] });
      if (typeof probe.entryFilter !== 'function' || typeof probe.deepFilter !== 'function' || typeof probe.basePath !== 'string') internals = undefined;
    }
  } catch {
    internals = undefined;
  }
  return internals;
}

/**
 * Characters of micromatch's syntax other than the wildcards `*` and `?` (classes, braces,
 * extglobs, escapes): a last segment with any of them is not looked into.
 */
const SYNTAX = /[[\]{}()!+@\\|^$]/;

/**
 * What a name must look like to match one pattern's last segment, when that segment is
 * literals and the wildcards `*` and `?` only: start with `head`, end with `tail`, and hold
 * each of `inner` in order between them (`tsconfig*.json`: `tsconfig`, `.json`;
 * `*.test.*`: `.test.`). A wildcard matches one character (`?`) or any number (`*`), so a
 * name that lacks one of the literals matches no way the wildcards are read.
 */
export interface NameShape {
  head: string;
  tail: string;
  inner: string[];
}

/**
 * The shapes a task's matches must have, one per positive pattern, when each has one that
 * asks for something (see {@link NameShape}). Undefined when some pattern's last segment is
 * bare wildcards (`*`, `**`), empty, or has other syntax (classes, braces, extglobs,
 * escapes), or when matching ignores case.
 *
 * The brace-expanded source glob of `explore-codebase` is 22 patterns, each a regular
 * expression with a lazy loop and look-aheads that fast-glob tests in turn on every entry of
 * every directory: in profiles of Babel (27,000 files) the entry filters of a batch's globs took
 * 13% of the main thread, nearly all of it on entries no pattern lists. A name that has none
 * of the shapes is passed over without asking the filter; whatever the filter is asked still
 * decides, so what is listed does not change. The configuration glob's `tsconfig*.json` once
 * made its whole task ask the filter (its 21 patterns, ~12% of Babel's main thread).
 */
export function requiredShapes(positive: readonly string[], caseSensitive: boolean): NameShape[] | undefined {
  if (!caseSensitive || positive.length === 0) return undefined;
  const shapes: NameShape[] = [];
  for (const pattern of positive) {
    const segment = pattern.slice(pattern.lastIndexOf('/') + 1);
    if (SYNTAX.test(segment)) return undefined;
    const literals = segment.split(/[*?]+/);
    const head = literals[0]!;
    if (literals.length === 1) {
      // No wildcard: the whole name.
      if (head === '') return undefined;
      shapes.push({ head: '', tail: head, inner: [] });
      continue;
    }
    const tail = literals.at(-1)!;
    const inner = literals.slice(1, -1).filter((literal) => literal !== '');
    if (head === '' && tail === '' && inner.length === 0) return undefined;
    shapes.push({ head, tail, inner });
  }
  return shapes;
}

/** Does `name` have `shape` (see {@link NameShape})? */
export function hasShape(name: string, shape: NameShape): boolean {
  const { head, tail, inner } = shape;
  if (name.length < head.length + tail.length || !name.startsWith(head) || !name.endsWith(tail)) return false;
  let from = head.length;
  const end = name.length - tail.length;
  for (const literal of inner) {
    const at = name.indexOf(literal, from);
    if (at === -1 || at + literal.length > end) return false;
    from = at + literal.length;
  }
  return true;
}

function hasAnyShape(name: string, shapes: readonly NameShape[]): boolean {
  for (const shape of shapes) if (hasShape(name, shape)) return true;
  return false;
}

/**
 * Does fast-glob's deep filter enter every directory of a task (a symlink aside, which the
 * lens never asks about)? So when its depth is unbounded, no negative pattern can prune a
 * directory, and every positive pattern starts with a globstar (`**`, `**\/…`): its partial
 * matcher then answers yes at any level before looking at the path. The filter splits and
 * tests each directory's path for every glob of a batch otherwise (16 globs over Babel's
 * 13,000 directories: 200,000 calls that all said yes).
 */
export function entersEveryDirectory(task: fg.Task, options: fg.Options): boolean {
  if (options.deep !== undefined && options.deep !== Number.POSITIVE_INFINITY) return false;
  if (options.baseNameMatch === true || task.negative.length > 0 || task.positive.length === 0) return false;
  return task.positive.every((pattern) => pattern === '**' || pattern.startsWith('**/'));
}

/** One task's view of the tree: fast-glob's filters, over the batch's (filtered) listings. The state is the directory's path relative to `cwd`. */
class GlobLens extends Lens<string> {
  readonly #options: ReaderOptions;
  readonly #filter: GitignoreFilter | undefined;
  readonly #listings: Listings;
  readonly #shapes: readonly NameShape[] | undefined;
  /** The deep filter would enter every directory (see {@link entersEveryDirectory}). */
  readonly #everyDirectory: boolean;

  constructor(options: ReaderOptions, filter: GitignoreFilter | undefined, listings: Listings, shapes: readonly NameShape[] | undefined, everyDirectory: boolean) {
    super();
    this.#options = options;
    this.#filter = filter;
    this.#listings = listings;
    this.#shapes = shapes;
    this.#everyDirectory = everyDirectory;
  }

  visit(directory: WalkDirectory, base: string, visit: LensVisit<string>): void {
    const kept = this.#filter === undefined ? undefined : this.#listings.keptSet(this.#filter, directory.path, directory.dirents);
    const { entryFilter, deepFilter } = this.#options;
    const shapes = this.#shapes;
    const everyDirectory = this.#everyDirectory;
    const entries = directory.entries;
    for (let i = 0; i < entries.length; i++) {
      const dirent = entries[i]!.dirent;
      if (kept !== undefined && !kept.has(dirent)) continue;
      const name = dirent.name;
      // The filter would not list it (see requiredShapes); a directory may still be entered.
      const listable = shapes === undefined || hasAnyShape(name, shapes);
      const isDirectory = dirent.isDirectory();
      if (!listable && !isDirectory) continue;
      // What fast-glob's walker builds: the path joined to its base with '/'.
      const path = base === '' ? name : base.endsWith('/') ? base + name : `${base}/${name}`;
      if (!listable && everyDirectory) {
        visit.dir(i, path);
        continue;
      }
      const entry: FgEntry = { name, path, dirent };
      if (listable && entryFilter(entry)) visit.file(i, false);
      if (isDirectory && (everyDirectory || deepFilter(entry))) visit.dir(i, path);
    }
  }
}

/** A directory the walk could not read (the glob's `errors`). */
export interface GlobListError {
  path: string;
  code: string;
  message: string;
}

/** What a glob in the pass returns (the adapter's `GlobOutput`). */
export interface GlobPassOutput {
  files: string[];
  count: number;
  truncated: boolean;
  errors?: GlobListError[];
}

const MAX_REPORTED_ERRORS = 100;
/** Numbers the globs' lenses: a glob's lens is its own (its filters), never shared with another operation's. */
let nextLens = 0;

/** A glob in the pass: takes paths in its order up to `maxResults` (one more sets `truncated`), lists the directories it could not read. */
class GlobMember extends ScanMember {
  readonly #max: number;
  readonly #sort: boolean;
  readonly #files: string[] = [];
  readonly #errors: GlobListError[] = [];
  #truncated = false;
  #accepted = 0;

  constructor(paths: readonly string[], max: number, sort: boolean, context: AttemptContext, settle: Settle) {
    super(paths, context, settle);
    this.#max = max;
    this.#sort = sort;
  }

  protected override accept(): boolean {
    if (this.#accepted === this.#max) {
      this.#truncated = true;
      return false;
    }
    this.#accepted++;
    return true;
  }

  protected take(items: readonly Ordered[]): void {
    for (const item of items) {
      if (item.kind === 'file') {
        this.#files.push(item.path);
        continue;
      }
      if (item.item.kind !== 'list-error') continue;
      const { path, error } = item.item;
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      // A directory gone (or never there: a task's base) is nothing to list, as in fast-glob.
      if (code !== 'ENOENT' && this.#errors.length < MAX_REPORTED_ERRORS) this.#errors.push({ path, code, message: (error as Error).message });
    }
  }

  protected finish(): void {
    if (this.#sort) this.#files.sort();
    const output: GlobPassOutput = { files: this.#files, count: this.#files.length, truncated: this.#truncated };
    if (this.#errors.length > 0) output.errors = this.#errors;
    this.resolve(output);
  }
}

/** What {@link prepareGlobPass} needs of a checked glob. */
export interface GlobPassSpec {
  /** The checked `cwd` (absolute). */
  cwd: string;
  tasks: readonly fg.Task[];
  /** fast-glob's options, as the glob's own walk would have them. */
  options: fg.Options;
  filter: GitignoreFilter | undefined;
  max: number;
  sort: boolean;
}

/**
 * Makes a glob a member of the batch's pass: a lens per dynamic task (its base a target
 * directory), a named path per static pattern that exists and passes the entry filter.
 * Resolves undefined when the glob has nothing to walk or name: it is settled (empty) then.
 */
export async function prepareGlobPass(spec: GlobPassSpec, filters: Internals, listings: Listings, context: AttemptContext, settle: Settle): Promise<Prepared | undefined> {
  const provider = new filters.Provider(new filters.Settings(spec.options));
  const targets: TargetSpec[] = [];
  for (const task of spec.tasks) {
    const options = provider._getReaderOptions(task);
    if (task.dynamic) {
      const root = resolve(spec.cwd, task.base);
      // Each glob looks through its own filters: a lens of its own (the walk is still shared).
      const lens = new GlobLens(options, spec.filter, listings, requiredShapes(task.positive, spec.options.caseSensitiveMatch !== false), entersEveryDirectory(task, spec.options));
      targets.push({ type: 'dir', path: root, rules: `glob\0${nextLens++}`, lens: () => lens, state: () => options.basePath });
      continue;
    }
    // fast-glob's static reader: each of the task's patterns looked up (without following a
    // symlink), its entry named as the pattern is spelled.
    for (const pattern of task.patterns) {
      const path = resolve(spec.cwd, pattern);
      const stats = await lstat(path).catch(() => undefined);
      if (stats === undefined) continue;
      const dirent = { isFile: () => stats.isFile(), isDirectory: () => stats.isDirectory(), isSymbolicLink: () => stats.isSymbolicLink() };
      if (options.entryFilter({ name: pattern, path: pattern, dirent })) targets.push({ type: 'file', path, open: path });
    }
  }
  context.signal.throwIfAborted();
  if (targets.length === 0) {
    // Nothing to walk or name (only negative patterns, or named paths that are not there).
    settle.resolve({ files: [], count: 0, truncated: false } satisfies GlobPassOutput);
    return undefined;
  }
  const member = new GlobMember(targetPaths(targets), spec.max, spec.sort, context, settle);
  return { consumer: { member, spec: undefined, hint: () => 0 }, targets };
}
