import { constants, fstatSync } from 'node:fs';
import { AdapterError, fromFsError } from '../errors.js';
import type { AllowedRoots } from '../roots.js';
import { openInside, openInsideSync, type RealDirectories } from '../open-inside.js';
import { closeQuietlySync, readAt, readFully, readFullySync } from './fd.js';
import { LineCollector, tailStart, type CollectedLines, type LineWindow } from './line-range.js';
import { readPipe } from './pipe.js';
import type { SyncReads } from './sync-slices.js';
import { BINARY_PROBE_BYTES, decode, looksBinary, newlineUnit, spellsBytes, type CanonicalEncoding } from './text-encoding.js';

/** One file `read` could read. */
export interface ReadFileOk {
  /** Absolute path, as asked for (`..` and `.` resolved, symlinks not). */
  path: string;
  ok: true;
  /** The content (of the selected lines); absent when the file is binary and `encoding` is a text encoding. */
  text?: string;
  encoding: CanonicalEncoding;
  /** Size of the file in bytes (for a FIFO: the bytes read from it). */
  bytes: number;
  /** A NUL byte in its first 8 KiB, as git and ripgrep decide. */
  binary: boolean;
  /** The text stops at the byte cap before the end of what was asked for. */
  truncated: boolean;
  /** The lines `text` holds, 1-based and inclusive, when a line range was asked for. */
  lines?: { from: number; to: number; total?: number };
}

/** One file `read` could not read; the others are not affected. */
export interface ReadFileFailed {
  path: string;
  ok: false;
  error: { code: string; message: string };
}

/** One entry of `read`'s output, in the order the paths were asked for. */
export type ReadFile = ReadFileOk | ReadFileFailed;

/** Which lines to read: the first or last `count`, or `from`–`to`. */
export type LineRange = { kind: 'head'; count: number } | { kind: 'tail'; count: number } | { kind: 'span'; from: number; to: number };

/** How to read one file. */
export interface ReadRequest {
  encoding: CanonicalEncoding;
  range: LineRange | undefined;
  /**
   * Takes from the operation's byte budget what this file may keep (before encoding), once
   * its size is known (`undefined` for a FIFO): at most the per-file cap, no more than the
   * file holds. Called once, before anything is read; resolves the bytes granted.
   */
  reserve(size: number | undefined): number;
  /** Read a FIFO as a stream rather than refuse it. */
  fifo: boolean;
  /** The operation's real paths of directories, shared by its files (see {@link RealDirectories}). */
  directories?: RealDirectories;
  /**
   * The operation's synchronous reads (see `sync-slices.ts`): a small regular file read whole
   * is opened and read on this thread while the turn's slice has room. Without it, every
   * open and read goes through the thread pool.
   */
  sync?: SyncReads;
}

/** Bytes per read while scanning lines: large enough that `indexOf` dominates the system calls. */
const CHUNK_BYTES = 256 * 1024;

/*
 * O_NOFOLLOW on the checked real path: if a symlink was put there after the root check, the
 * open fails (ELOOP) instead of following it. O_NONBLOCK makes opening a FIFO return at once
 * rather than wait for a writer (it is then refused, or read when asked); it changes nothing
 * for regular files.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

/** A file read, and how many bytes of content it kept (counted against the operation's budget). */
export interface ReadOne {
  file: ReadFileOk;
  kept: number;
}

/**
 * Reads one file inside the roots. `field` names the input field in errors (`path`,
 * `paths[3]`). Throws an {@link AdapterError}, or the signal's reason once aborted.
 */
