/**
 * The encodings `read` and `write` accept: every encoding Node's `Buffer` supports, under its
 * usual spellings. Text encodings turn bytes into characters; `base64`, `base64url` and `hex`
 * spell raw bytes, so they are the way to read or write a binary file.
 */
export const ENCODINGS = ['utf8', 'utf-8', 'utf16le', 'utf-16le', 'ucs2', 'ucs-2', 'latin1', 'binary', 'ascii', 'base64', 'base64url', 'hex'] as const;

/** One of {@link ENCODINGS}. */
export type Encoding = (typeof ENCODINGS)[number];

/** The canonical names the outputs report. */
export type CanonicalEncoding = 'utf8' | 'utf16le' | 'latin1' | 'ascii' | 'base64' | 'base64url' | 'hex';

const CANONICAL: Record<Encoding, CanonicalEncoding> = {
  utf8: 'utf8',
  'utf-8': 'utf8',
  utf16le: 'utf16le',
  'utf-16le': 'utf16le',
  ucs2: 'utf16le',
  'ucs-2': 'utf16le',
  latin1: 'latin1',
  binary: 'latin1',
  ascii: 'ascii',
  base64: 'base64',
  base64url: 'base64url',
  hex: 'hex',
};

/** `utf-8` → `utf8`, `ucs2` → `utf16le`, `binary` → `latin1`. */
export function canonicalEncoding(encoding: Encoding): CanonicalEncoding {
  return CANONICAL[encoding];
}

/** Does the encoding spell bytes (base64, hex) rather than decode characters? */
export function spellsBytes(encoding: CanonicalEncoding): boolean {
  return encoding === 'base64' || encoding === 'base64url' || encoding === 'hex';
}

/** Bytes a newline takes: 2 in UTF-16 (0x0A 0x00 at an even offset), 1 otherwise. */
export function newlineUnit(encoding: CanonicalEncoding): 1 | 2 {
  return encoding === 'utf16le' ? 2 : 1;
}

/** How many leading bytes binary detection looks at: git's `buffer_is_binary` and ripgrep both use 8 KiB. */
export const BINARY_PROBE_BYTES = 8192;

/**
 * Is this the start of a binary file? A NUL byte in the first 8 KiB, as git and ripgrep decide.
 * UTF-16 text is half NULs, so a file read as UTF-16 is never called binary.
 */
export function looksBinary(head: Buffer, encoding: CanonicalEncoding): boolean {
  if (encoding === 'utf16le') return false;
  const probe = head.length > BINARY_PROBE_BYTES ? head.subarray(0, BINARY_PROBE_BYTES) : head;
  return probe.indexOf(0) !== -1;
}

/**
 * Decodes `bytes`. When they were cut at a cap (`cut`), a character split by the cut is
 * dropped rather than turned into U+FFFD: the text is then an exact prefix of the file's.
 */
export function decode(bytes: Buffer, encoding: CanonicalEncoding, cut: boolean): string {
  let end = bytes.length;
  if (cut && encoding === 'utf8') end = utf8Boundary(bytes);
  else if (cut && encoding === 'utf16le') end -= end % 2;
  return bytes.toString(encoding, 0, end);
}

/** The length of `bytes` without a UTF-8 sequence left incomplete at its end. */
function utf8Boundary(bytes: Buffer): number {
  const end = bytes.length;
  let lead = end - 1;
  // Continuation bytes are 10xxxxxx; a sequence is at most 4 bytes long.
  while (lead >= 0 && lead > end - 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return end;
  const byte = bytes[lead]!;
  const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
  return lead + length > end ? lead : end;
}
