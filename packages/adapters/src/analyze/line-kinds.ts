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

const SPACE = /^\s*$/;

const SPECIAL = new WeakMap<Syntax, Uint8Array>();

/** The ASCII characters that may start a comment marker or a string, as a lookup table. */
function specialOf(syntax: Syntax): Uint8Array {
  let table = SPECIAL.get(syntax);
  if (table === undefined) {
    table = new Uint8Array(128);
    for (const opener of [...syntax.line, ...syntax.blocks.map(([open]) => open), ...syntax.quotes]) table[opener.charCodeAt(0)] = 1;
    if (syntax.docstrings === true) table[34] = table[39] = 1;
    SPECIAL.set(syntax, table);
  }
  return table;
}

/**
 * Counts the line kinds of `text`, a file of `language`. Lines end at `\n`; a last line
 * without one counts. Unknown languages: every non-blank line is code.
 *
 * @example
 * lineKinds('// a\n\nlet x = 1; /* b *\/\n', 'TypeScript'); // { blank: 1, comment: 1, code: 1 }
 */
export function lineKinds(text: string, language: string): LineKinds {
  const syntax = SYNTAX[language] ?? NONE;
  const special = specialOf(syntax);
  const noBlocks = syntax.blocks.length === 0 && syntax.docstrings !== true;
  const counts: LineKinds = { blank: 0, comment: 0, code: 0 };
  let close: string | undefined; // the closer of the block comment (or docstring) we are in
  let start = 0;
  const end = text.length;
  while (start < end) {
    let stop = text.indexOf('\n', start);
    if (stop === -1) stop = end;
    const line = text.slice(start, stop);
    const first = start === 0;
    start = stop + 1;
    if (SPACE.test(line)) {
      counts.blank++;
      continue;
    }
    // cloc counts a `#!` first line as code, whatever the language's comments.
    if (first && line.startsWith('#!')) {
      counts.code++;
      continue;
    }
    let code = false;
    let comment = false;
    let i = 0;
    const length = line.length;
    while (i < length) {
      if (close !== undefined) {
        comment = true;
        const at = line.indexOf(close, i);
        if (at === -1) {
          i = length;
          break;
        }
        i = at + close.length;
        close = undefined;
        continue;
      }
      const c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13) {
        i++;
        continue;
      }
      if (c >= 128 || !special[c]) {
        code = true;
        i++;
        continue;
      }
      if (code && noBlocks) break; // past code, only a block opener could matter
      if (syntax.docstrings === true && !code && (line.startsWith('"""', i) || line.startsWith("'''", i))) {
        const quote = line.slice(i, i + 3);
        comment = true;
        const at = line.indexOf(quote, i + 3);
        if (at === -1) {
          close = quote;
          i = length;
        } else i = at + 3;
        continue;
      }
      const lineOpener = syntax.line.find((opener) => line.startsWith(opener, i));
      if (lineOpener !== undefined) {
        comment = true;
        break;
      }
      const block = syntax.blocks.find(([open]) => line.startsWith(open, i));
      if (block !== undefined) {
        comment = true;
        close = block[1];
        i += block[0].length;
        continue;
      }
      code = true;
      if (syntax.quotes.includes(line[i]!)) {
        // Skip a one-line string; an unclosed quote runs to the end of the line.
        const quote = line[i]!;
        let j = i + 1;
        while (j < length && line[j] !== quote) j += line[j] === '\\' ? 2 : 1;
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
