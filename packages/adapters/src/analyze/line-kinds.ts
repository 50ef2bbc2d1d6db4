/**
 * Blank, comment and code lines of a file, the way `cloc` counts them: a line with only white
 * space is blank (inside a block comment too); a line with nothing but comments is a comment
 * line; any other is code. Comment markers inside one-line strings do not count (cloc's
 * `rm_comments_in_strings`), so `'**\/*.ts'` opens no block comment. Per-file and
 * allocation-free: it runs in the scan threads on every file of the map analysis.
 */

/** Comment syntax of a language family. */
interface Syntax {
  /** Line-comment openers. */
  line: readonly string[];
  /** Block comments: opener and closer. */
  blocks: readonly (readonly [string, string])[];
  /** Quotes whose one-line strings are skipped (markers inside do not count). */
  quotes: string;
  /** A line starting (after white space) with `"""` / `'''` opens a docstring, which cloc counts as comment (Python). */
  docstrings?: boolean;
}

const C_LIKE: Syntax = { line: ['//'], blocks: [['/*', '*/']], quotes: `"'` };
const JS_LIKE: Syntax = { line: ['//'], blocks: [['/*', '*/']], quotes: `"'\`` };
// Rust's `'` starts lifetimes and chars: only double quotes are strings there.
const RUST: Syntax = { line: ['//'], blocks: [['/*', '*/']], quotes: '"' };
const HASH: Syntax = { line: ['#'], blocks: [], quotes: `"'` };
const PYTHON: Syntax = { line: ['#'], blocks: [], quotes: `"'`, docstrings: true };
const SGML: Syntax = { line: [], blocks: [['<!--', '-->']], quotes: '' };
const CSS: Syntax = { line: [], blocks: [['/*', '*/']], quotes: `"'` };
const DASH: Syntax = { line: ['--'], blocks: [], quotes: `"'` };
const LUA: Syntax = { line: ['--'], blocks: [['--[[', ']]']], quotes: `"'` };
const HASKELL: Syntax = { line: ['--'], blocks: [['{-', '-}']], quotes: '"' };
const SEMI: Syntax = { line: [';'], blocks: [], quotes: '"' };
const PERCENT: Syntax = { line: ['%'], blocks: [], quotes: '"' };
const PHP: Syntax = { line: ['//', '#'], blocks: [['/*', '*/']], quotes: `"'` };
const HCL: Syntax = { line: ['#', '//'], blocks: [['/*', '*/']], quotes: '"' };
const NONE: Syntax = { line: [], blocks: [], quotes: '' };

/** Comment syntax by language name (see `languageOf`); a language not here has only code and blank lines. */
const SYNTAX: Readonly<Record<string, Syntax>> = {
  TypeScript: JS_LIKE,
  JavaScript: JS_LIKE,
  Vue: JS_LIKE,
  Svelte: JS_LIKE,
  Astro: JS_LIKE,
  Java: C_LIKE,
  Kotlin: C_LIKE,
  Scala: C_LIKE,
  Groovy: C_LIKE,
  Swift: C_LIKE,
  C: C_LIKE,
  'C++': C_LIKE,
  'C#': C_LIKE,
  'F#': { line: ['//'], blocks: [['(*', '*)']], quotes: '"' },
  'Objective-C': C_LIKE,
  'Objective-C++': C_LIKE,
  Go: JS_LIKE,
  Rust: RUST,
  Dart: C_LIKE,
  Zig: { line: ['//'], blocks: [], quotes: '"' },
  Solidity: C_LIKE,
  'Protocol Buffer': C_LIKE,
  GraphQL: HASH,
  SCSS: C_LIKE,
  Less: C_LIKE,
  Sass: C_LIKE,
  CSS,
  Python: PYTHON,
  Ruby: HASH,
  Perl: HASH,
  R: HASH,
  Julia: HASH,
  Elixir: HASH,
  Nim: HASH,
  Shell: HASH,
  PowerShell: { line: ['#'], blocks: [['<#', '#>']], quotes: `"'` },
  YAML: HASH,
  TOML: HASH,
  INI: { line: [';', '#'], blocks: [], quotes: '' },
  Makefile: HASH,
  CMake: HASH,
  Dockerfile: HASH,
  HCL,
  PHP,
  HTML: SGML,
  XML: SGML,
  SVG: SGML,
  Markdown: SGML,
  MDX: SGML,
  SQL: DASH,
  Lua: LUA,
  Haskell: HASKELL,
  Clojure: SEMI,
  'Emacs Lisp': SEMI,
  Assembly: SEMI,
  Erlang: PERCENT,
  TeX: PERCENT,
  'Vim Script': { line: ['"'], blocks: [], quotes: '' },
  Batchfile: { line: ['REM ', 'rem ', '::'], blocks: [], quotes: '' },
  JSON: NONE,
};

/** Blank, comment and code lines. */
export interface LineKinds {
  blank: number;
  comment: number;
  code: number;
}

/** A syntax compiled to bytes, for the scan over a file's bytes. */
interface Compiled {
  /** ASCII bytes that may start a marker or a string. */
  special: Uint8Array;
  line: Uint8Array[];
  opens: Uint8Array[];
  closes: Uint8Array[];
  quotes: Uint8Array;
  docstrings: boolean;
  /** Nothing can span lines: past the first code on a line, the line is decided. */
  lineOnly: boolean;
}

const COMPILED = new WeakMap<Syntax, Compiled>();
const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

