/**
 * A set of literals of which every match of a pattern holds one: `process\.env\b|os\.environ`
 * needs `process.env` or `os.environ`; `\b(TODO|FIXME)\b` needs `TODO` or `FIXME`. A file
 * holding none of them cannot match, so the search skips it after a few `Buffer.indexOf`
 * scans (native, memchr-fast) instead of running the expression over every line, which is
 * most of a sparse search's cost on a large tree (the `configuration` search of
 * explore-codebase over babel's 40 MB: ~0.5 s of regular expression, ~0.03 s of `indexOf`).
 *
 * The pattern's own text is read (ripgrep syntax), conservatively: anything not understood
 * here (inline flags, named groups, `\p{…}`, `\x…`, nested classes…) gives no set, and the
 * search runs as before. Only case-sensitive ASCII literals of 3 bytes or more are kept: on
 * UTF-8 (every buffer searched is UTF-8 once `withoutBom` has transcoded UTF-16), an ASCII
 * character of a match is that byte in the file, and shorter literals are in nearly every file.
 */

/** Literals of which each match holds one; undefined when a match may hold none of them. */
type Need = readonly string[] | undefined;

/** Most literals a set may hold: each costs one scan of the file. */
const MAX_LITERALS = 8;
/** Shortest literal worth a scan. */
const MIN_LITERAL = 3;

/** Escapes of one character that match no fixed character (classes and assertions). */
const CLASS_ESCAPES = new Set(['s', 'S', 'w', 'W', 'd', 'D']);
const ASSERTION_ESCAPES = new Set(['b', 'B', 'A', 'z']);

class GiveUp extends Error {}

/**
 * The literals of which every match of `pattern` holds one, or undefined (none found, not
 * worth it, or syntax not understood here).
 *
 * @example
 * requiredLiterals(String.raw`process\.env\b|\bgetenv\s*\(`); // ['process.env', 'getenv']
 */
export function requiredLiterals(pattern: string): string[] | undefined {
  try {
    const parser = new Parser(pattern);
    const need = parser.alternation();
    if (parser.at < pattern.length) return undefined;
    if (need === undefined || need.length === 0 || need.length > MAX_LITERALS) return undefined;
    if (need.some((literal) => literal.length < MIN_LITERAL || !/^[\x20-\x7e]+$/.test(literal))) return undefined;
    return [...new Set(need)];
  } catch (error) {
    if (error instanceof GiveUp) return undefined;
    throw error;
  }
}

class Parser {
  at = 0;
  readonly #p: string;

  constructor(pattern: string) {
    this.#p = pattern;
  }

  /** `seq ('|' seq)*` up to `)` or the end: the union of the alternatives' sets. */
  alternation(): Need {
    const union: string[] = [];
    let defined = true;
    for (;;) {
      const need = this.#sequence();
      if (need === undefined) defined = false;
      else union.push(...need);
      if (this.#p[this.at] !== '|') break;
      this.at++;
    }
    return defined ? union : undefined;
  }

  /** Items up to `|`, `)` or the end: the best set one of them needs (the longest shortest literal). */
  #sequence(): Need {
    const p = this.#p;
    const candidates: (readonly string[])[] = [];
    let run = '';
    const endRun = (): void => {
      if (run !== '') candidates.push([run]);
      run = '';
    };
    while (this.at < p.length && p[this.at] !== '|' && p[this.at] !== ')') {
      const ch = p[this.at]!;
      if (ch === '(') {
        endRun();
        this.at++;
        if (p[this.at] === '?') {
          if (p[this.at + 1] !== ':') throw new GiveUp();
          this.at += 2;
        }
        const inner = this.alternation();
        if (p[this.at] !== ')') throw new GiveUp();
        this.at++;
        // A quantified group may be absent or repeated: it needs nothing for sure.
        if (!this.#quantifier() && inner !== undefined) candidates.push(inner);
        continue;
      }
      if (ch === '^' || ch === '$') {
        endRun();
        this.at++;
        continue;
      }
      let literal: string | undefined;
      if (ch === '\\') {
        const next = p[this.at + 1];
        if (next === undefined) throw new GiveUp();
        if (ASSERTION_ESCAPES.has(next)) {
          endRun();
          this.at += 2;
          continue;
        }
        if (CLASS_ESCAPES.has(next)) literal = undefined;
        else if (/[!-/:-@[-`{-~]/.test(next)) literal = next;
        else throw new GiveUp();
        this.at += 2;
      } else if (ch === '[') {
        this.#skipClass();
        literal = undefined;
      } else if (ch === '.') {
        this.at++;
        literal = undefined;
      } else if (ch === '*' || ch === '+' || ch === '?' || ch === '{' || ch === '}' || ch === ']') {
        throw new GiveUp();
      } else {
        this.at++;
        literal = ch;
      }
      if (this.#quantifier() || literal === undefined) endRun();
      else run += literal;
    }
    endRun();
    let best: readonly string[] | undefined;
    let bestMin = 0;
    for (const candidate of candidates) {
      const min = Math.min(...candidate.map((literal) => literal.length));
      if (min > bestMin || (min === bestMin && best !== undefined && candidate.length < best.length)) {
        best = candidate;
        bestMin = min;
      }
    }
    return best;
  }

  /** Consumes a quantifier (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, lazy or not) if one follows; true when it did. */
  #quantifier(): boolean {
    const p = this.#p;
    const ch = p[this.at];
    if (ch === '*' || ch === '+' || ch === '?') {
      this.at++;
    } else if (ch === '{') {
      const match = /^\{\d+(,\d*)?\}/.exec(p.slice(this.at, this.at + 24));
      if (match === null) throw new GiveUp();
      this.at += match[0].length;
    } else {
      return false;
    }
    if (p[this.at] === '?') this.at++;
    if (p[this.at] === '*' || p[this.at] === '+' || p[this.at] === '{') throw new GiveUp();
    return true;
  }

  /** Skips a bracket class `[…]`; gives up on nested classes and POSIX names. */
  #skipClass(): void {
    const p = this.#p;
    let i = this.at + 1;
    if (p[i] === '^') i++;
    if (p[i] === ']') i++;
    for (; i < p.length; i++) {
      const ch = p[i];
      if (ch === '\\') {
        i++;
        continue;
      }
      if (ch === '[') throw new GiveUp();
      if (ch === ']') {
        this.at = i + 1;
        return;
      }
    }
    throw new GiveUp();
  }
}