export async function readOneFile(roots: AllowedRoots, asked: string, field: string, request: ReadRequest, signal: AbortSignal): Promise<ReadOne> {
  signal.throwIfAborted();
  let sync = request.sync?.allowed === true ? request.sync : undefined;
  // A turn's slice spent: this file waits for the next turn, whatever its size (its size is
  // known only once it is open, and opening is the first of its synchronous steps). Checked
  // right before the synchronous steps, with no wait in between: files that waited for the
  // same turn go one after another while it has room, then wait again.
  while (sync?.slices.spent === true) {
    await sync.slices.nextTurn();
    signal.throwIfAborted();
    if (!sync.allowed) sync = undefined;
  }
  const startedAt = sync?.slices.now() ?? 0;
  // What this file took of the slice, counted once: when it is read whole here, at its end;
  // otherwise before the first wait, so that a wait is never counted as reading time.
  let counted = sync === undefined;
  const count = (bytes: number): void => {
    if (counted) return;
    counted = true;
    sync!.done(startedAt, bytes);
  };
  let syncBytes = 0;
  // Checked on the descriptor, not only on the path: a directory on the way swapped for a
  // symlink to the outside after the path was checked is refused, not read. The synchronous
  // open takes the same steps, with the same outcomes.
  const openOptions = request.directories === undefined ? {} : { directories: request.directories };
  let opened: { fd: number; path: string };
  try {
    opened = sync === undefined ? await openInside(roots, asked, field, OPEN_FLAGS, openOptions) : openInsideSync(roots, asked, field, OPEN_FLAGS, openOptions);
  } catch (error) {
    count(0);
    throw error;
  }
  const { fd, path } = opened;
  let owned = true;
  try {
    // Synchronous: the descriptor was just opened, so the kernel has what fstat(2) reports
    // in memory (no disk is read; network file systems revalidated it at the open). A trip
    // through the thread pool cost more than the call, and a read of 200 files makes 200.
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw new AdapterError('FANOUT_IS_DIRECTORY', `expected ${field} (${path}) to be a file, got a directory`, { path: field });
    if (stats.isFIFO()) {
      if (!request.fifo) {
        throw new AdapterError(
          'FANOUT_SPECIAL_FILE',
          `expected ${field} (${path}) to be a regular file, got a FIFO (a named pipe waits for a writer, maybe for ever; set "fifo": true to read it anyway, up to the timeout)`,
          { path: field },
        );
      }
      if (request.range?.kind === 'tail') {
        throw new AdapterError('FANOUT_SPECIAL_FILE', `expected ${field} (${path}) to be a regular file for "tail" (it is read from its end), got a FIFO`, { path: field });
      }
      owned = false; // the pipe reader closes it
      count(0);
      return await readFifo(fd, path, request, request.reserve(undefined), signal);
    }
    if (!stats.isFile()) throw new AdapterError('FANOUT_SPECIAL_FILE', `expected ${field} (${path}) to be a regular file, got a ${kindOf(stats)}`, { path: field });
    if (sync !== undefined && request.range === undefined && stats.size <= sync.slices.fileBytes) {
      syncBytes = stats.size;
      return readWholeSync(fd, stats.size, path, request.encoding, request.reserve(stats.size));
    }
    count(0);
    return await readRegular(fd, stats.size, path, request, request.reserve(stats.size), signal);
  } catch (error) {
    if (error instanceof AdapterError || signal.aborted) throw error;
    throw fromFsError(error, path, field);
  } finally {
    // Synchronous, as fstat above: a descriptor opened read-only has nothing to write back,
    // so close(2) does not wait for a disk (a FIFO, device or directory refused above is
    // only opened with O_NONBLOCK, never read). Through the thread pool it was a third of a
    // file's trips, and each trip wakes a pool thread and then this one, which on a busy
    // machine waits its turn for a core every time.
    if (owned) closeQuietlySync(fd);
    count(syncBytes);
  }
}