function compile(syntax: Syntax): Compiled {
  let compiled = COMPILED.get(syntax);
  if (compiled === undefined) {
    const special = new Uint8Array(256);
    for (const opener of [...syntax.line, ...syntax.blocks.map(([open]) => open), ...syntax.quotes]) special[opener.charCodeAt(0)] = 1;
    if (syntax.docstrings === true) special[34] = special[39] = 1;
    compiled = {
      special,
      line: syntax.line.map(ascii),
      opens: syntax.blocks.map(([open]) => ascii(open)),
      closes: syntax.blocks.map(([, close]) => ascii(close)),
      quotes: ascii(syntax.quotes),
      docstrings: syntax.docstrings === true,
      lineOnly: syntax.blocks.length === 0 && syntax.docstrings !== true,
    };
    COMPILED.set(syntax, compiled);
  }
  return compiled;
}

/** Whether `what` is at `i` in `bytes`, before `end`. */
function at(bytes: Uint8Array, i: number, end: number, what: Uint8Array): boolean {
  if (i + what.length > end) return false;
  for (let k = 0; k < what.length; k++) if (bytes[i + k] !== what[k]) return false;
  return true;
}

/** Where `what` starts in `bytes` from `i`, ending before `end`, or -1. */
function find(bytes: Uint8Array, i: number, end: number, what: Uint8Array): number {
  const first = what[0]!;
  for (let j = bytes.indexOf(first, i); j !== -1 && j + what.length <= end; j = bytes.indexOf(first, j + 1)) if (at(bytes, j, end, what)) return j;
  return -1;
}

/**
 * Whether a block-comment opener occurs in `bytes` between `i` and `end`. `next` keeps, per
 * opener, where its first byte next occurs at or after the last `i` asked (-1: nowhere): `i`
 * only grows through a file, so the whole file is searched once, not once per line.
 */
function opensBlock(bytes: Uint8Array, i: number, end: number, c: Compiled, next: Int32Array): boolean {
  for (let k = 0; k < c.opens.length; k++) {
    const open = c.opens[k]!;
    let j = next[k]!;
    if (j === -1) continue;
    if (j < i) j = bytes.indexOf(open[0]!, i);
    while (j !== -1 && j < end && !at(bytes, j, end, open)) j = bytes.indexOf(open[0]!, j + 1);
    next[k] = j;
    if (j !== -1 && j < end) return true;
  }
  return false;
}

const DOUBLE3 = ascii('"""');
const SINGLE3 = ascii("'''");

/**
 * Counts the line kinds of a file of `language`, from its text or its bytes (UTF-8: every
 * marker is ASCII, so the bytes need no decoding). Lines end at `\n`; a last line without
 * one counts. Unknown languages: every non-blank line is code.
 *
 * @example
 * lineKinds('// a\n\nlet x = 1; /* b *\/\n', 'TypeScript'); // { blank: 1, comment: 1, code: 1 }
 */
export function lineKinds(text: string | Uint8Array, language: string): LineKinds {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const c = compile(SYNTAX[language] ?? NONE);
  const counts: LineKinds = { blank: 0, comment: 0, code: 0 };
  const next = new Int32Array(c.opens.length); // 0: not searched yet (any i ≥ 0 searches)
  let close: Uint8Array | undefined; // the closer of the block comment (or docstring) we are in
  const end = bytes.length;
  let start = 0;
  while (start < end) {
    let stop = bytes.indexOf(10, start);
    if (stop === -1) stop = end;
    const first = start === 0;
    let i = start;
    start = stop + 1;
    // White space as JavaScript's \s sees it in ASCII: \t \n \v \f \r and space.
    while (i < stop && (bytes[i] === 32 || (bytes[i]! >= 9 && bytes[i]! <= 13))) i++;
    if (i === stop) {
      counts.blank++;
      continue;
    }
    // cloc counts a `#!` first line as code, whatever the language's comments.
    if (first && i === 0 && bytes[0] === 35 && bytes[1] === 33) {
      counts.code++;
      continue;
    }
    let code = false;
    let comment = false;
    while (i < stop) {
      if (close !== undefined) {
        comment = true;
        const found = find(bytes, i, stop, close);
        if (found === -1) break;
        i = found + close.length;
        close = undefined;
        continue;
      }
      const b = bytes[i]!;
      if (b === 32 || b === 9 || b === 13) {
        i++;
        continue;
      }
      if (c.special[b] === 0) {
        code = true;
        // Past code, only a block comment opened and left open can matter to the next lines:
        // with no opener in the rest of the line (found natively), the line is decided.
        if (c.lineOnly || !opensBlock(bytes, i, stop, c, next)) break;
        i++;
        continue;
      }
      if (c.docstrings && !code && (at(bytes, i, stop, DOUBLE3) || at(bytes, i, stop, SINGLE3))) {
        const quote = b === 34 ? DOUBLE3 : SINGLE3;
        comment = true;
        const found = find(bytes, i + 3, stop, quote);
        if (found === -1) {
          close = quote;
          break;
        }
        i = found + 3;
        continue;
      }
      let lineComment = false;
      for (const opener of c.line) if (at(bytes, i, stop, opener)) lineComment = true;
      if (lineComment) {
        comment = true;
        break;
      }
      let block = -1;
      for (let k = 0; k < c.opens.length && block === -1; k++) if (at(bytes, i, stop, c.opens[k]!)) block = k;
      if (block !== -1) {
        comment = true;
        close = c.closes[block]!;
        i += c.opens[block]!.length;
        continue;
      }
      code = true;
      if (c.quotes.includes(b)) {
        // Skip a one-line string; an unclosed quote runs to the end of the line.
        let j = i + 1;
        while (j < stop && bytes[j] !== b) j += bytes[j] === 92 ? 2 : 1;
        i = j + 1;
        continue;
      }
      i++;
    }
    if (code) counts.code++;
    else if (comment) counts.comment++;
    else counts.code++;
  }
  return counts;
}
