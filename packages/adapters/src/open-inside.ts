/**
 * Opening inside the allowed roots, checked on what was really opened. {@link AllowedRoots}
 * checks a path before it is used; a directory on that path swapped for a symlink to the
 * outside between the check and the `open(2)` still leads out (`O_NOFOLLOW` guards the last
 * component only). So every open here is followed by a check of the descriptor itself:
 *
 * - On Linux, the kernel's own name for what the descriptor refers to, the `/proc/self/fd/N`
 *   link, must lie inside a root's real path. Nothing can be swapped under a descriptor, so
 *   this check has no window. Directories are then used *through* that link
 *   (`/proc/self/fd/N/name`): a file created, renamed or listed there lands in the directory
 *   that was checked, whatever its path points to by then — what `openat(2)` would give, which
 *   Node does not expose.
 * - Elsewhere (no `/proc`), the real path is taken again after the open, must lie inside, and
 *   must name the same file (device and inode) as the descriptor. That narrows the window to
 *   two swaps in the few microseconds between the two checks; directories are used by their
 *   checked real path.
 *
 * An escape fails with `FANOUT_PATH_OUTSIDE_ROOT`, like a path that is outside to begin with.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readlinkSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import { lstat, mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { AdapterError, fromFsError } from './errors.js';
import { closeQuietly, fstatFd, openFd } from './fs/fd.js';
import { isInside, type AllowedRoots } from './roots.js';

/** How what was opened is checked: the descriptor's `/proc` link, or a second real path and its inode. */
export type OpenedCheck = 'proc' | 'inode';

let strategy: OpenedCheck | undefined;

/** The check this platform allows, decided once: whether `/proc/self/fd` can be read. */
function currentCheck(): OpenedCheck {
  if (strategy === undefined) {
    try {
      readdirSync('/proc/self/fd');
      strategy = 'proc';
    } catch {
      strategy = 'inode';
    }
  }
  return strategy;
}

/**
 * Forces one way of checking (tests run the inode check on Linux with it); `undefined`
 * goes back to what the platform allows. Not part of the package's exports.
 */
export function setOpenedCheck(check: OpenedCheck | undefined): void {
  strategy = check;
}

/** A file opened inside the roots: its descriptor (the caller closes it) and its paths. */
export interface OpenedInside {
  /** The descriptor; close it when done. */
  fd: number;
  /** Absolute path as asked for (`..` and `.` resolved, symlinks not). */
  path: string;
  /** What was really opened, by its real path, checked inside the roots. */
  real: string;
}

/** A directory opened inside the roots, to create, rename and list entries in it without a path that could be swapped. */
export interface DirectoryInside {
  /** The directory's descriptor (kept open until {@link DirectoryInside.close}). */
  readonly fd: number;
  /** Absolute path as asked for. */
  readonly path: string;
  /** Its real path, checked inside the roots when it was opened. */
  readonly real: string;
  /**
   * A path that reaches `name` in this very directory, for `open`, `rename`, `link`, `mkdir`,
   * `lstat` or `readdir`: `/proc/self/fd/N/name` on Linux (bound to the descriptor, so a swap
   * of the directory's path changes nothing), the real path joined with `name` elsewhere.
   * `name` is one path component.
   */
  entry(name: string): string;
  /** Closes the descriptor; later calls do nothing. */
  close(): Promise<void>;
}

