import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { ByteCap } from '../caps.js';
import { TAIL_BYTES, utf8Tail, type CapturedStream } from './stream-capture.js';

const EMPTY = Buffer.alloc(0);

/** Reads `length` bytes at `position`, fewer if the file is shorter by now. */
function readAt(fd: number, length: number, position: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/**
 * One stream of a job run by the spawn server, which writes it to a private file: the head up
 * to the cap and the last {@link TAIL_BYTES} bytes are read, never what lies between (a job
 * may write gigabytes), and the file's size says how many bytes it wrote in all. Results are
 * the same as a {@link StreamCapture} fed the same bytes through a pipe.
 */
export class OutputFile implements CapturedStream {
  readonly bytes: number;
  readonly #head: ByteCap;
  readonly #tail: Buffer;

  private constructor(head: ByteCap, tail: Buffer, bytes: number) {
    this.#head = head;
    this.#tail = tail;
    this.bytes = bytes;
  }

  /**
   * Reads the file at `path` (a missing file is an empty stream: the job failed before it
   * opened it) and removes it; when `written` is false the file is known to be empty, and is
   * only removed. Synchronous on purpose: for the small outputs of most commands
   * an open, a stat, a read and an unlink take a few microseconds each, far less than
   * promise round trips through the thread pool would.
   */
  static take(path: string, capBytes: number, written = true): OutputFile {
    if (!written) {
      // Known to be empty (the worker looked): nothing to open or read.
      try {
        unlinkSync(path);
      } catch {
        // Never created: the job failed before it opened it.
      }
      return new OutputFile(new ByteCap(capBytes), EMPTY, 0);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return new OutputFile(new ByteCap(capBytes), EMPTY, 0);
    }
    let head: Buffer;
    let tail: Buffer;
    let size: number;
    try {
      size = fstatSync(fd).size;
      head = readAt(fd, Math.min(size, capBytes), 0);
      tail = size <= capBytes ? head.subarray(Math.max(0, head.length - TAIL_BYTES)) : readAt(fd, Math.min(size, TAIL_BYTES), Math.max(0, size - TAIL_BYTES));
    } finally {
      closeSync(fd);
    }
    unlinkSync(path);
    const cap = new ByteCap(capBytes);
    cap.push(head);
    // ByteCap learns that the stream went past the cap by being offered one byte more than it
    // keeps; the bytes between the head and the tail were never read.
    if (size > capBytes) cap.push(Buffer.alloc(1));
    return new OutputFile(cap, tail, size);
  }

  get truncated(): boolean {
    return this.#head.truncated;
  }

  text(): string {
    return this.#head.text();
  }

  tail(): string {
    return utf8Tail(this.#tail);
  }
}
