/**
 * Standard output cut into lines as it arrives, with a cap per line: an agent that floods its
 * output (a megabyte tool result, a binary dump) costs at most `maxLineBytes` of memory for
 * the line under way, whatever it prints; a longer line is dropped and counted, never parsed
 * in pieces.
 */

/** Splits a byte stream into UTF-8 lines (a trailing `\r` removed). */
export class LineSplitter {
  readonly #maxLineBytes: number;
  readonly #onLine: (text: string) => void;
  #parts: Buffer[] = [];
  #size = 0;
  #dropping = false;
  /** Lines dropped because they passed the cap. */
  oversized = 0;
  /** Lines handed on. */
  lines = 0;

  constructor(maxLineBytes: number, onLine: (text: string) => void) {
    this.#maxLineBytes = maxLineBytes;
    this.#onLine = onLine;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) {
        this.#keep(chunk.subarray(start));
        return;
      }
      this.#keep(chunk.subarray(start, newline));
      this.#emit();
      start = newline + 1;
    }
  }

  /** The stream ended: an unterminated last line is a line too. */
  end(): void {
    if (this.#size > 0 || this.#dropping) this.#emit();
  }

  /** The line under way (not yet ended by a newline), as text; at most its first `maxLineBytes`. */
  get partial(): string {
    return this.#dropping ? '' : Buffer.concat(this.#parts, this.#size).toString('utf8');
  }

  #keep(part: Buffer): void {
    if (part.length === 0 || this.#dropping) return;
    if (this.#size + part.length > this.#maxLineBytes) {
      this.#dropping = true;
      this.#parts = [];
      this.#size = 0;
      return;
    }
    // Copied: the chunk's buffer may be pooled and reused by the stream.
    this.#parts.push(Buffer.from(part));
    this.#size += part.length;
  }

  #emit(): void {
    if (this.#dropping) {
      this.oversized++;
      this.#dropping = false;
      return;
    }
    let text = Buffer.concat(this.#parts, this.#size).toString('utf8');
    this.#parts = [];
    this.#size = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.lines++;
    this.#onLine(text);
  }
}