function procLink(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

function escaped(roots: AllowedRoots, field: string, asked: string, actual: string, how: string): AdapterError {
  return new AdapterError(
    'FANOUT_PATH_OUTSIDE_ROOT',
    `expected ${field} inside the allowed roots (${roots.paths.join(', ')}), got ${JSON.stringify(asked)}, which ${how} ${actual} (a symlink swapped in on the way after the path was checked)`,
    { path: field },
  );
}

/** `true` when the same file (device and inode). */
function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * Checks that descriptor `fd`, opened from the path `opened`, refers to something inside the
 * roots; resolves its real path, or rejects with `FANOUT_PATH_OUTSIDE_ROOT` (the descriptor
 * stays open: the caller closes it). `field` names the input field and `asked` what it held,
 * for the message.
 */
export async function verifyOpened(roots: AllowedRoots, fd: number, opened: string, field: string, asked: string = opened): Promise<string> {
  if (currentCheck() === 'proc') {
    // Synchronous: the kernel answers a `/proc/self/fd` link from memory (the descriptor's
    // own path, no file system is asked), so it never blocks, and a trip through the thread
    // pool cost more than the call (a read of 200 files makes 200 of them).
    const actual = readlinkSync(procLink(fd));
    if (roots.contains(actual)) return actual;
    throw escaped(roots, field, asked, actual, 'opened');
  }
  const [info, real] = await Promise.all([fstatFd(fd), realpath(opened).catch(() => undefined)]);
  if (real === undefined) throw escaped(roots, field, asked, opened, 'could not be found again after it was opened as');
  if (!roots.contains(real)) throw escaped(roots, field, asked, real, 'resolves to');
  const now = await stat(real).catch(() => undefined);
  if (now === undefined || !sameFile(now, info)) throw escaped(roots, field, asked, real, 'opened another file than the one now at');
  // The stat followed `real` as it was then: resolve it once more, so a swap there and back
  // must also fall between these two resolutions to go unseen.
  const again = await realpath(real).catch(() => undefined);
  if (again !== real) throw escaped(roots, field, asked, again ?? real, 'changed while it was checked, now resolving to');
  return real;
}

/** Synchronous {@link verifyOpened}, for worker threads that read one file after another. */
export function verifyOpenedSync(roots: AllowedRoots, fd: number, opened: string, field: string, asked: string = opened): string {
  if (currentCheck() === 'proc') {
    const actual = readlinkSync(procLink(fd));
    if (roots.contains(actual)) return actual;
    throw escaped(roots, field, asked, actual, 'opened');
  }
  const info = fstatSync(fd);
  let real: string;
  try {
    real = realpathSync(opened);
  } catch {
    throw escaped(roots, field, asked, opened, 'could not be found again after it was opened as');
  }
  if (!roots.contains(real)) throw escaped(roots, field, asked, real, 'resolves to');
  let now: Stats | undefined;
  try {
    now = statSync(real);
  } catch {
    now = undefined;
  }
  if (now === undefined || !sameFile(now, info)) throw escaped(roots, field, asked, real, 'opened another file than the one now at');
  let again: string | undefined;
  try {
    again = realpathSync(real);
  } catch {
    again = undefined;
  }
  if (again !== real) throw escaped(roots, field, asked, again ?? real, 'changed while it was checked, now resolving to');
  return real;
}

/** Turns an `open(2)` failure into an {@link AdapterError} naming the field and the path. */
export function openError(error: unknown, path: string, field: string): AdapterError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') {
    return new AdapterError('FANOUT_SYMLINK_REFUSED', `expected ${field} (${path}) to stay the file that was checked, got a symlink in its place`, { path: field, cause: error });
  }
  if (code === 'ENXIO') return new AdapterError('FANOUT_SPECIAL_FILE', `expected ${field} (${path}) to be a regular file, got a socket or a FIFO nobody reads`, { path: field, cause: error });
  if (code === 'ENOENT') return new AdapterError('FANOUT_NOT_FOUND', `expected ${field} (${path}) to exist, but it does not`, { path: field, cause: error });
  return fromFsError(error, path, field);
}

/**
 * Real paths of directories, each resolved once and kept: for one operation that opens many
 * files in a few directories (a `read` of 200 paths), so that each file costs one `open(2)`
 * rather than a `realpath` of its whole path (a trip through the thread pool and a look at
 * every component) and then the `open(2)`. Make one per operation: what it holds may be
 * stale later, which the check of what was opened makes safe but a long-lived cache would
 * make wrong (a directory renamed away and another put in its place).
 */
export class RealDirectories {
  /** A resolved real path, `null` for none, or the resolution under way. */
  readonly #known = new Map<string, string | null | Promise<string | undefined>>();

  /** The real path of the absolute directory `path`, or `undefined` when it has none (missing, not reachable). */
  get(path: string): Promise<string | undefined> {
    const known = this.#known.get(path);
    if (typeof known === 'string') return Promise.resolve(known);
    if (known === null) return Promise.resolve(undefined);
    if (known !== undefined) return known;
    const real = realpath(path).then(
      (resolved) => this.#settle(path, resolved),
      () => this.#settle(path, null),
    );
    this.#known.set(path, real);
    return real;
  }

  /**
   * {@link get} on this thread (`realpath(3)`, as the thread pool does it): for a file opened
   * synchronously. A resolution under way in the pool is not waited for; this one's answer is kept.
   */
  getSync(path: string): string | undefined {
    const known = this.#known.get(path);
    if (typeof known === 'string') return known;
    if (known === null) return undefined;
    let real: string | null;
    try {
      real = realpathSync.native(path);
    } catch {
      real = null;
    }
    this.#known.set(path, real);
    return real ?? undefined;
  }

  #settle(path: string, real: string | null): string | undefined {
    // A synchronous resolution that came first stays: both asked the same question.
    if (this.#known.get(path) instanceof Promise) this.#known.set(path, real);
    return real ?? undefined;
  }
}

