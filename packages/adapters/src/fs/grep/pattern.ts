/**
 * Turns a grep pattern into what the search engine runs: either a plain literal (searched as
 * bytes, see `literal-finder.ts`) or a JavaScript regular expression with ripgrep's line
 * semantics, with a literal to prefilter lines when every match must contain one.
 *
 * The pattern syntax is ripgrep's (the Rust `regex` crate's), which is close to JavaScript's;
 * it is translated token by token into a `v`-mode JavaScript source so that the engine
 * behaves as ripgrep's does:
 * - a match never crosses a newline: `.`, negated classes and every class lose `\n`, `^` and
 *   `$` are line anchors (only `\n` ends a line, so a `\r` before it belongs to the line, as in
 *   ripgrep without `--crlf`), and a literal `\n` in the pattern is refused as ripgrep does;
 * - `\w \d \s \b` are Unicode-aware (Rust's definitions: `\w` is Alphabetic, Mark,
 *   Decimal_Number, Connector_Punctuation and Join_Control; `\s` is White_Space), where
 *   JavaScript's are ASCII-only and its `\s` includes U+FEFF;
 * - case-insensitive matching uses Unicode simple case folding (the `v` flag's, the crate's);
 * - bytes that are not valid UTF-8 are decoded to lone surrogates U+DC80–U+DCFF (see
 *   `decode.ts`) and, as in the crate, match no class, no `.` and no literal.
 *
 * Rust syntax that JavaScript lacks is translated: `(?P<name>…)`, `\pL`, `\p{Greek}`,
 * `\x{…}`, `\A`, `\z`, POSIX classes `[[:alpha:]]`, nested classes and the class operators
 * `&&`, `--`, `~~`. JavaScript additions (lookaround, backreferences) are accepted (the
 * ripgrep engine hands such patterns to this one). Inline flags are limited to a leading
 * `(?i)` and the no-op `(?s)`, `(?m)`, `(?u)`: Node 20's engine has no scoped modifiers.
 *
 * A second translation, for pure-ASCII text, drops the `v` and `i` flags so that V8 can fall
 * back to its linear-time engine on a runaway match (see `ascii-pattern.ts`).
 */
import { AdapterError } from '../../errors.js';
import { asciiSource, asciiWord, type AsciiPiece, type AsciiSource } from './ascii-pattern.js';
import { requiredLiterals } from './required-literals.js';
import { BOUNDARY, DOT, EXCLUDED, INVALID, LINE_END, LINE_START, NOT_BOUNDARY, PERL_OPERANDS, POSIX, SIMPLE_ESCAPES, WORD, WORD_CLASS } from './pattern-syntax.js';

/** How the engine searches: bytes for a literal, a regular expression otherwise. */
export interface MatcherSpec {
  /** The literal to look for as UTF-8 bytes, when no regular expression is needed. */
  literal?: string;
  /** JavaScript source (flags `v`, plus `i` when case-insensitive). */
  source: string;
  flags: string;
  /**
   * A literal every match contains (ASCII when `ignoreCase`): lines without it cannot match,
   * so text that is costly to decode is searched for it first (see `search.ts`).
   */
  prefilter?: { literal: string; ignoreCase: boolean };
  /**
   * Literals (ASCII, case-sensitive) of which every match holds one: a file holding none of
   * them has no match and is not searched (see `required-literals.ts`).
   */
  anyOf?: string[];
  /** The same search for pure-ASCII text without the `u`, `v` and `i` flags (see `ascii-pattern.ts`). */
  ascii?: AsciiSource;
  /**
   * Why only the built-in engine can run the pattern: it uses JavaScript syntax that
   * ripgrep's regex engine refuses (lookaround, a backreference).
   */
  builtinOnly?: string;
}

/** The pattern options of a grep input. */
export interface PatternOptions {
  /** Treat the pattern as a literal string (`rg -F`). */
  fixedStrings: boolean;
  /** Case-insensitive (`rg -i`). */
  ignoreCase: boolean;
  /** Case-insensitive when the pattern has no upper-case literal (`rg -S`). */
  smartCase: boolean;
  /** Only matches surrounded by word boundaries (`rg -w`). */
  word: boolean;
}

