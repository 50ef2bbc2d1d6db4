import { ByteCap } from '../caps.js';

/** Bytes of each stream's end that a failure carries (its message quotes less). */
export const TAIL_BYTES = 4096;

/** What a process wrote to one stream, as a result reports it (see {@link StreamCapture}). */
export interface CapturedStream {
  /** Bytes the stream wrote, kept or not. */
  readonly bytes: number;
  readonly truncated: boolean;
  /** The head up to the cap, as UTF-8 (a character cut by the cap is dropped). */
  text(): string;
  /** The last {@link TAIL_BYTES} bytes as UTF-8, starting on a character boundary. */
  tail(): string;
}

/** The last {@link TAIL_BYTES} bytes of `bytes` as UTF-8, skipping a character whose lead byte fell off the front. */
export function utf8Tail(bytes: Buffer): string {
  let start = Math.max(0, bytes.length - TAIL_BYTES);
  while (start < bytes.length && start > 0 && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.toString('utf8', start);
}

/**
 * What one output stream of a process said: its head up to the cap (the result), its last
 * {@link TAIL_BYTES} bytes (what a failure shows: errors come last), and how many bytes it
 * wrote in all. Past the cap, chunks are still read and counted, then dropped, so the child
 * never blocks on a full pipe and runs to its natural end.
 */
export class StreamCapture implements CapturedStream {
  readonly #head: ByteCap;
  readonly #tail: Buffer[] = [];
  #tailBytes = 0;

  constructor(capBytes: number) {
    this.#head = new ByteCap(capBytes);
  }

  /** Bytes the stream wrote, kept or not. */
  get bytes(): number {
    return this.#head.seen;
  }

  get truncated(): boolean {
    return this.#head.truncated;
  }

  push(chunk: Buffer): void {
    this.#head.push(chunk);
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    // Drop whole chunks that the tail no longer needs; the first may still overhang.
    while (this.#tail.length > 1 && this.#tailBytes - this.#tail[0]!.length >= TAIL_BYTES) {
      this.#tailBytes -= this.#tail.shift()!.length;
    }
  }

  /** The head, as UTF-8 (a character cut by the cap is dropped, never mangled). */
  text(): string {
    return this.#head.text();
  }

  /** The last {@link TAIL_BYTES} bytes as UTF-8, starting on a character boundary. */
  tail(): string {
    return utf8Tail(Buffer.concat(this.#tail, this.#tailBytes));
  }
}