/** Options of {@link openInside}. */
export interface OpenInsideOptions {
  /** Permission bits of a file `O_CREAT` makes. @default 0o666 */
  mode?: number;
  /** Where a relative path starts. @default the first root */
  base?: string;
  /**
   * Real paths of directories already resolved in this operation (see {@link RealDirectories}):
   * with `O_NOFOLLOW` and no `O_CREAT`, a file is opened by its directory's real path and its
   * name, without a `realpath` of its own. Anything unusual (a symlink at the last component, a
   * path that is missing or leads out, an error) is handled as without it, with its errors.
   */
  directories?: RealDirectories;
}

/**
 * Opens `path` inside the roots and checks what was opened: the path is checked first (clear
 * errors for what is outside to begin with, `FANOUT_NOT_FOUND` for what is missing unless
 * `flags` has `O_CREAT`), its real path opened with `flags`, then the descriptor checked as
 * {@link verifyOpened} does. Every failure is an {@link AdapterError}; on one, nothing stays
 * open. Add `O_NOFOLLOW` to refuse a symlink put at the last component meanwhile (the real
 * path has none), `O_NONBLOCK` so a FIFO put there does not block the open.
 *
 * @example
 * const { fd, real } = await openInside(roots, 'src/index.ts', 'path', constants.O_RDONLY | constants.O_NOFOLLOW);
 * try { ... } finally { await closeFd(fd); }
 */
export async function openInside(roots: AllowedRoots, path: string, field: string, flags: number, options: OpenInsideOptions = {}): Promise<OpenedInside> {
  if (options.directories !== undefined && (flags & constants.O_NOFOLLOW) !== 0 && (flags & constants.O_CREAT) === 0) {
    const opened = await openByDirectory(roots, path, field, flags, options.directories, options.base ?? roots.base);
    if (opened !== undefined) return opened;
  }
  const safe = await roots.check(path, field, options.base);
  if (!safe.exists && (flags & constants.O_CREAT) === 0) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} (${safe.path}) to exist, but it does not`, { path: field });
  let fd: number;
  try {
    fd = await openFd(safe.real, flags, options.mode ?? 0o666);
  } catch (error) {
    throw openError(error, safe.path, field);
  }
  try {
    return { fd, path: safe.path, real: await verifyOpened(roots, fd, safe.real, field, path) };
  } catch (error) {
    await closeQuietly(fd);
    throw error instanceof AdapterError ? error : fromFsError(error, safe.path, field);
  }
}

/**
 * {@link openInside} the short way: `path` resolved, inside a root as written, its directory's
 * real path (resolved once per operation) joined with its name inside a root's real path, then
 * opened with `O_NOFOLLOW` (so that joined path is the file's real path: a symlink there fails
 * the open) and the descriptor checked as always. `undefined` for anything else — invalid,
 * outside, missing, a symlink, any error of the open — for the full way to decide, with the
 * messages it gives; only an escape seen on the descriptor is refused here, as the full way
 * refuses it.
 */
async function openByDirectory(roots: AllowedRoots, path: string, field: string, flags: number, directories: RealDirectories, base: string): Promise<OpenedInside | undefined> {
  const absolute = shortWayPath(roots, path, base);
  if (absolute === undefined) return undefined;
  const real = shortWayReal(roots, absolute, await directories.get(dirname(absolute)));
  if (real === undefined) return undefined;
  let fd: number;
  try {
    fd = await openFd(real, flags);
  } catch {
    return undefined;
  }
  try {
    return { fd, path: absolute, real: await verifyOpened(roots, fd, real, field, path) };
  } catch (error) {
    await closeQuietly(fd);
    throw error instanceof AdapterError ? error : fromFsError(error, absolute, field);
  }
}

/**
 * Synchronous {@link openInside}: for worker threads (grep, analyze) that hold their own
 * {@link AllowedRoots}, and for the small files `read` opens on the main thread (with
 * `directories`, the same short way as {@link openInside}, with the same outcomes).
 */
export function openInsideSync(roots: AllowedRoots, path: string, field: string, flags: number, options: OpenInsideOptions = {}): OpenedInside {
  if (options.directories !== undefined && (flags & constants.O_NOFOLLOW) !== 0 && (flags & constants.O_CREAT) === 0) {
    const opened = openByDirectorySync(roots, path, field, flags, options.directories, options.base ?? roots.base);
    if (opened !== undefined) return opened;
  }
  const safe = roots.checkSync(path, field, options.base);
  if (!safe.exists && (flags & constants.O_CREAT) === 0) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} (${safe.path}) to exist, but it does not`, { path: field });
  let fd: number;
  try {
    fd = openSync(safe.real, flags, options.mode ?? 0o666);
  } catch (error) {
    throw openError(error, safe.path, field);
  }
  try {
    return { fd, path: safe.path, real: verifyOpenedSync(roots, fd, safe.real, field, path) };
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // The check's error is the one that matters.
    }
    throw error instanceof AdapterError ? error : fromFsError(error, safe.path, field);
  }
}