function invalid(pattern: string, reason: string, at?: number): AdapterError {
  const where = at === undefined ? '' : ` at offset ${at}`;
  return new AdapterError('FANOUT_PATTERN_INVALID', `expected pattern to be a valid regular expression, got ${JSON.stringify(pattern)}: ${reason}${where}`, {
    path: 'pattern',
  });
}

/** The error of a search that ran past its time budget (see `regex-budget.ts`). */
export function regexTooSlow(pattern: string, path: string, budgetMs: number): AdapterError {
  return new AdapterError(
    'FANOUT_REGEX_TOO_SLOW',
    `expected the regular expression ${JSON.stringify(pattern)} to search ${path} within ${budgetMs / 1000} s, but it was still backtracking: ` +
      'search for a fixed string (fixedStrings, -F), simplify the nested repetition, or use the ripgrep engine (grep.engine: "ripgrep"), which runs in linear time',
    { path: 'pattern' },
  );
}

/** A code point as a source fragment that is literal both inside and outside a `v`-mode class. */
function literalSource(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || (cp > 0x7f && cp !== 0x2028 && cp !== 0x2029)) {
    return String.fromCodePoint(cp);
  }
  return `\\u{${cp.toString(16)}}`;
}

/** Rust property names (`L`, `Greek`, `sc=Greek`, `^Greek`) as a JavaScript `\p{…}` body. */
function propertyName(pattern: string, raw: string, at: number): { name: string; negated: boolean } {
  let name = raw.trim();
  let negated = false;
  if (name.startsWith('^')) {
    negated = true;
    name = name.slice(1);
  }
  const eq = name.search(/[=:]/);
  const candidates: string[] = [];
  if (eq >= 0) {
    const key = name
      .slice(0, eq)
      .trim()
      .toLowerCase()
      .replace(/[\s_-]/g, '');
    const value = name.slice(eq + 1).trim();
    const keys: Record<string, string> = { sc: 'Script', script: 'Script', scx: 'Script_Extensions', scriptextensions: 'Script_Extensions', gc: 'General_Category', generalcategory: 'General_Category' };
    const full = keys[key];
    if (full !== undefined) candidates.push(`${full}=${value}`);
  } else {
    candidates.push(name, `General_Category=${name}`, `Script=${name}`, name.replace(/\s+/g, '_'));
  }
  for (const candidate of candidates) {
    try {
      new RegExp(`\\p{${candidate}}`, 'v');
      return { name: candidate, negated };
    } catch {
      // Try the next spelling.
    }
  }
  throw invalid(pattern, `unknown Unicode property ${JSON.stringify(raw)}`, at);
}

interface Escape {
  /** A single code point, when the escape is one. */
  cp?: number;
  /** A class operand (`\d`, `\p{L}`), usable inside a `v`-mode class. */
  operand?: string;
  /** A zero-width assertion or other atom valid only outside classes. */
  atom?: string;
  end: number;
}

/**
 * Translates a ripgrep pattern (Rust `regex` syntax) into a line-confined JavaScript source.
 * One pass over the code points; classes are parsed into their operands.
 */
class Translator {
  readonly #pattern: string;
  readonly #chars: string[];
  #pos = 0;
  #out = '';
  /** The ASCII translation, piece by piece (see `ascii-pattern.ts`). */
  readonly ascii: AsciiPiece[] = [];
  /** `^`, `$`, `\A` or `\z` appear. */
  anchored = false;
  /** JavaScript syntax ripgrep refuses, if any (see {@link MatcherSpec.builtinOnly}). */
  builtinOnly: string | undefined;
  /** Every literal code point seen, for smart case and literal detection. */
  readonly literals: number[] = [];
  /** Whether anything but a plain literal code point was emitted. */
  onlyLiterals = true;
  leadingIgnoreCase = false;
  /** Offsets into the pattern of each code point (for error messages). */
  readonly #offsets: number[];
  /** Group nesting; literals are only tracked outside groups. */
  #depth = 0;
  /** A `|` outside groups: no literal is required of every match. */
  #alternation = false;
  /** The literal run being read outside groups, and the longest one closed so far. */
  #run: number[] = [];
  #best: number[] = [];
  #lastWasLiteral = false;
  #afterQuantifier = false;

