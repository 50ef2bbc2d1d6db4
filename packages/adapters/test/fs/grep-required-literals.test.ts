import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePattern, type PatternOptions } from '../../src/fs/grep/pattern.js';
import { requiredLiterals } from '../../src/fs/grep/required-literals.js';
import { compileMatcher, searchBuffer } from '../../src/fs/grep/search.js';

const PLAIN: PatternOptions = { fixedStrings: false, ignoreCase: false, smartCase: false, word: false };
const LIMITS = { maxLines: Number.POSITIVE_INFINITY, before: 0, after: 0, lineMatches: false };

describe('requiredLiterals', () => {
  it('finds, per alternative, a literal every match holds', () => {
    expect(requiredLiterals(String.raw`process\.env\b|os\.environ|\bgetenv\s*\(|import\.meta\.env\b`)).toEqual(['process.env', 'os.environ', 'getenv', 'import.meta.env']);
    expect(requiredLiterals(String.raw`\b(TODO|FIXME|HACK|XXX)\b`)).toEqual(['TODO', 'FIXME', 'HACK', 'XXX']);
    expect(requiredLiterals(String.raw`^\s*(?:export|module\.exports)\b`)).toEqual(['export', 'module.exports']);
    // The longest shortest literal of a sequence is chosen.
    expect(requiredLiterals(String.raw`fn\s+main\s*\(`)).toEqual(['main']);
    expect(requiredLiterals(String.raw`interface\s+\w+`)).toEqual(['interface']);
    expect(requiredLiterals(String.raw`^pub(\([^)]*\))?\s+fn\b`)).toEqual(['pub']);
  });

  it('drops what a quantifier makes optional', () => {
    expect(requiredLiterals('abcd?')).toEqual(['abc']);
    expect(requiredLiterals('(?:foo)?barx')).toEqual(['barx']);
    expect(requiredLiterals('(?:foo)+x')).toBeUndefined();
    expect(requiredLiterals('abc{0,2}de')).toBeUndefined();
    expect(requiredLiterals('abcde*?fgh')).toEqual(['abcd']);
  });

  it('gives no set when a match may hold none, a literal is short, or the syntax is not understood', () => {
    for (const pattern of [
      '',
      'foo|',
      String.raw`\w+`,
      String.raw`\b(describe|it|test)\s*\(`,
      '(?i)foobar',
      '(?P<x>foobar)',
      String.raw`\p{L}foobar`,
      String.raw`\x41foobar`,
      '[[:alpha:]]foobar',
      'foo)bar',
      'a{x}bcdef',
      'héllo',
      'a|b|c|d|e|f|g|h|i',
    ]) {
      expect(requiredLiterals(pattern), pattern).toBeUndefined();
    }
  });

  it('never rules out a line the expression matches (property)', () => {
    const pieces = ['foo', 'bar', 'baz', '(', ')', '|', '?', '*', '+', '.', String.raw`\s`, String.raw`\b`, String.raw`\.`, '[a-z]', '[^)]', '^', '$', '(?:', '{1,2}', 'x'];
    const words = ['foo', 'bar', 'baz', 'foobar', ' ', '.', ')', '(', 'x', 'xx', 'z', '\t'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }), fc.array(fc.constantFrom(...words), { maxLength: 12 }), (parts, text) => {
        const pattern = parts.join('');
        let matcher: ReturnType<typeof compileMatcher>;
        try {
          const { anyOf: _anyOf, ...spec } = compilePattern(pattern, PLAIN);
          matcher = compileMatcher(spec);
        } catch {
          return; // not a valid pattern
        }
        const line = text.join('');
        const found = searchBuffer(Buffer.from(`${line}\n`), matcher, 'count', LIMITS, { text: '' }).matchedLines;
        const literals = requiredLiterals(pattern);
        if (found > 0 && literals !== undefined)
          expect(
            literals.some((literal) => line.includes(literal)),
            `${pattern} on ${JSON.stringify(line)}`,
          ).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('is on the compiled pattern only when the search is case-sensitive and a regular expression', () => {
    expect(compilePattern(String.raw`\bTODO\b|FIXME`, PLAIN).anyOf).toEqual(['TODO', 'FIXME']);
    expect(compilePattern(String.raw`\bTODO\b|FIXME`, { ...PLAIN, ignoreCase: true }).anyOf).toBeUndefined();
    expect(compilePattern(String.raw`\btodo\b|fixme`, { ...PLAIN, smartCase: true }).anyOf).toBeUndefined();
  });
});
