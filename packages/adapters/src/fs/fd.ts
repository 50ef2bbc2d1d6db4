import { close, closeSync, fdatasync, fstat, open, read, readSync, write, type Stats } from 'node:fs';
import { promisify } from 'node:util';

/*
 * Raw file descriptors rather than `FileHandle`s: a FIFO's descriptor is handed to a
 * `net.Socket`, which then owns and closes it, and a `FileHandle` closing the same number
 * later could close an unrelated file that reused it.
 */

/** `open(2)`: resolves the descriptor. */
export const openFd: (path: string, flags: number, mode?: number) => Promise<number> = promisify(open) as never;
/** `close(2)`. */
export const closeFd: (fd: number) => Promise<void> = promisify(close);
/** `fdatasync(2)`: the data reaches the disk (the metadata a later read needs too). */
export const fdatasyncFd: (fd: number) => Promise<void> = promisify(fdatasync);
/** `fstat(2)`. */
export const fstatFd: (fd: number) => Promise<Stats> = promisify(fstat) as never;

/** `pread(2)` into `buffer[0, length)`; resolves the count read (0 at the end). */
export function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, 0, length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error)));
  });
}

/** Reads until `buffer` is full or the file ends; resolves the count read. */
export async function readFully(fd: number, buffer: Buffer, position: number, signal: AbortSignal): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    signal.throwIfAborted();
    const got = await readAt(fd, buffer.subarray(filled), buffer.length - filled, position + filled);
    if (got === 0) break;
    filled += got;
  }
  return filled;
}

/** {@link readFully} on this thread: for small files read synchronously (see `sync-slices.ts`). */
export function readFullySync(fd: number, buffer: Buffer, position: number): number {
  let filled = 0;
  while (filled < buffer.length) {
    const got = readSync(fd, buffer, filled, buffer.length - filled, position + filled);
    if (got === 0) break;
    filled += got;
  }
  return filled;
}

/** Largest single `write(2)` asked for, so an abort is seen between slices of a large content. */
const WRITE_SLICE = 4 * 1024 * 1024;

/** Writes all of `data` at the current offset (or the end, with `O_APPEND`), looping over short writes. */
export async function writeAll(fd: number, data: Buffer, signal: AbortSignal): Promise<void> {
  let done = 0;
  while (done < data.length) {
    signal.throwIfAborted();
    const length = Math.min(WRITE_SLICE, data.length - done);
    done += await new Promise<number>((resolve, reject) => {
      write(fd, data, done, length, null, (error, written) => (error === null ? resolve(written) : reject(error)));
    });
  }
}

/** Closes `fd`, ignoring errors: for cleanup paths where an earlier error is what matters. */
export function closeQuietly(fd: number): Promise<void> {
  return closeFd(fd).catch(() => undefined);
}

/**
 * {@link closeQuietly} on this thread: for a descriptor opened read-only, whose close(2) has
 * nothing to write back and does not wait for a disk (a trip through the thread pool costs more).
 */
export function closeQuietlySync(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed, or EIO from a file system that reports late: nothing was written here.
  }
}