  constructor(pattern: string) {
    this.#pattern = pattern;
    this.#chars = [];
    this.#offsets = [];
    let offset = 0;
    for (const ch of pattern) {
      this.#chars.push(ch);
      this.#offsets.push(offset);
      offset += ch.length;
    }
  }

  translate(): string {
    if (this.#peekString('(?i)')) {
      this.leadingIgnoreCase = true;
      this.onlyLiterals = false;
      this.#pos += 4;
    }
    while (this.#pos < this.#chars.length) this.#atom();
    return this.#out;
  }

  #at(index = this.#pos): number {
    return this.#offsets[index] ?? this.#pattern.length;
  }

  #peek(ahead = 0): string | undefined {
    return this.#chars[this.#pos + ahead];
  }

  #peekString(text: string): boolean {
    const chars = [...text];
    return chars.every((ch, i) => this.#chars[this.#pos + i] === ch);
  }

  #emit(source: string, literal = false): void {
    this.#out += source;
    if (!literal) this.onlyLiterals = false;
    this.ascii.push(this.#asciiPiece(source));
  }

  /** What `source` (an exact piece) becomes on ASCII text. */
  #asciiPiece(source: string): AsciiPiece {
    switch (source) {
      case LINE_START:
        this.anchored = true;
        return '^';
      case LINE_END:
        this.anchored = true;
        return '$';
      case BOUNDARY:
        return '\\b';
      case NOT_BOUNDARY:
        return '\\B';
    }
    // A character class (`.`, `\w`, `[…]`): its ASCII members.
    return source.startsWith('[') ? { probe: source } : source;
  }

  /**
   * The longest run of literal characters outside groups that every match contains (the
   * start of what ripgrep calls literal extraction), or undefined when there is none.
   */
  get requiredLiteral(): number[] | undefined {
    this.#closeRun();
    return this.#alternation || this.#best.length === 0 ? undefined : this.#best;
  }

  #closeRun(): void {
    const bytes = (cps: number[]) => Buffer.byteLength(fromCodePoints(cps));
    if (this.#run.length > 0 && bytes(this.#run) > bytes(this.#best)) this.#best = this.#run;
    this.#run = [];
  }

  #literalAtom(cp: number): void {
    this.literals.push(cp);
    this.#emit(literalSource(cp), true);
    this.ascii[this.ascii.length - 1] = { probe: literalSource(cp), cp };
    if (this.#depth === 0) this.#run.push(cp);
    this.#lastWasLiteral = true;
    this.#afterQuantifier = false;
  }

  #otherAtom(source: string): void {
    this.#emit(source);
    this.#closeRun();
    this.#lastWasLiteral = false;
    this.#afterQuantifier = false;
  }

  /**
   * `\b` at `start`, in its cheapest exact form. The general form tries two lookarounds over
   * the Unicode word class at every position, which V8 cannot skip ahead of: on a line of a
   * megabyte with a few non-ASCII characters (minified sources), `\b(describe|it|test)\s*\(`
   * took 680 ms where `(?<!W)(describe|it|test)\s*\(` took 12 ms. When the pattern certainly
   * has a word character right after the `\b`, a boundary there is "no word character
   * before" (one lookbehind); when it certainly had one right before, "no word character
   * after". Case folding keeps a word character a word character (K and the Kelvin sign, s
   * and the long s are letters alike), so this holds with `(?i)` too. The ASCII translation
   * keeps its `\b`.
   */
  #boundary(start: number): void {
    let source = BOUNDARY;
    if (wordAfter(this.#chars, this.#pos)) source = `(?:(?<!${WORD_CLASS}))`;
    else if ((this.#lastWasLiteral && !this.#afterQuantifier && isAsciiWord(this.literals.at(-1))) || groupOfWords(this.#chars, start)) source = `(?:(?!${WORD_CLASS}))`;
    this.#otherAtom(source);
    this.ascii[this.ascii.length - 1] = '\\b';
  }

  /** A quantifier with a minimum of `min` repetitions of the atom before it. */
  #quantifier(source: string, min: number): void {
    this.#emit(source);
    // A `?` right after a quantifier makes it lazy: it quantifies nothing new.
    if (this.#afterQuantifier) return;
    if (this.#lastWasLiteral && this.#depth === 0 && min === 0) this.#run.pop();
    this.#closeRun();
    this.#lastWasLiteral = false;
    this.#afterQuantifier = true;
  }

  #atom(): void {
    const ch = this.#chars[this.#pos]!;
    switch (ch) {
      case '\\': {
        const start = this.#pos;
        const parsed = this.#escape(false);
        this.#pos = parsed.end;
        if (parsed.atom === BOUNDARY) this.#boundary(start);
        else if (parsed.cp !== undefined) this.#literalAtom(parsed.cp);
        else if (parsed.operand !== undefined) this.#otherAtom(`[${parsed.operand}--[${EXCLUDED}]]`);
        else this.#otherAtom(parsed.atom!);
        return;
      }
      case '.':
        this.#pos++;
        this.#otherAtom(DOT);
        return;
      case '^':
        this.#pos++;
        this.#otherAtom(LINE_START);
        return;
      case '$':
        this.#pos++;
        this.#otherAtom(LINE_END);
        return;
      case '[': {
        const operand = this.#class();
        this.#otherAtom(`[${operand}--[${EXCLUDED}]]`);
        return;
      }
      case '(':
        this.#group();
        return;
      case ')':
        this.#pos++;
        this.#depth--;
        this.#otherAtom(ch);
        return;
      case '|':
        this.#pos++;
        if (this.#depth === 0) this.#alternation = true;
        this.#otherAtom(ch);
        return;
      case '*':
      case '?':
        this.#pos++;
        this.#quantifier(ch, 0);
        return;
      case '+':
        this.#pos++;
        this.#quantifier(ch, 1);
        return;
      case '{': {
        const rest = this.#chars.slice(this.#pos).join('');
        const repetition = /^\{(\d+)(,(\d*))?\}/.exec(rest);
        if (repetition === null) throw invalid(this.#pattern, 'expected a repetition like {2}, {2,} or {2,5} after "{"', this.#at());
        this.#pos += repetition[0].length;
        this.#quantifier(repetition[0], Number(repetition[1]));
        return;
      }
      case '\n':
        throw invalid(this.#pattern, 'a line feed is not allowed: matches never cross lines (ripgrep refuses it too)', this.#at());
      default:
        this.#pos++;
        this.#literalAtom(ch.codePointAt(0)!);
    }
  }

  #group(): void {
    const start = this.#at();
    if (this.#peek(1) !== '?') {
      this.#pos++;
      this.#open('(');
      return;
    }
    const rest = this.#chars.slice(this.#pos).join('');
    const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named !== null) {
      this.#pos += [...named[0]].length;
      this.#open(`(?<${named[1]}>`);
      return;
    }
    const look = /^\(\?(?:[:=!]|<[=!])/.exec(rest);
    if (look !== null) {
      if (look[0] !== '(?:') this.builtinOnly ??= 'lookaround';
      this.#pos += look[0].length;
      this.#open(look[0]);
      return;
    }
    const flags = /^\(\?([a-zA-Z-]*)([:)])/.exec(rest);
    if (flags === null) throw invalid(this.#pattern, 'unknown group syntax after "(?"', start);
    const set = flags[1]!;
    if (/^[smu]*$/.test(set)) {
      // (?s) and (?m) change nothing: matches are confined to a line and ^ $ are line anchors
      // already; (?u) is the default.
      this.#pos += flags[0].length;
      if (flags[2] === ':') this.#open('(?:');
      return;
    }
    throw invalid(this.#pattern, `inline flags (?${set}) are not supported here (only a leading (?i)); use the ignoreCase option instead`, start);
  }

  #open(source: string): void {
    this.#otherAtom(source);
    this.#depth++;
  }

  /** Reads `{hex}` or a fixed number of hex digits after `\x`, `\u` or `\U`. */
  #hex(fixed: number): { cp: number; end: number } {
    let pos = this.#pos + 2;
    let digits = '';
    if (this.#chars[pos] === '{') {
      pos++;
      while (pos < this.#chars.length && this.#chars[pos] !== '}') digits += this.#chars[pos++];
      if (this.#chars[pos] !== '}') throw invalid(this.#pattern, 'unclosed "{" in a hexadecimal escape', this.#at());
      pos++;
    } else {
      for (let i = 0; i < fixed; i++) digits += this.#chars[pos++] ?? '';
    }
    if (!/^[0-9a-fA-F]{1,8}$/.test(digits)) throw invalid(this.#pattern, `expected hexadecimal digits in an escape, got ${JSON.stringify(digits)}`, this.#at());
    const cp = Number.parseInt(digits, 16);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw invalid(this.#pattern, `\\x{${digits}} is not a Unicode scalar value`, this.#at());
    return { cp, end: pos };
  }

  /** Reads the escape at the current position (which holds the backslash). */
  #escape(inClass: boolean): Escape {
    const next = this.#chars[this.#pos + 1];
    const end = this.#pos + 2;
    if (next === undefined) throw invalid(this.#pattern, 'trailing backslash', this.#at());
    if (next in PERL_OPERANDS) return { operand: PERL_OPERANDS[next]!, end };
    if (next in SIMPLE_ESCAPES) return { cp: SIMPLE_ESCAPES[next]!, end };
    switch (next) {
      case 'n':
        if (inClass) return { cp: 0x0a, end };
        throw invalid(this.#pattern, 'a line feed (\\n) is not allowed: matches never cross lines (ripgrep refuses it too)', this.#at());
      case 'x':
        return this.#hex(2);
      case 'u':
        return this.#hex(4);
      case 'U':
        return this.#hex(8);
      case 'p':
      case 'P': {
        let raw: string;
        let stop: number;
        if (this.#chars[end] === '{') {
          const close = this.#chars.indexOf('}', end);
          if (close < 0) throw invalid(this.#pattern, 'unclosed "{" in a Unicode property', this.#at());
          raw = this.#chars.slice(end + 1, close).join('');
          stop = close + 1;
        } else {
          raw = this.#chars[end] ?? '';
          stop = end + 1;
          if (raw === '') throw invalid(this.#pattern, 'expected a property name after \\p', this.#at());
        }
        const { name, negated } = propertyName(this.#pattern, raw, this.#at());
        const upper = (next === 'P') !== negated;
        return { operand: `\\${upper ? 'P' : 'p'}{${name}}`, end: stop };
      }
    }
    if (inClass) {
      if (next === 'b') return { cp: 0x08, end };
    } else {
      switch (next) {
        case 'b':
          return { atom: BOUNDARY, end };
        case 'B':
          return { atom: NOT_BOUNDARY, end };
        case 'A':
          return { atom: LINE_START, end };
        case 'z':
          return { atom: LINE_END, end };
        case 'k': {
          const name = /^\\k<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.#chars.slice(this.#pos).join(''));
          if (name === null) throw invalid(this.#pattern, 'expected \\k<name>', this.#at());
          this.builtinOnly ??= 'a backreference';
          return { atom: name[0], end: this.#pos + [...name[0]].length };
        }
      }
      if (next >= '1' && next <= '9') {
        this.builtinOnly ??= 'a backreference';
        let stop = end;
        while (stop < this.#chars.length && /[0-9]/.test(this.#chars[stop]!)) stop++;
        return { atom: `\\${this.#chars.slice(this.#pos + 1, stop).join('')}`, end: stop };
      }
    }
    const cp = next.codePointAt(0)!;
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(next)) return { cp, end };
    throw invalid(this.#pattern, `unknown escape \\${next}`, this.#at());
  }

  /**
   * Parses a class at `[` and returns it as one `v`-mode class operand. Rust's precedence:
   * ranges, then union, then the set operators, left to right.
   */
  #class(): string {
    const open = this.#at();
    this.#pos++;
    let negated = false;
    if (this.#peek() === '^') {
      negated = true;
      this.#pos++;
    }
    const segments: string[][] = [[]];
    const operators: string[] = [];
    let first = true;
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined) throw invalid(this.#pattern, 'unclosed character class', open);
      if (ch === ']' && !first) {
        this.#pos++;
        break;
      }
      first = false;
      const items = segments.at(-1)!;
      const pair = ch + (this.#peek(1) ?? '');
      if ((pair === '&&' || pair === '--' || pair === '~~') && this.#peek(2) !== undefined) {
        this.#pos += 2;
        operators.push(pair);
        segments.push([]);
        continue;
      }
      if (ch === '[' && this.#peek(1) === ':') {
        const rest = this.#chars.slice(this.#pos).join('');
        const posix = /^\[:(\^)?([a-z]+):\]/.exec(rest);
        if (posix !== null) {
          const body = POSIX[posix[2]!];
          if (body === undefined) throw invalid(this.#pattern, `unknown POSIX class [:${posix[2]}:]`, this.#at());
          this.#pos += posix[0].length;
          items.push(posix[1] === undefined ? `[${body}]` : `[^${body}]`);
          continue;
        }
      }
      if (ch === '[') {
        items.push(this.#class());
        continue;
      }
      const low = this.#classChar();
      if (low.operand !== undefined) {
        items.push(low.operand);
        continue;
      }
      if (this.#peek() === '-' && this.#peek(1) !== ']' && this.#peek(1) !== undefined && this.#peek(1) !== '-') {
        this.#pos++;
        const high = this.#classChar();
        if (high.cp === undefined) throw invalid(this.#pattern, 'a class range must end with a single character', this.#at());
        if (high.cp < low.cp!) throw invalid(this.#pattern, 'a class range must not be decreasing', this.#at());
        this.literals.push(low.cp!, high.cp);
        items.push(`${literalSource(low.cp!)}-${literalSource(high.cp)}`);
        continue;
      }
      this.literals.push(low.cp!);
      items.push(literalSource(low.cp!));
    }
    this.onlyLiterals = false;
    let result = `[${segments[0]!.join('')}]`;
    operators.forEach((operator, i) => {
      const right = `[${segments[i + 1]!.join('')}]`;
      if (operator === '&&') result = `[${result}&&${right}]`;
      else if (operator === '--') result = `[${result}--${right}]`;
      else result = `[[${result}--${right}][${right}--${result}]]`;
    });
    return negated ? `[^${result}]` : result;
  }

  /** One character (or class escape) inside a class. */
  #classChar(): { cp?: number; operand?: string } {
    const ch = this.#peek()!;
    if (ch === '\\') {
      const parsed = this.#escape(true);
      this.#pos = parsed.end;
      if (parsed.cp !== undefined) return { cp: parsed.cp };
      return { operand: parsed.operand! };
    }
    this.#pos++;
    return { cp: ch.codePointAt(0)! };
  }
}

function hasUpperCase(cps: readonly number[]): boolean {
  return cps.some((cp) => {
    const ch = String.fromCodePoint(cp);
    return ch !== ch.toLowerCase();
  });
}

/**
 * Compiles a grep pattern into what the engine runs. Throws `FANOUT_PATTERN_INVALID`
 * (naming `pattern`) for a pattern ripgrep would refuse or JavaScript cannot express.
 *
 * @example
 * compilePattern('interface\\s+\\w+', { fixedStrings: false, ignoreCase: true, smartCase: false, word: false });
 */
export function compilePattern(pattern: string, options: PatternOptions): MatcherSpec {
  if (pattern.includes('\n')) throw invalid(pattern, 'a line feed is not allowed: matches never cross lines (ripgrep refuses it too)');
  let source: string;
  let literals: number[];
  let onlyLiterals: boolean;
  let required: number[] | undefined;
  let pieces: AsciiPiece[];
  let anchored = false;
  let builtinOnly: string | undefined;
  let ignoreCase = options.ignoreCase;
  if (options.fixedStrings) {
    literals = [...pattern].map((ch) => ch.codePointAt(0)!);
    source = literals.map(literalSource).join('');
    onlyLiterals = true;
    required = literals;
    pieces = literals.map((cp) => ({ probe: literalSource(cp), cp }));
  } else {
    const translator = new Translator(pattern);
    source = translator.translate();
    literals = translator.literals;
    onlyLiterals = translator.onlyLiterals;
    required = translator.requiredLiteral;
    pieces = translator.ascii;
    anchored = translator.anchored;
    builtinOnly = translator.builtinOnly;
    if (translator.leadingIgnoreCase) ignoreCase = true;
  }
  if (!ignoreCase && options.smartCase && literals.length > 0 && !hasUpperCase(literals)) ignoreCase = true;
  // ripgrep 13 wraps the pattern as `(?:^|\W)(?:…)(?:$|\W)`: the neighbour must be a line end
  // or a valid non-word character, so an invalid byte next to a match also rules it out.
  if (options.word) source = `(?<![${WORD}${INVALID}])(?:${source})(?![${WORD}${INVALID}])`;
  const flags = ignoreCase ? 'gvi' : 'gv';
  try {
    new RegExp(source, flags);
  } catch (error) {
    throw invalid(pattern, (error as Error).message.replace(/^Invalid regular expression: /, ''));
  }
  const extra: Pick<MatcherSpec, 'builtinOnly' | 'anyOf'> = builtinOnly === undefined ? {} : { builtinOnly };
  const literal = onlyLiterals && !ignoreCase && !options.word && literals.length > 0 ? fromCodePoints(literals) : undefined;
  if (literal !== undefined) return { literal, source, flags, ...extra };
  const ascii = asciiSource(pieces, ignoreCase, anchored);
  if (options.word) ascii.source = asciiWord(ascii.source);
  const prefilter = prefilterOf(required, ignoreCase);
  const anyOf = ignoreCase || options.fixedStrings ? undefined : requiredLiterals(pattern);
  if (anyOf !== undefined) extra.anyOf = anyOf;
  return prefilter === undefined ? { source, flags, ascii, ...extra } : { source, flags, prefilter, ascii, ...extra };
}

/** The string of `cps` (no spread: a pattern of 200,000 characters must not overflow the stack). */
function fromCodePoints(cps: readonly number[]): string {
  let text = '';
  for (const cp of cps) text += String.fromCodePoint(cp);
  return text;
}

/**
 * The literal worth looking for first: at least 3 bytes (shorter ones are on too many lines to
 * save anything) and, when case-insensitive, ASCII without `k` or `s`: their Unicode
 * case-fold partners (U+212A KELVIN SIGN, U+017F LONG S) are the only non-ASCII characters
 * that fold to ASCII letters, and a prefilter on ASCII must not miss one.
 */
function prefilterOf(required: number[] | undefined, ignoreCase: boolean): MatcherSpec['prefilter'] {
  if (required === undefined) return undefined;
  const literal = fromCodePoints(required);
  if (Buffer.byteLength(literal) < 3) return undefined;
  if (ignoreCase && (!/^[\x00-\x7f]*$/.test(literal) || /[ks]/i.test(literal))) return undefined;
  return { literal, ignoreCase };
}

function isAsciiWord(cp: number | string | undefined): boolean {
  const code = typeof cp === 'string' ? cp.codePointAt(0) : cp;
  return code !== undefined && ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f);
}

/** A group of plain words only: `(TODO|FIXME)`, `(?:a|b_2)`. */
const WORDS_GROUP = /^\((?:\?:)?[0-9A-Z_a-z]+(?:\|[0-9A-Z_a-z]+)*\)$/;

/** Can `chars[at]` (a pattern's raw characters) be a repetition that allows none of what comes before it? */
function optional(chars: readonly string[], at: number): boolean {
  return chars[at] === '?' || chars[at] === '*' || (chars[at] === '{' && chars[at + 1] === '0');
}

/**
 * Does every match of the pattern from `at` on start with a word character: an ASCII word
 * character written as is (not made optional), or a group of plain words (not made optional)?
 */
function wordAfter(chars: readonly string[], at: number): boolean {
  if (isAsciiWord(chars[at])) return !optional(chars, at + 1);
  if (chars[at] !== '(') return false;
  const close = chars.indexOf(')', at);
  return close !== -1 && WORDS_GROUP.test(chars.slice(at, close + 1).join('')) && !optional(chars, close + 1);
}

/** Does the pattern right before `end` close a group of plain words (so every match of it ends with a word character)? */
function groupOfWords(chars: readonly string[], end: number): boolean {
  if (chars[end - 1] !== ')') return false;
  const open = chars.lastIndexOf('(', end - 1);
  // An escaped parenthesis is no group's ('\\(' is left alone: WORDS_GROUP refuses a backslash anyway).
  return open !== -1 && (open === 0 || chars[open - 1] !== '\\') && WORDS_GROUP.test(chars.slice(open, end).join(''));
}
