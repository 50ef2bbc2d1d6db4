/**
 * How analyze finds its files: its lens on the scan's shared walk (`fs/scan/walker.ts`), and
 * the member that keeps the files in order with `maxFiles`.
 *
 * The files come in tree order: depth first, each directory's entries by name (UTF-16 code
 * units), a directory's files where its name sorts; so `maxFiles` always keeps the same files.
 * `.gitignore` files are honoured exactly as the glob adapter honours them (the same
 * `GitignoreFilter`, shared with the batch's globs: nested files, `!` patterns, the files
 * above a walk up to the repository's top or the allowed root, never beyond the roots). Like
 * ripgrep's defaults, hidden entries and `node_modules` are skipped unless asked for, `.git`
 * always is, and symbolic links met in a walk are not followed — so a walk never leaves the
 * directory it was given. A path named explicitly is used even if hidden or ignored; a
 * directory named explicitly is walked even when a `.gitignore` above excludes it (it then
 * inherits no rules from above; its own and deeper ones still apply).
 */
import type { Dirent } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { AttemptContext } from '@fanout/scheduler';
import { AdapterError, fromFsError } from '../errors.js';
import type { GitignoreFilter } from '../fs/gitignore.js';
import { GREP_WORKER_SCRIPT } from '../fs/grep/pool.js';
import { Listings } from '../fs/scan/listings.js';
import { ScanMember, type Ordered, type Settle } from '../fs/scan/member.js';
import { Pass } from '../fs/scan/pass.js';
import { targetPaths, type TargetSpec } from '../fs/scan/prepared.js';
import { assemble } from '../fs/scan/scan.js';
import { Lens, type LensVisit, type WalkDirectory } from '../fs/scan/walker.js';
import type { AllowedRoots } from '../roots.js';
import type { SkippedFile } from './output.js';

/** What to look for: the discovery fields of an analyze input. */
export interface DiscoveryInput {
  paths: readonly string[];
  hidden: boolean;
  nodeModules: boolean;
  gitignore: boolean;
  maxFiles: number;
}

/** The files found, in tree order. */
export interface Discovery {
  files: string[];
  /** True when more files were there than `maxFiles`. */
  truncated: boolean;
  /** Directories that could not be listed during the walk. */
  skipped: SkippedFile[];
}

/** Case-insensitive patterns where file systems usually are (the glob adapter's choice too). */
export const IGNORE_CASE = process.platform === 'win32' || process.platform === 'darwin';

/** Analyze's walk rules from one start. */
class AnalyzeLens extends Lens<undefined> {
  readonly #hidden: boolean;
  readonly #nodeModules: boolean;
  readonly #filter: GitignoreFilter | undefined;
  readonly #listings: Listings;

  constructor(input: DiscoveryInput, filter: GitignoreFilter | undefined, listings: Listings) {
    super();
    this.#hidden = input.hidden;
    this.#nodeModules = input.nodeModules;
    this.#filter = filter;
    this.#listings = listings;
  }

  visit(directory: WalkDirectory, _state: undefined, visit: LensVisit<undefined>): void {
    const kept = this.#filter === undefined ? undefined : new Set(this.#listings.filter(this.#filter, directory.path, directory.dirents));
    const entries = directory.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const name = entry.name;
      if (kept !== undefined && !kept.has(entry.dirent)) continue;
      if (name === '.git') continue;
      if (!this.#hidden && name.startsWith('.')) continue;
      const directory = entry.dirent.isDirectory();
      if (!directory && !entry.dirent.isFile()) continue; // symbolic links, sockets, FIFOs, devices
      if (directory && !this.#nodeModules && name === 'node_modules') continue;
      if (directory) visit.dir(i, undefined);
      else visit.file(i, false);
    }
  }
}

/**
 * Checks each of the input's paths and says where its walk starts. A path that fails a check
 * becomes a `fatal` target: the operation fails with it when the walk reaches it in order —
 * not when `maxFiles` was reached before.
 */
export async function analyzeTargets(input: DiscoveryInput, roots: AllowedRoots, listings: Listings): Promise<TargetSpec[]> {
  const targets: TargetSpec[] = [];
  for (let i = 0; i < input.paths.length; i++) {
    try {
      targets.push(await analyzeTarget(input, input.paths[i]!, `paths[${i}]`, roots, listings));
    } catch (error) {
      targets.push({ type: 'fatal', error });
    }
  }
  return targets;
}

async function analyzeTarget(input: DiscoveryInput, path: string, field: string, roots: AllowedRoots, listings: Listings): Promise<TargetSpec> {
  const safe = await roots.check(path, field);
  if (!safe.exists) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} to name an existing file or directory, got ${JSON.stringify(path)} (${safe.path} does not exist)`, { path: field });
  let info;
  try {
    info = await stat(safe.path);
  } catch (error) {
    throw fromFsError(error, safe.path, field);
  }
  if (info.isFile()) return { type: 'file', path: safe.path, open: safe.path };
  if (!info.isDirectory()) throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to be a file or a directory, got something else at ${safe.path} (a socket, a FIFO or a device)`, { path: field });
  let filter: GitignoreFilter | undefined;
  let boundaries: readonly string[] = roots.paths;
  if (input.gitignore) {
    filter = listings.gitignore(boundaries, IGNORE_CASE);
    filter.prepareSync(safe.path);
    if (excluded(filter, safe.path, roots, listings)) {
      boundaries = [...roots.paths, safe.path];
      filter = listings.gitignore(boundaries, IGNORE_CASE);
    }
  }
  const rules = `analyze\0${JSON.stringify([input.hidden, input.nodeModules, input.gitignore ? boundaries : null])}`;
  const lensFilter = filter;
  return { type: 'dir', path: safe.path, rules, lens: () => new AnalyzeLens(input, lensFilter, listings), state: () => undefined };
}

