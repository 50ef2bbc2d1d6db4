/**
 * How many leading bytes are looked at to tell a binary file from text: git's
 * `buffer_is_binary` (xdiff-interface.c) looks at the first 8000 bytes for a NUL, and so do we.
 */
export const BINARY_SNIFF_BYTES = 8000;

/**
 * Whether bytes look binary: a NUL byte among the first {@link BINARY_SNIFF_BYTES} (git's
 * heuristic, which ripgrep shares). UTF-16 text has NULs, so it counts as binary too.
 */
export function isBinary(bytes: Uint8Array): boolean {
  const head = bytes.length > BINARY_SNIFF_BYTES ? bytes.subarray(0, BINARY_SNIFF_BYTES) : bytes;
  return head.includes(0);
}
