import { constants, fchmod, fchown, fsync, link, rename, unlink } from 'node:fs';
import { promisify } from 'node:util';
import type { DirectoryInside } from '../open-inside.js';
import { closeFd, closeQuietly, fdatasyncFd, openFd, writeAll } from './fd.js';

const fchmodFd = promisify(fchmod);
const fchownFd = promisify(fchown);
const fsyncFd = promisify(fsync);
const linkPath = promisify(link);
const renamePath = promisify(rename);
const unlinkPath = promisify(unlink);

/** How {@link writeAtomically} writes. */
export interface AtomicWriteOptions {
  /** Fail with EEXIST when the target exists (mode "create"); otherwise replace it. */
  exclusive: boolean;
  /** Flush the data, then the directory entry, before resolving. */
  durable: boolean;
  /** Permission bits to give the file (an overwritten file keeps its own). */
  permissions?: number;
  /** Owner to give the file (an overwritten file keeps its own when the process may set it). */
  owner?: { uid: number; gid: number };
}

/** Error codes of `link(2)` on file systems without hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * Writes `data` to `name` in `directory` so that a reader sees the old content or the new,
 * never a part: a temporary file in the same directory (same file system, so the final step
 * is atomic) is written, flushed, then renamed over the target, the scheme of
 * write-file-atomic and of the MCP filesystem server's fix. `rename(2)` replaces a symlink at
 * the target rather than following it. With `exclusive`, the final step is `link(2)`, which
 * fails when the target exists: an atomic create-if-absent that a check followed by a rename
 * could not be. Every step goes through {@link DirectoryInside.entry}, so the file lands in
 * the directory that was opened and checked, even if its path is swapped for a symlink
 * meanwhile. The temporary file is removed on any failure or abort. As with every
 * rename-based write, other hard links to the old file keep the old content.
 */
export async function writeAtomically(directory: DirectoryInside, name: string, data: Buffer, options: AtomicWriteOptions, signal: AbortSignal): Promise<void> {
  // Dot-prefixed so globs skip it; the name is cut so the suffix still fits in NAME_MAX.
  // node:crypto is loaded on the first write, not with this module (every command's start-up).
  const temp = directory.entry(`.${name.slice(0, 200)}.${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}.fanout-tmp`);
  const target = directory.entry(name);
  const fd = await openFd(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
  let placed = false;
  try {
    try {
      await writeAll(fd, data, signal);
      if (options.owner !== undefined) {
        // Only a privileged process may give a file away; otherwise the writer owns it, as any editor's save would.
        await fchownFd(fd, options.owner.uid, options.owner.gid).catch(() => undefined);
      }
      if (options.permissions !== undefined) await fchmodFd(fd, options.permissions);
      if (options.durable) await fdatasyncFd(fd);
    } finally {
      await closeQuietly(fd);
    }
    signal.throwIfAborted();
    if (!options.exclusive) {
      await renamePath(temp, target);
      placed = true;
    } else {
      try {
        await linkPath(temp, target);
      } catch (error) {
        if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
        // No hard links here: claim the name exclusively, then rename over the claim. The
        // name is never taken from someone else; a reader may see it empty for a moment.
        await closeFd(await openFd(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666));
        await renamePath(temp, target);
        placed = true;
      }
    }
    if (options.durable) await syncDirectory(directory.fd);
  } finally {
    if (!placed) await unlinkPath(temp).catch(() => undefined);
  }
}

/** Makes a rename or link durable: the directory entry is data of the directory (fsync(2) of its descriptor). */
export async function syncDirectory(fd: number): Promise<void> {
  try {
    await fsyncFd(fd);
  } catch {
    // Some file systems refuse fsync on a directory (EINVAL); the data itself was flushed.
  }
}
