/**
 * The second translation of a grep pattern: a legacy-mode JavaScript source (no `u`, `v` or
 * `i` flag) that matches exactly what the `v`-mode translation matches, on text that is pure
 * ASCII — most lines of source code (`decode.ts` hands pure-ASCII stretches over as one-byte
 * strings).
 *
 * Why a second one: V8 can leave its backtracking engine for a linear-time one when a match
 * backtracks too much (`--enable-experimental-regexp-engine-on-excessive-backtracks`, set in
 * `regex-engine.ts`), which makes `(a+)+$` on forty `a`s and a `b` end in microseconds instead
 * of never — but only for expressions without the `i`, `u` and `v` flags and without
 * lookaround or backreferences (measured on Node 20's V8 11.3). On ASCII text nothing needs
 * those flags: each character class (`\w`, `\p{L}`, a case-folded letter, `.`) is turned into
 * the explicit set of ASCII characters it matches, found by testing the 127 candidates
 * against the `v`-mode class itself, so the two can never disagree. `^` and `$` become the
 * `m` flag's anchors, which also stop at `\r`: the expression is used only on text without
 * `\r` when it has anchors (`anchored`). Unicode word boundaries become `\b`, exact on ASCII.
 */

/** One piece of the ASCII translation: verbatim source, or a class to evaluate on ASCII. */
export type AsciiPiece = string | { probe: string; cp?: number };

/** The ASCII translation and whether it has line anchors (then it is wrong on text with `\r`). */
export interface AsciiSource {
  source: string;
  anchored: boolean;
}

/** A byte as legacy-mode source that is literal inside and outside a class. */
function byteSource(code: number): string {
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return String.fromCharCode(code);
  return `\\x${code.toString(16).padStart(2, '0')}`;
}

/** The legacy-mode class of the ASCII characters in `members` (`[]` when none: it never matches). */
function asciiClass(members: readonly boolean[]): string {
  const ranges: string[] = [];
  let count = 0;
  let only = -1;
  for (let code = 0; code < 128; code++) {
    if (!members[code]) continue;
    let end = code;
    while (end + 1 < 128 && members[end + 1]) end++;
    ranges.push(end === code ? byteSource(code) : end === code + 1 ? byteSource(code) + byteSource(end) : `${byteSource(code)}-${byteSource(end)}`);
    count += end - code + 1;
    only = code;
    code = end;
  }
  if (count === 1) return byteSource(only);
  return `[${ranges.join('')}]`;
}

/**
 * The ASCII characters (never `\n`) that the `v`-mode source `probe` (one character or class)
 * matches with `flags` (`v`, plus `i` when case-insensitive).
 */
function membersOf(probe: string, flags: string): boolean[] {
  const test = new RegExp(`^(?:${probe})$`, flags);
  const members: boolean[] = [];
  for (let code = 0; code < 128; code++) members.push(code !== 10 && test.test(String.fromCharCode(code)));
  return members;
}

/**
 * Joins the pieces into the legacy-mode source. A literal outside ASCII matches no ASCII text
 * unless case folding brings it there (the Kelvin sign folds to `k`): it is probed like a class.
 */
export function asciiSource(pieces: readonly AsciiPiece[], ignoreCase: boolean, anchored: boolean): AsciiSource {
  const flags = ignoreCase ? 'vi' : 'v';
  const cache = new Map<string, string>();
  let source = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      source += piece;
      continue;
    }
    if (!ignoreCase && piece.cp !== undefined) {
      source += piece.cp < 128 && piece.cp !== 10 ? byteSource(piece.cp) : '[]';
      continue;
    }
    let set = cache.get(piece.probe);
    if (set === undefined) {
      set = asciiClass(membersOf(piece.probe, flags));
      cache.set(piece.probe, set);
    }
    source += set;
  }
  return { source, anchored };
}

/** `(?<![\w])(?:…)(?![\w])` on ASCII text: what `word` adds around the pattern (`-w`). */
export function asciiWord(source: string): string {
  return `(?<![0-9A-Za-z_])(?:${source})(?![0-9A-Za-z_])`;
}
