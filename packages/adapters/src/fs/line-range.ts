/**
 * Line ranges over a stream of bytes, 1-based and inclusive like `sed -n 'from,to p'`. A line
 * ends after its newline; a last line without one still counts (as `wc -l` would not, but an
 * editor does). Text is kept byte for byte (`\r\n` stays), so the selected lines joined give
 * the file's bytes back.
 */

/** Which lines a collector keeps. */
export interface LineWindow {
  /** First line kept, from 1. */
  from: number;
  /** Last line kept; `Infinity` for all the rest. */
  to: number;
}

/** What a {@link LineCollector} kept. */
export interface CollectedLines {
  bytes: Buffer;
  /** The selection went on past the cap. */
  truncated: boolean;
  /** Last line with a byte kept; `from - 1` when none was. */
  lastLine: number;
  /** Lines seen in all, when the whole input was seen. */
  total: number | undefined;
}

/**
 * Keeps the bytes of the lines in a window, up to a byte cap, from chunks pushed in order.
 * Newlines are found with `Buffer.indexOf`, which runs at memory speed; the bytes in between
 * are never looked at one by one. `unit` 2 is UTF-16: a newline is 0x0A 0x00 at an even
 * offset, and an odd byte at the end of a chunk waits for the next one.
 */
export class LineCollector {
  readonly #window: LineWindow;
  readonly #cap: number;
  readonly #unit: 1 | 2;
  readonly #kept: Buffer[] = [];
  #keptBytes = 0;
  #truncated = false;
  #done = false;
  /** The line the next byte belongs to. */
  #line = 1;
  /** Bytes of the current line seen so far (0: at a line start). */
  #partial = 0;
  #lastLine: number;
  #carry: Buffer | undefined;
  /** It stopped with bytes it never looked at, so the line count is unknown. */
  #leftover = false;

  constructor(window: LineWindow, capBytes: number, unit: 1 | 2 = 1) {
    this.#window = window;
    this.#cap = capBytes;
    this.#unit = unit;
    this.#lastLine = window.from - 1;
  }

  /** Has it all it needs (past the window, or over the cap)? */
  get done(): boolean {
    return this.#done;
  }

  /** Takes the next chunk; returns false once nothing more is needed. */
  push(input: Buffer): boolean {
    if (this.#done) return false;
    let chunk = input;
    if (this.#unit === 2) {
      if (this.#carry !== undefined) {
        chunk = Buffer.concat([this.#carry, chunk]);
        this.#carry = undefined;
      }
      if (chunk.length % 2 === 1) {
        this.#carry = chunk.subarray(chunk.length - 1);
        chunk = chunk.subarray(0, chunk.length - 1);
      }
    }
    let start = 0;
    let search = 0;
    const { from, to } = this.#window;
    for (;;) {
      const nl = this.#nextNewline(chunk, search);
      if (nl === -1) break;
      const end = nl + this.#unit;
      if (this.#line >= from) this.#keep(chunk, start, end);
      this.#partial = 0;
      this.#line++;
      start = end;
      search = end;
      if (this.#line > to || this.#done) {
        if (end < chunk.length || this.#carry !== undefined) this.#leftover = true;
        this.#done = true;
        return false;
      }
    }
    if (start < chunk.length) {
      if (this.#line >= from) this.#keep(chunk, start, chunk.length);
      this.#partial += chunk.length - start;
    }
    return !this.#done;
  }

  /** What was kept; `eof` says whether the input was seen to its end. */
  finish(eof: boolean): CollectedLines {
    if (this.#carry !== undefined && !this.#done) {
      const carry = this.#carry;
      this.#carry = undefined;
      if (this.#line >= this.#window.from && this.#line <= this.#window.to) this.#keep(carry, 0, carry.length);
      this.#partial += carry.length;
    }
    const total = eof && !this.#leftover ? this.#line - 1 + (this.#partial > 0 ? 1 : 0) : undefined;
    return { bytes: Buffer.concat(this.#kept, this.#keptBytes), truncated: this.#truncated, lastLine: this.#lastLine, total };
  }

  #nextNewline(chunk: Buffer, from: number): number {
    if (this.#unit === 1) return chunk.indexOf(0x0a, from);
    let at = from;
    for (;;) {
      const nl = chunk.indexOf(0x0a, at);
      // Chunks start at even offsets (the odd byte was carried), so parity is the file's.
      if (nl === -1 || (nl % 2 === 0 && chunk[nl + 1] === 0)) return nl;
      at = nl + 1;
    }
  }

  #keep(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    const room = this.#cap - this.#keptBytes;
    if (room <= 0) {
      this.#truncated = true;
      this.#done = true;
      this.#leftover = true;
      return;
    }
    const length = end - start;
    const take = Math.min(length, room);
    this.#kept.push(chunk.subarray(start, start + take));
    this.#keptBytes += take;
    this.#lastLine = this.#line;
    if (take < length) {
      this.#truncated = true;
      this.#done = true;
      this.#leftover = true;
    }
  }
}

/** Reads `length` bytes at `position` into `buffer`; resolves the count read (0 at the end). */
export type PositionalRead = (buffer: Buffer, length: number, position: number) => Promise<number>;

/**
 * The offset where the last `count` lines of the first `size` bytes start, found by reading
 * backwards in chunks like `tail -n` does, so a tail of a large log reads only its end.
 */
export async function tailStart(read: PositionalRead, size: number, count: number, unit: 1 | 2, signal: AbortSignal, chunkBytes = 65_536): Promise<number> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let end = size;
  let found = 0;
  // A newline at the very end closes the last line; it does not begin another one.
  let skipFinal = true;
  while (end > 0) {
    signal.throwIfAborted();
    // Chunk boundaries stay even so UTF-16 newlines are never split.
    let begin = Math.max(0, end - chunkBytes);
    if (unit === 2 && begin % 2 === 1) begin++;
    if (begin >= end) begin = Math.max(0, end - 2);
    const length = end - begin;
    const got = await read(chunk, length, begin);
    const view = chunk.subarray(0, got);
    let at = got - 1;
    while (at >= 0) {
      const nl = view.lastIndexOf(0x0a, at);
      if (nl === -1) break;
      at = nl - 1;
      const absolute = begin + nl;
      if (unit === 2 && (absolute % 2 === 1 || (nl + 1 < got ? view[nl + 1] !== 0 : true))) continue;
      const lineEnd = absolute + unit;
      if (skipFinal && lineEnd === size) {
        skipFinal = false;
        continue;
      }
      skipFinal = false;
      found++;
      if (found === count) return lineEnd;
    }
    skipFinal = false;
    end = begin;
  }
  return 0;
}
