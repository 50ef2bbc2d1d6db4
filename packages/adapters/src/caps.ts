/**
 * Collects text or bytes up to a cap and remembers whether anything was cut. Adapters report
 * capped output with `truncated: true` and the cap, so a reader knows it holds only a part.
 */
export class ByteCap {
  readonly #cap: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #seen = 0;

  constructor(capBytes: number) {
    this.#cap = capBytes;
  }

  /** Bytes offered so far, kept or not. */
  get seen(): number {
    return this.#seen;
  }

  get truncated(): boolean {
    return this.#seen > this.#kept;
  }

  /** Adds a chunk; returns false once the cap is reached (the caller may stop reading). */
  push(chunk: Buffer | string): boolean {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#seen += buffer.length;
    const room = this.#cap - this.#kept;
    if (room > 0) {
      const kept = buffer.length <= room ? buffer : buffer.subarray(0, room);
      this.#chunks.push(kept);
      this.#kept += kept.length;
    }
    return this.#kept < this.#cap;
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks, this.#kept);
  }

  /** The kept bytes as UTF-8; a character cut in half at the cap is dropped, never mangled. */
  text(): string {
    const bytes = this.bytes();
    let end = bytes.length;
    if (this.truncated) {
      // Step back over a partial UTF-8 sequence at the end.
      let back = end - 1;
      while (back >= 0 && back > end - 4 && (bytes[back]! & 0xc0) === 0x80) back--;
      if (back >= 0) {
        const lead = bytes[back]!;
        const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (back + length > end) end = back;
      }
    }
    return bytes.toString('utf8', 0, end);
  }
}
