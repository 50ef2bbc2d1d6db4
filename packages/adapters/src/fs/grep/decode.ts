import { isAscii, isUtf8 } from 'node:buffer';

/**
 * A stretch of a file (whole lines) decoded for a regular expression, with the way back from
 * string indices to byte offsets, which ripgrep's output is in.
 *
 * Three decodings, cheapest first:
 * - ASCII: `latin1` decoding is a byte-for-byte copy into a one-byte string, the fastest V8
 *   can scan, and index `i` is byte `start + i`;
 * - valid UTF-8: V8's decoder; offsets are recovered by measuring the UTF-8 length of the text
 *   between the last index asked for and the next (only lines that matched are measured);
 * - invalid UTF-8: decoded here, each byte that is not part of a valid sequence becoming the
 *   lone surrogate U+DC00 + byte (Python's "surrogateescape"), which no pattern matches; a
 *   table maps every index to its byte.
 */
export interface TextView {
  readonly text: string;
  /** Pure ASCII (a one-byte string, index = byte). */
  readonly ascii: boolean;
  /** The absolute byte offset of string index `index` (`text.length` maps to the end). */
  byteAt(index: number): number;
}

class AsciiView implements TextView {
  readonly text: string;
  readonly ascii = true;
  readonly #start: number;

  constructor(buffer: Buffer, start: number, end: number) {
    this.text = buffer.toString('latin1', start, end);
    this.#start = start;
  }

  byteAt(index: number): number {
    return this.#start + index;
  }
}

class Utf8View implements TextView {
  readonly text: string;
  readonly ascii = false;
  #index = 0;
  #byte: number;

  constructor(buffer: Buffer, start: number, end: number) {
    this.text = buffer.toString('utf8', start, end);
    this.#byte = start;
  }

  byteAt(index: number): number {
    // Indices are asked for in (nearly) increasing order: measure only the difference.
    if (index >= this.#index) this.#byte += Buffer.byteLength(this.text.slice(this.#index, index), 'utf8');
    else this.#byte -= Buffer.byteLength(this.text.slice(index, this.#index), 'utf8');
    this.#index = index;
    return this.#byte;
  }
}

class EscapedView implements TextView {
  readonly text: string;
  readonly ascii = false;
  readonly #offsets: Int32Array;

  constructor(buffer: Buffer, start: number, end: number) {
    const units = new Uint16Array(end - start);
    const offsets = new Int32Array(end - start + 1);
    let n = 0;
    let i = start;
    while (i < end) {
      const b0 = buffer[i]!;
      if (b0 < 0x80) {
        offsets[n] = i;
        units[n++] = b0;
        i++;
        continue;
      }
      const length = sequenceLength(buffer, i, end);
      if (length === 0) {
        offsets[n] = i;
        units[n++] = 0xdc00 + b0;
        i++;
        continue;
      }
      let cp: number;
      if (length === 2) cp = ((b0 & 0x1f) << 6) | (buffer[i + 1]! & 0x3f);
      else if (length === 3) cp = ((b0 & 0x0f) << 12) | ((buffer[i + 1]! & 0x3f) << 6) | (buffer[i + 2]! & 0x3f);
      else cp = ((b0 & 0x07) << 18) | ((buffer[i + 1]! & 0x3f) << 12) | ((buffer[i + 2]! & 0x3f) << 6) | (buffer[i + 3]! & 0x3f);
      if (cp > 0xffff) {
        cp -= 0x10000;
        offsets[n] = i;
        units[n++] = 0xd800 + (cp >> 10);
        offsets[n] = i;
        units[n++] = 0xdc00 + (cp & 0x3ff);
      } else {
        offsets[n] = i;
        units[n++] = cp;
      }
      i += length;
    }
    offsets[n] = end;
    // utf16le keeps lone surrogates as they are (TextDecoder would replace them).
    this.text = Buffer.from(units.buffer, 0, n * 2).toString('utf16le');
    this.#offsets = offsets;
  }