/** The short way's absolute path: `path` resolved, valid and inside a root as written; else `undefined`. */
function shortWayPath(roots: AllowedRoots, path: string, base: string): string | undefined {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) return undefined;
  const absolute = isAbsolute(path) ? resolve(path) : resolve(base, path);
  const asWritten = (root: string): boolean => isInside(root, absolute);
  return roots.paths.some(asWritten) || roots.realPaths.some(asWritten) ? absolute : undefined;
}

/** The short way's real path: the directory's real path joined with the name, when inside a root's real path. */
function shortWayReal(roots: AllowedRoots, absolute: string, directory: string | undefined): string | undefined {
  if (directory === undefined) return undefined;
  const real = join(directory, basename(absolute));
  return roots.contains(real) ? real : undefined;
}

/** Synchronous {@link openByDirectory}: the same steps and outcomes, on this thread. */
function openByDirectorySync(roots: AllowedRoots, path: string, field: string, flags: number, directories: RealDirectories, base: string): OpenedInside | undefined {
  const absolute = shortWayPath(roots, path, base);
  if (absolute === undefined) return undefined;
  const real = shortWayReal(roots, absolute, directories.getSync(dirname(absolute)));
  if (real === undefined) return undefined;
  let fd: number;
  try {
    fd = openSync(real, flags);
  } catch {
    return undefined;
  }
  try {
    return { fd, path: absolute, real: verifyOpenedSync(roots, fd, real, field, path) };
  } catch (error) {
    try {
      closeSync(fd);
    } catch {
      // The check's error is the one that matters.
    }
    throw error instanceof AdapterError ? error : fromFsError(error, absolute, field);
  }
}

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

class OpenDirectory implements DirectoryInside {
  readonly fd: number;
  readonly path: string;
  readonly real: string;
  #closed = false;

  constructor(fd: number, path: string, real: string) {
    this.fd = fd;
    this.path = path;
    this.real = real;
  }

  entry(name: string): string {
    return currentCheck() === 'proc' ? `${procLink(this.fd)}/${name}` : join(this.real, name);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeQuietly(this.fd);
  }
}

/** Options of {@link openDirectoryInside}. */
export interface OpenDirectoryOptions {
  /** Create the directory and its missing parents (each inside the one checked before it). @default false */
  create?: boolean;
  /** Where a relative path starts. @default the first root */
  base?: string;
}

/**
 * Opens a directory inside the roots, checked on the descriptor, to work in it through
 * {@link DirectoryInside.entry}: the temporary file and the rename of an atomic write, an
 * append, a listing. With `create`, missing directories are made one at a time, each in its
 * parent as opened and checked (a parent swapped for a symlink meanwhile is not followed out:
 * `mkdir -p` by path would make the directories wherever the symlink points). Fails with
 * `FANOUT_NOT_FOUND`, `FANOUT_NOT_DIRECTORY` or `FANOUT_PATH_OUTSIDE_ROOT`.
 */