function kindOf(stats: { isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  return 'special file';
}

async function readRegular(fd: number, size: number, path: string, request: ReadRequest, capBytes: number, signal: AbortSignal): Promise<ReadOne> {
  const { encoding, range } = request;
  const read = (buffer: Buffer, length: number, position: number): Promise<number> => readAt(fd, buffer, length, position);
  if (range === undefined) {
    // The common case: one read of the whole file, or of its first `capBytes`.
    const buffer = Buffer.allocUnsafe(Math.min(size, capBytes));
    const got = await readFully(fd, buffer, 0, signal);
    const bytes = buffer.subarray(0, got);
    const truncated = got === capBytes && size > capBytes;
    const head = got >= BINARY_PROBE_BYTES || got === size ? bytes : await probe(fd, size, signal);
    return textResult(path, bytes, size, looksBinary(head, encoding), truncated, encoding, undefined);
  }
  const binary = looksBinary(await probe(fd, size, signal), encoding);
  if (binary && !spellsBytes(encoding)) return { file: { path, ok: true, encoding, bytes: size, binary, truncated: false }, kept: 0 };
  const unit = newlineUnit(encoding);
  if (range.kind === 'tail') {
    const start = await tailStart(read, size, range.count, unit, signal);
    // Line numbers need the lines before the tail: count them (memory speed, nothing kept).
    const counter = new LineCollector({ from: Infinity, to: Infinity }, 0, unit);
    await stream(fd, 0, start, counter, signal);
    const before = counter.finish(true).total ?? 0;
    const collector = new LineCollector({ from: 1, to: Infinity }, capBytes, unit);
    const eof = await stream(fd, start, size, collector, signal);
    const kept = collector.finish(eof);
    const lines = { from: before + 1, to: before + kept.lastLine, ...(kept.total === undefined ? {} : { total: before + kept.total }) };
    return textResult(path, kept.bytes, size, binary, kept.truncated, encoding, lines);
  }
  const window: LineWindow = range.kind === 'head' ? { from: 1, to: range.count } : { from: range.from, to: range.to };
  const collector = new LineCollector(window, capBytes, unit);
  const eof = await stream(fd, 0, size, collector, signal);
  const kept = collector.finish(eof);
  return textResult(path, kept.bytes, size, binary, kept.truncated, encoding, linesOf(window, kept));
}

/** The common case of {@link readRegular} (no line range) on this thread, for a small file: the same reads, the same result. */
function readWholeSync(fd: number, size: number, path: string, encoding: CanonicalEncoding, capBytes: number): ReadOne {
  const buffer = Buffer.allocUnsafe(Math.min(size, capBytes));
  const got = readFullySync(fd, buffer, 0);
  const bytes = buffer.subarray(0, got);
  const truncated = got === capBytes && size > capBytes;
  let head = bytes;
  if (got < BINARY_PROBE_BYTES && got !== size) {
    const probe = Buffer.allocUnsafe(Math.min(size, BINARY_PROBE_BYTES));
    head = probe.subarray(0, readFullySync(fd, probe, 0));
  }
  return textResult(path, bytes, size, looksBinary(head, encoding), truncated, encoding, undefined);
}

function linesOf(window: LineWindow, kept: CollectedLines): NonNullable<ReadFileOk['lines']> {
  return { from: window.from, to: kept.lastLine, ...(kept.total === undefined ? {} : { total: kept.total }) };
}

/** The first 8 KiB, for binary detection. */
async function probe(fd: number, size: number, signal: AbortSignal): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(size, BINARY_PROBE_BYTES));
  return buffer.subarray(0, await readFully(fd, buffer, 0, signal));
}

/** Feeds `[start, end)` to `collector` until it has enough; resolves whether the end was reached. */
async function stream(fd: number, start: number, end: number, collector: LineCollector, signal: AbortSignal): Promise<boolean> {
  let position = start;
  while (position < end) {
    signal.throwIfAborted();
    // A fresh buffer each time: the collector keeps views into the chunks it takes from.
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - position));
    const got = await readAt(fd, buffer, buffer.length, position);
    if (got === 0) return true;
    position += got;
    if (!collector.push(got === buffer.length ? buffer : buffer.subarray(0, got))) return position >= end;
  }
  return true;
}

async function readFifo(fd: number, path: string, request: ReadRequest, capBytes: number, signal: AbortSignal): Promise<ReadOne> {
  const { encoding, range } = request;
  const window: LineWindow =
    range === undefined ? { from: 1, to: Infinity } : range.kind === 'head' ? { from: 1, to: range.count } : range.kind === 'span' ? { from: range.from, to: range.to } : { from: 1, to: Infinity };
  const collector = new LineCollector(window, capBytes, newlineUnit(encoding));
  const head: Buffer[] = [];
  let headBytes = 0;
  let seen = 0;
  const eof = await readPipe(fd, signal, (chunk) => {
    seen += chunk.length;
    if (headBytes < BINARY_PROBE_BYTES) {
      head.push(chunk);
      headBytes += chunk.length;
    }
    return collector.push(chunk);
  });
  const kept = collector.finish(eof);
  const binary = looksBinary(Buffer.concat(head), encoding);
  return textResult(path, kept.bytes, seen, binary, kept.truncated, encoding, range === undefined ? undefined : linesOf(window, kept));
}

function textResult(path: string, bytes: Buffer, size: number, binary: boolean, truncated: boolean, encoding: CanonicalEncoding, lines: ReadFileOk['lines']): ReadOne {
  const file: ReadFileOk = { path, ok: true, encoding, bytes: size, binary, truncated };
  if (lines !== undefined) file.lines = lines;
  if (binary && !spellsBytes(encoding)) {
    // No text to cut: the file is reported, not shown.
    file.truncated = false;
    return { file, kept: 0 };
  }
  file.text = decode(bytes, encoding, truncated);
  return { file, kept: bytes.length };
}