  byteAt(index: number): number {
    return this.#offsets[index]!;
  }
}

/** The length of the valid UTF-8 sequence at `i` (2–4), or 0 when the byte starts none (RFC 3629 ranges). */
export function sequenceLength(buffer: Buffer, i: number, end: number): number {
  const b0 = buffer[i]!;
  const cont = (at: number, low = 0x80, high = 0xbf): boolean => at < end && buffer[at]! >= low && buffer[at]! <= high;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b0 === 0xe0) return cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (b0 === 0xed) return cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
  if (b0 === 0xf0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b0 === 0xf4) return cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

/** The bytes of one file several searches run over in turn, and the views made of them so far. */
interface SharedViews {
  memory: ArrayBufferLike;
  /** The file's bytes in `memory`: [from, to). */
  from: number;
  to: number;
  /** By the view's first byte in `memory`: the buffer's offset it was made for, its end in `memory`, and the view. */
  views: Map<number, { offset: number; end: number; view: TextView }>;
}

let shared: SharedViews | undefined;

/**
 * Runs `searches` (each search of `bytes` by one operation of a scan pass, in turn) with the
 * views of `bytes` shared: a stretch decoded for one search is decoded once for all of them,
 * the same text for the same bytes. In `explore-codebase` every file is searched by six to
 * eight expressions, and decoding (a `latin1` copy of each ASCII block, a UTF-8 decoding of
 * the others) was 7% of a worker's time on Babel, repeated for each. The bytes must not
 * change while it runs; views are kept until it returns.
 */
export function shareViews<T>(bytes: Buffer, searches: () => T): T {
  const outer = shared;
  shared = { memory: bytes.buffer, from: bytes.byteOffset, to: bytes.byteOffset + bytes.length, views: new Map() };
  try {
    return searches();
  } finally {
    shared = outer;
  }
}

/** The view of `buffer[start, end)` made earlier in {@link shareViews}, or `make`'s, kept for the next search. */
function sharedView(buffer: Buffer, start: number, end: number, make: () => TextView): TextView {
  const views = shared;
  const from = buffer.byteOffset + start;
  const to = buffer.byteOffset + end;
  if (views === undefined || buffer.buffer !== views.memory || from < views.from || to > views.to) return make();
  const known = views.views.get(from);
  // A view's offsets are relative to the buffer it was made for.
  if (known !== undefined && known.end === to && known.offset === buffer.byteOffset) return known.view;
  const view = make();
  views.views.set(from, { offset: buffer.byteOffset, end: to, view });
  return view;
}

/** `buffer[start, end)`, known to be pure ASCII, as a view. */
export function asciiView(buffer: Buffer, start: number, end: number): TextView {
  return sharedView(buffer, start, end, () => new AsciiView(buffer, start, end));
}

/** Decodes `buffer[start, end)` the cheapest exact way (see {@link TextView}). */
export function decodeView(buffer: Buffer, start: number, end: number): TextView {
  return sharedView(buffer, start, end, () => {
    const bytes = buffer.subarray(start, end);
    if (isAscii(bytes)) return new AsciiView(buffer, start, end);
    if (isUtf8(bytes)) return new Utf8View(buffer, start, end);
    return new EscapedView(buffer, start, end);
  });
}

/** `{text}` when the bytes are valid UTF-8, else `{bytes}` in base64: ripgrep's `--json` convention. */
export function jsonData(buffer: Buffer, start: number, end: number): { text: string } | { bytes: string } {
  const bytes = buffer.subarray(start, end);
  return isUtf8(bytes) ? { text: bytes.toString('utf8') } : { bytes: bytes.toString('base64') };
}

/**
 * What ripgrep searches of a file that starts with a byte order mark (its default
 * `--encoding auto`): UTF-16 (LE `FF FE`, BE `FE FF`) transcoded to UTF-8, a UTF-8 BOM
 * dropped; offsets and `bytes_searched` are then those of the result. Any other buffer is
 * returned as it is. Lone surrogates and an odd last byte become U+FFFD, as ripgrep's decoder
 * makes them.
 */
export function withoutBom(buffer: Buffer): Buffer {
  if (buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) return buffer.subarray(3);
  if (buffer.length < 2) return buffer;
  const little = buffer[0] === 0xff && buffer[1] === 0xfe;
  const big = buffer[0] === 0xfe && buffer[1] === 0xff;
  if (!little && !big) return buffer;
  const even = buffer.length - (buffer.length % 2);
  const units = Buffer.from(buffer.subarray(2, even));
  if (big) units.swap16();
  // Buffer.from(…, 'utf8') turns lone surrogates into U+FFFD.
  const text = units.toString('utf16le') + (even < buffer.length ? '\ufffd' : '');
  return Buffer.from(text, 'utf8');
}

/**
 * Is byte offset `at` of `bytes` strictly inside a valid UTF-8 sequence? The built-in engine
 * steps through text by code point, so no match, not even an empty one, starts there (ripgrep
 * 13 reports empty matches at every byte offset; ripgrep 14 no longer does).
 */
export function insideCodePoint(bytes: Buffer, at: number): boolean {
  if (at <= 0 || at >= bytes.length || (bytes[at]! & 0xc0) !== 0x80) return false;
  for (let lead = at - 1; lead >= 0 && lead >= at - 3; lead--) {
    if ((bytes[lead]! & 0xc0) !== 0x80) return lead + sequenceLength(bytes, lead, bytes.length) > at;
  }
  return false;
}
