/**
 * The building blocks of the `v`-mode translation of ripgrep's syntax (`pattern.ts`): Rust's
 * classes and anchors confined to one line, as JavaScript sources.
 */

export const WORD = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
/** The escapes of bytes that are not valid UTF-8 (see `decode.ts`). */
export const INVALID = String.raw`\u{DC80}-\u{DCFF}`;
/** Never matched by a class or `.`: the line terminator and the escapes of invalid bytes. */
export const EXCLUDED = String.raw`\n` + INVALID;
// Not `[^…]`: V8 11.3 (Node 20) matches a top-level negated class wrongly inside a repeated
// group under the `v` flag (`/(?:x[^,]*,)+/v` finds nothing in "xab,xc,"); a set difference
// from \p{Any} is the same class without that bug.
export const LINE_START = String.raw`(?<![\p{Any}--[\n]])`;
export const LINE_END = String.raw`(?![\p{Any}--[\n]])`;
export const DOT = `[\\p{Any}--[${EXCLUDED}]]`;
export const WORD_CLASS = `[${WORD}]`;
export const BOUNDARY = `(?:(?<=${WORD_CLASS})(?!${WORD_CLASS})|(?<!${WORD_CLASS})(?=${WORD_CLASS}))`;
export const NOT_BOUNDARY = `(?:(?<=${WORD_CLASS})(?=${WORD_CLASS})|(?<!${WORD_CLASS})(?!${WORD_CLASS}))`;

/** The Perl classes, as operands usable inside a `v`-mode class. */
export const PERL_OPERANDS: Record<string, string> = {
  d: String.raw`\p{Nd}`,
  D: String.raw`\P{Nd}`,
  w: `[${WORD}]`,
  W: `[^${WORD}]`,
  s: String.raw`\p{White_Space}`,
  S: String.raw`\P{White_Space}`,
};

/** POSIX classes (ASCII-only in Rust too), as `v`-mode class bodies. */
export const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: String.raw`\x00-\x7F`,
  blank: String.raw`\t\x20`,
  cntrl: String.raw`\x00-\x1F\x7F`,
  digit: '0-9',
  graph: String.raw`\x21-\x7E`,
  lower: 'a-z',
  print: String.raw`\x20-\x7E`,
  punct: String.raw`\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E`,
  space: String.raw`\t\n\v\f\r\x20`,
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export const SIMPLE_ESCAPES: Record<string, number> = { t: 0x09, r: 0x0d, f: 0x0c, v: 0x0b, a: 0x07, e: 0x1b, '0': 0x00 };
