import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { AdapterError, fromFsError } from '../errors.js';
import type { AllowedRoots } from '../roots.js';
import { GitignoreFilter } from '../fs/gitignore.js';
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
const IGNORE_CASE = process.platform === 'win32' || process.platform === 'darwin';

/** How many subdirectories of a directory are listed ahead of the walk. */
const PREFETCH_WINDOW = 32;

const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Finds the files under `paths` (files or directories, each checked against the roots) in
 * tree order: each directory's entries by name (UTF-16 code units), a directory's files
 * where its name sorts. So `maxFiles` always keeps the same files, however the listings race.
 *
 * Listings run `concurrency` at a time (p-limit) and ahead of the walk: entering a directory
 * starts the listings of its next subdirectories, and the walk consumes them in order.
 * `.gitignore` files are honoured exactly as the glob adapter honours them (the same
 * `GitignoreFilter`: nested files, `!` patterns, the files above a walk up to the repository's
 * top or the allowed root, never beyond the roots). Like ripgrep's defaults, hidden entries
 * and `node_modules` are skipped unless asked for, `.git` always is, and symbolic links met
 * in a walk are not followed — so a walk never leaves the directory it was given. A path named
 * explicitly is used even if hidden or ignored.
 */
export async function discoverFiles(input: DiscoveryInput, roots: AllowedRoots, signal: AbortSignal, concurrency: number): Promise<Discovery> {
  const limit = pLimit(concurrency);
  const walk = new Walk(input, roots, signal, limit);
  try {
    for (let i = 0; i < input.paths.length && !walk.truncated; i++) {
      signal.throwIfAborted();
      await walk.start(input.paths[i]!, `paths[${i}]`);
    }
  } finally {
    // Listings started ahead of a walk that stopped (cap reached, abort, error) are not needed.
    limit.clearQueue();
  }
  return { files: walk.files, truncated: walk.truncated, skipped: walk.skipped };
}

class Walk {
  readonly files: string[] = [];
  readonly skipped: SkippedFile[] = [];
  truncated = false;
  readonly #seen = new Set<string>();
  readonly #input: DiscoveryInput;
  readonly #roots: AllowedRoots;
  readonly #signal: AbortSignal;
  readonly #limit: LimitFunction;
  /** Shared by every walk of the input, so `.gitignore` files above them are read once. */
  readonly #gitignore: GitignoreFilter | undefined;

  constructor(input: DiscoveryInput, roots: AllowedRoots, signal: AbortSignal, limit: LimitFunction) {
    this.#input = input;
    this.#roots = roots;
    this.#signal = signal;
    this.#limit = limit;
    this.#gitignore = input.gitignore ? this.#filter(roots.paths) : undefined;
  }

  async start(path: string, field: string): Promise<void> {
    const safe = await this.#roots.check(path, field);
    if (!safe.exists) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} to name an existing file or directory, got ${JSON.stringify(path)} (${safe.path} does not exist)`, { path: field });
    let info;
    try {
      info = await stat(safe.path);
    } catch (error) {
      throw fromFsError(error, safe.path, field);
    }
    if (info.isFile()) {
      this.#add(safe.path);
      return;
    }
    if (!info.isDirectory()) throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to be a file or a directory, got something else at ${safe.path} (a socket, a FIFO or a device)`, { path: field });
    let listing: Dirent[];
    try {
      listing = await this.#limit(() => readdir(safe.path, { withFileTypes: true }));
    } catch (error) {
      throw fromFsError(error, safe.path, field);
    }
    let gitignore = this.#gitignore;
    if (gitignore !== undefined) {
      await gitignore.prepare(safe.path);
      // A directory named explicitly is walked even when a .gitignore above excludes it: it
      // then inherits no rules from above (its own and deeper .gitignore files still apply).
      if (await this.#excluded(gitignore, safe.path)) gitignore = this.#filter([...this.#roots.paths, safe.path]);
    }
    await this.#walk(safe.path, listing, gitignore);
  }

  /** The `.gitignore` filter the glob adapter uses, so both honour the same files the same way. */
  #filter(boundaries: readonly string[]): GitignoreFilter {
    return new GitignoreFilter({ boundaries, ignoreCase: IGNORE_CASE });
  }

  /** Whether the `.gitignore` files above `dir` exclude it (a root is never excluded). */
  async #excluded(gitignore: GitignoreFilter, dir: string): Promise<boolean> {
    if (this.#roots.paths.includes(dir)) return false;
    const parent = dirname(dir);
    let siblings: Dirent[];
    try {
      // The whole listing: the filter reads the parent's own .gitignore when it is among them.
      siblings = await this.#limit(() => readdir(parent, { withFileTypes: true }));
    } catch {
      return false;
    }
    const name = basename(dir);
    if (!siblings.some((entry) => entry.name === name)) return false;
    return !(await gitignore.filter(parent, siblings)).some((entry) => entry.name === name);
  }

  #add(path: string): void {
    if (this.#seen.has(path)) return;
    if (this.files.length === this.#input.maxFiles) {
      this.truncated = true;
      return;
    }
    this.#seen.add(path);
    this.files.push(path);
  }

  async #walk(dir: string, listing: Dirent[], gitignore: GitignoreFilter | undefined): Promise<void> {
    this.#signal.throwIfAborted();
    const input = this.#input;
    const entries = gitignore === undefined ? listing : await gitignore.filter(dir, listing);
    entries.sort(byName);
    const kept: { path: string; directory: boolean }[] = [];
    for (const entry of entries) {
      const name = entry.name;
      if (name === '.git') continue;
      if (!input.hidden && name.startsWith('.')) continue;
      const directory = entry.isDirectory();
      if (!directory && !entry.isFile()) continue; // symbolic links, sockets, FIFOs, devices
      if (directory && !input.nodeModules && name === 'node_modules') continue;
      const path = join(dir, name);
      kept.push({ path, directory });
    }
    // Listings of the next subdirectories start before the walk reaches them (a window, so a
    // directory with thousands of subdirectories does not hold all their listings at once).
    const directories = kept.filter((entry) => entry.directory);
    const listings = new Map<string, Promise<Dirent[]>>();
    let started = 0;
    const prefetch = (upTo: number): void => {
      for (; started < Math.min(upTo, directories.length); started++) {
        const path = directories[started]!.path;
        const listing = this.#limit(() => readdir(path, { withFileTypes: true }));
        listing.catch(noop); // awaited below; this only keeps a listing the walk never reaches from being an unhandled rejection
        listings.set(path, listing);
      }
    };
    prefetch(PREFETCH_WINDOW);
    let reached = 0;
    for (const entry of kept) {
      if (this.truncated) return;
      if (!entry.directory) {
        this.#add(entry.path);
        continue;
      }
      prefetch(++reached + PREFETCH_WINDOW);
      let listing: Dirent[];
      try {
        listing = await listings.get(entry.path)!;
      } catch (error) {
        this.skipped.push({ path: entry.path, reason: `could not list this directory: ${(error as Error).message}` });
        continue;
      } finally {
        listings.delete(entry.path);
      }
      await this.#walk(entry.path, listing, gitignore);
    }
  }
}

function noop(): void {}
