import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { HttpError } from './http-error.js';

/** Content codings this package decodes, as sent in `Accept-Encoding`. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * More codings than this in one `Content-Encoding` is an attack, not a response (the limit
 * undici's fetch, urllib3 and curl adopted after CVE-2022-32206).
 */
const MAX_CODINGS = 5;

/**
 * `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), yet some servers send raw
 * deflate; the first byte tells them apart (a zlib header's low nibble is 8). Browsers accept
 * both, and so does undici's fetch (its `InflateStream`), which this follows.
 */
class AnyInflate extends Transform {
  #inner: zlib.Inflate | zlib.InflateRaw | undefined;
  #ended: Promise<void> | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#inner === undefined) {
      if (chunk.length === 0) return callback();
      const inner = (chunk[0]! & 0x0f) === 0x08 ? zlib.createInflate(LENIENT) : zlib.createInflateRaw(LENIENT);
      inner.on('data', (data: Buffer) => this.push(data));
      inner.on('error', (error) => this.destroy(error));
      this.#ended = new Promise((resolve) => inner.once('end', resolve));
      this.#inner = inner;
    }
    this.#inner.write(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#inner === undefined) return callback();
    this.#inner.end();
    void this.#ended!.then(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner?.destroy();
    callback(error);
  }
}

// Z_SYNC_FLUSH, as curl and undici's fetch do: a body whose compressed stream lacks its last
// block but is otherwise sound is still read, as browsers read it.
const LENIENT: zlib.ZlibOptions = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const LENIENT_BROTLI: zlib.BrotliOptions = { flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

/**
 * The decoders that undo a `Content-Encoding`, first to apply first; empty for none or
 * `identity`. A coding this package did not ask for (it sends `Accept-Encoding: gzip,
 * deflate, br`) is a `FANOUT_HTTP_DECODE` error rather than bytes nobody can read.
 */
export function contentDecoders(contentEncoding: string | undefined, url: string): Transform[] {
  if (contentEncoding === undefined) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length > MAX_CODINGS) {
    throw new HttpError('FANOUT_HTTP_DECODE', `expected at most ${MAX_CODINGS} content codings from ${url}, got ${codings.length} ("${contentEncoding}")`, { path: 'url', url });
  }
  // Codings are listed in the order they were applied: undo them from the last.
  return codings.reverse().map((coding) => {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return zlib.createGunzip(LENIENT);
      case 'deflate':
        return new AnyInflate();
      case 'br':
        return zlib.createBrotliDecompress(LENIENT_BROTLI);
      default:
        throw new HttpError('FANOUT_HTTP_DECODE', `expected a body encoded with ${ACCEPT_ENCODING} or identity from ${url}, got Content-Encoding "${contentEncoding}"`, { path: 'url', url });
    }
  });
}