/** Whether the `.gitignore` files above `dir` exclude it (a root is never excluded). */
function excluded(filter: GitignoreFilter, dir: string, roots: AllowedRoots, listings: Listings): boolean {
  if (roots.paths.includes(dir)) return false;
  const parent = dirname(dir);
  let siblings: Dirent[];
  try {
    // The whole listing: the filter reads the parent's own .gitignore when it is among them.
    siblings = listings.read(parent);
  } catch {
    return false;
  }
  const name = basename(dir);
  if (!siblings.some((entry) => entry.name === name)) return false;
  return !listings.filter(filter, parent, siblings).some((entry) => entry.name === name);
}

/**
 * An analyze operation in a pass: takes files in order up to `maxFiles` (one more sets
 * `truncated` and ends the walk for it), lists the directories it could not read, and fails
 * when a target directory itself cannot be listed.
 */
export abstract class DiscoveryMember extends ScanMember {
  /** Directories that could not be listed, in walk order. */
  readonly skipped: SkippedFile[] = [];
  /** More files were there than `maxFiles`. */
  truncated = false;
  readonly #maxFiles: number;
  #accepted = 0;

  /** `paths`: its targets' paths, in order (see `targetPaths`). */
  constructor(paths: readonly string[], maxFiles: number, context: AttemptContext, settle: Settle) {
    super(paths, context, settle);
    this.#maxFiles = maxFiles;
  }

  protected override accept(): boolean {
    if (this.#accepted === this.#maxFiles) {
      this.truncated = true;
      return false;
    }
    this.#accepted++;
    return true;
  }

  protected take(items: readonly Ordered[]): void {
    for (const item of items) {
      if (this.ended) return;
      if (item.kind === 'file') {
        this.file(item.path, item.outcome);
        continue;
      }
      if (item.item.kind !== 'list-error') continue;
      const { path, error, start } = item.item;
      if (start) this.fail(fromFsError(error, path, `paths[${item.target}]`));
      else this.skipped.push({ path, reason: `could not list this directory: ${(error as Error).message}` });
    }
  }

  /** One file, in order, with its per-file outcome (undefined for a member that only lists). */
  protected abstract file(path: string, outcome: unknown): void;
}

/** Lists files only (an analyzer module's input). */
export class ListMember extends DiscoveryMember {
  readonly #files: string[] = [];

  protected file(path: string): void {
    this.#files.push(path);
  }

  protected finish(): void {
    const discovery: Discovery = { files: this.#files, truncated: this.truncated, skipped: this.skipped };
    this.resolve(discovery);
  }
}

/**
 * Finds the files of an analysis on its own (an analyzer module's input): a pass of one that
 * only lists. Rejects with the signal's reason when it aborts.
 */
export async function discoverFiles(input: DiscoveryInput, roots: AllowedRoots, signal: AbortSignal): Promise<Discovery> {
  signal.throwIfAborted();
  const listings = new Listings(undefined, undefined, roots.realPaths);
  const targets = await analyzeTargets(input, roots, listings);
  signal.throwIfAborted();
  return new Promise<Discovery>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle: Settle = {
      resolve: (output) => {
        signal.removeEventListener('abort', onAbort);
        resolve(output as Discovery);
      },
      reject: (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    };
    const context: AttemptContext = { id: 'discovery', kind: 'analyze', attempt: 1, signal, deadline: undefined, progress: () => {} };
    const member = new ListMember(targetPaths(targets), input.maxFiles, context, settle);
    const { consumers, starts } = assemble([{ consumer: { member, spec: undefined, hint: () => 0 }, targets }]);
    // Listing needs no thread: nothing is read.
    new Pass({ threads: 0, inlineBudgetMs: 0, threadStartMs: 0, workerScript: GREP_WORKER_SCRIPT, roots: roots.realPaths }, listings, consumers, starts).run().catch(settle.reject);
  });
}
