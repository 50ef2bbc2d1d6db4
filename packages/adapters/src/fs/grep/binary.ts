/**
 * When a file found by the walk is binary, as ripgrep decides it (`BinaryDetection::quit`):
 * ripgrep reads a file in fills of its line buffer (64 KiB, grown threefold while a line does
 * not fit) and, before searching a fill, looks for a NUL byte in it; on one it stops there
 * and the file counts as binary (`rg -c` drops it, `--json` says `binary_offset`). It also
 * stops reading once `--max-count` (1 with `-l`) is reached. So a NUL in the first 64 KiB
 * always makes a file binary; a later one only if the search had not stopped before the fill
 * that holds it. The fills are deterministic for a regular file (every read returns what was
 * asked), so the built-in engine can tell where they fall without reading in fills itself.
 */

/** ripgrep's line buffer capacity (`grep-searcher`'s `DEFAULT_BUFFER_CAPACITY`). */
export const FIRST_FILL_BYTES = 64 * 1024;

/**
 * The bytes ripgrep searches before the fill that holds the NUL at `nul`: whole lines, up to
 * the last line feed it read before that fill (0 when the NUL is in the first fill).
 */
export function searchedBeforeNul(buffer: Buffer, nul: number): number {
  let capacity = FIRST_FILL_BYTES;
  /** Where the buffer starts (the line ripgrep rolled to its front) and where what was read ends. */
  let start = 0;
  let end = 0;
  let searched = 0;
  for (;;) {
    let free = capacity - (end - start);
    // Eager allocation: a full buffer grows by twice its length.
    if (free <= 0) {
      capacity *= 3;
      free = capacity - (end - start);
    }
    const readEnd = Math.min(buffer.length, end + free);
    if (nul < readEnd) return searched;
    // A fill ends at its last line feed (ripgrep reads on while there is none).
    const last = buffer.lastIndexOf(10, readEnd - 1);
    const newline = last >= end ? last : -1;
    end = readEnd;
    if (end === buffer.length) return end;
    if (newline !== -1) {
      searched = newline + 1;
      start = searched;
    }
  }
}