export async function openDirectoryInside(roots: AllowedRoots, path: string, field: string, options: OpenDirectoryOptions = {}): Promise<DirectoryInside> {
  const safe = await roots.check(path, field, options.base);
  // The nearest directory that exists, and the names to create below it.
  const missing: string[] = [];
  let at = safe.real;
  let madeRoot = false;
  let fd: number;
  for (;;) {
    try {
      fd = await openFd(at, DIRECTORY_FLAGS);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected ${field} (${safe.path}) to be a directory, got a file on the way (${at})`, { path: field, cause: error });
      if (code !== 'ENOENT' || options.create !== true) throw openError(error, safe.path, field);
      const up = dirname(at);
      if (up === at || !roots.contains(up)) {
        // `at` is a root that does not exist yet: configuration, not input, so it is made by its path.
        if (madeRoot) throw openError(error, safe.path, field);
        madeRoot = true;
        await mkdir(at, { recursive: true }).catch((made: unknown) => {
          throw fromFsError(made, at, field);
        });
        continue;
      }
      missing.unshift(basename(at));
      at = up;
    }
  }
  let directory: OpenDirectory;
  try {
    directory = new OpenDirectory(fd, missing.length === 0 ? safe.path : at, await verifyOpened(roots, fd, at, field, path));
  } catch (error) {
    await closeQuietly(fd);
    throw error instanceof AdapterError ? error : fromFsError(error, at, field);
  }
  for (const [index, name] of missing.entries()) {
    const childPath = index === missing.length - 1 ? safe.path : join(directory.path, name);
    try {
      await mkdir(directory.entry(name)).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      });
      // O_NOFOLLOW: a symlink put where the directory was just made is refused, not followed
      // (Linux says ENOTDIR or ELOOP for a symlink opened with O_DIRECTORY | O_NOFOLLOW).
      const child = await openFd(directory.entry(name), DIRECTORY_FLAGS | constants.O_NOFOLLOW).catch(async (error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
        // A file there is a file on the way; anything else was a symlink when it was opened
        // (it may have changed again since).
        const now = await lstat(directory.entry(name)).catch(() => undefined);
        if (now !== undefined && !now.isSymbolicLink() && !now.isDirectory()) throw error;
        throw new AdapterError('FANOUT_SYMLINK_REFUSED', `expected ${childPath}, on the way to ${field} (${safe.path}), to stay a directory, got a symlink put in its place`, { path: field, cause: error });
      });
      try {
        const real = await verifyOpened(roots, child, directory.entry(name), field, path);
        await directory.close();
        directory = new OpenDirectory(child, childPath, real);
      } catch (error) {
        await closeQuietly(child);
        throw error;
      }
    } catch (error) {
      await directory.close();
      if (error instanceof AdapterError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected ${field} (${safe.path}) to be a directory, got a file on the way (${childPath})`, { path: field, cause: error });
      }
      throw openError(error, childPath, field);
    }
  }
  return directory;
}

/** Gives the entries of a listing the directory's own path (they carry the `/proc` link otherwise). */
function reparent(entries: Dirent[], path: string): Dirent[] {
  for (const entry of entries) {
    Object.defineProperty(entry, 'parentPath', { value: path, writable: true, configurable: true, enumerable: true });
    Object.defineProperty(entry, 'path', { value: path, writable: true, configurable: true, enumerable: true });
  }
  return entries;
}

/**
 * Lists a directory inside the roots: the listing is of the directory that was opened and
 * checked, so a directory swapped for a symlink to the outside is refused rather than listed
 * (`FANOUT_PATH_OUTSIDE_ROOT`). Entries' `parentPath` is `path` as given, resolved.
 */
export async function listDirectoryInside(roots: AllowedRoots, path: string, field: string): Promise<Dirent[]> {
  const directory = await openDirectoryInside(roots, path, field);
  try {
    const target = currentCheck() === 'proc' ? procLink(directory.fd) : directory.real;
    const entries = await readdir(target, { withFileTypes: true });
    if (currentCheck() === 'inode') {
      // The listing was by path: it is of the checked directory only if that is still there.
      const [held, now] = await Promise.all([fstatFd(directory.fd), stat(directory.real).catch(() => undefined)]);
      if (now === undefined || !sameFile(held, now)) throw escaped(roots, field, path, directory.real, 'was listed through another directory than the one opened at');
    }
    return reparent(entries, directory.path);
  } catch (error) {
    throw error instanceof AdapterError ? error : fromFsError(error, directory.path, field);
  } finally {
    await directory.close();
  }
}

/** Synchronous {@link listDirectoryInside}, for walks that read directories with `readdirSync`. */
export function listDirectoryInsideSync(roots: AllowedRoots, path: string, field: string): Dirent[] {
  const safe = roots.checkSync(path, field);
  let fd: number;
  try {
    fd = openSync(safe.real, DIRECTORY_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected ${field} (${safe.path}) to be a directory, got a file`, { path: field, cause: error });
    throw openError(error, safe.path, field);
  }
  try {
    const real = verifyOpenedSync(roots, fd, safe.real, field, path);
    const proc = currentCheck() === 'proc';
    const entries = readdirSync(proc ? procLink(fd) : real, { withFileTypes: true });
    if (!proc) {
      let now: Stats | undefined;
      try {
        now = statSync(real);
      } catch {
        now = undefined;
      }
      if (now === undefined || !sameFile(fstatSync(fd), now)) throw escaped(roots, field, path, real, 'was listed through another directory than the one opened at');
    }
    return reparent(entries, safe.path);
  } catch (error) {
    throw error instanceof AdapterError ? error : fromFsError(error, safe.path, field);
  } finally {
    closeSync(fd);
  }
}
