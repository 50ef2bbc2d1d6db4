import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeView } from '../../src/fs/grep/decode.js';
import { LiteralFinder } from '../../src/fs/grep/literal-finder.js';
import type { RipgrepMatch } from '../../src/fs/grep/messages.js';
import { compilePattern, type PatternOptions } from '../../src/fs/grep/pattern.js';
import { compileMatcher, searchBuffer, type Matcher, type SearchMode } from '../../src/fs/grep/search.js';

const PLAIN: PatternOptions = { fixedStrings: false, ignoreCase: false, smartCase: false, word: false };
const LIMITS = { maxLines: Number.POSITIVE_INFINITY, before: 0, after: 0, lineMatches: false };
const PATH = { text: '/t' };

function regex(pattern: string, options: Partial<PatternOptions> = {}): RegExp {
  const spec = compilePattern(pattern, { ...PLAIN, ...options });
  return new RegExp(spec.source, spec.flags.replace('g', ''));
}

function lines(matcher: Matcher, text: string | Buffer, mode: SearchMode = 'content') {
  return searchBuffer(Buffer.from(text), matcher, mode, LIMITS, PATH);
}

describe('pattern: ripgrep syntax in a JavaScript engine', () => {
  it('finds plain literals and escaped metacharacters, for a byte search', () => {
    expect(compilePattern('function', PLAIN).literal).toBe('function');
    expect(compilePattern('foo\\.bar\\(\\)', PLAIN).literal).toBe('foo.bar()');
    expect(compilePattern('a.b', { ...PLAIN, fixedStrings: true }).literal).toBe('a.b');
    expect(compilePattern('héllo', PLAIN).literal).toBe('héllo');
    expect(compilePattern('foo', { ...PLAIN, ignoreCase: true }).literal).toBeUndefined();
    expect(compilePattern('foo', { ...PLAIN, word: true }).literal).toBeUndefined();
    expect(compilePattern('fo+', PLAIN).literal).toBeUndefined();
    expect(compilePattern('', PLAIN).literal).toBeUndefined();
  });

  it('gives \\w \\d \\s \\b their Unicode meaning, as the Rust regex crate does', () => {
    expect(regex('^\\w+$').test('été_ǅ9')).toBe(true);
    expect(regex('^\\d$').test('٣')).toBe(true);
    expect(regex('^\\s$').test('\u00a0')).toBe(true);
    expect(regex('^\\s$').test('\u0085')).toBe(true);
    expect(regex('\\s').test('\ufeff')).toBe(false);
    expect(regex('\\bété\\b').test('un été chaud')).toBe(true);
    expect(regex('\\bété\\b').test('étés')).toBe(false);
    expect(regex('a\\Bb').test('ab')).toBe(true);
  });

  it('confines every construct to one line', () => {
    for (const pattern of ['a.b', 'a\\sb', 'a[^x]b', 'a\\Wb', 'a\\Sb', 'a[\\s\\S]b', 'a\\Db', 'a[[:space:]]b', 'a\\P{L}b', 'a(?s:.)b']) {
      expect(regex(pattern).test('a\nb'), pattern).toBe(false);
    }
    expect(regex('^b$').test('a\nb\nc')).toBe(true);
    expect(regex('a$').test('a\r\n')).toBe(false);
    expect(regex('\\Ab\\z').test('a\nb\nc')).toBe(true);
  });

  it('translates Rust-only syntax', () => {
    expect(regex('(?P<x>ab)\\k<x>').test('abab')).toBe(true);
    expect(regex('^\\pL\\p{Greek}\\p{sc=Latin}\\PL$').test('xαb1')).toBe(true);
    expect(regex('\\x{1F600}\\x41\\u00e9\\U0001F600').test('😀Aé😀')).toBe(true);
    expect(regex('^[[:alpha:]]+[[:^alpha:]]$').test('abc1')).toBe(true);
    expect(regex('^[a-z&&[^aeiou]]+$').test('bcd')).toBe(true);
    expect(regex('^[a-z&&[^aeiou]]+$').test('bad')).toBe(false);
    expect(regex('^[a-z--[b-y]]+$').test('az')).toBe(true);
    expect(regex('^[a-c~~b-d]+$').test('ad')).toBe(true);
    expect(regex('^[a-c~~b-d]+$').test('b')).toBe(false);
    expect(regex('^[]a]+$').test(']a')).toBe(true);
    expect(regex('^[a-]+$').test('-a')).toBe(true);
    expect(regex('^\\.\\*\\#\\&\\~\\-$').test('.*#&~-')).toBe(true);
    expect(regex('^[\\w\\-.]+$').test('a-b.c')).toBe(true);
    expect(regex('^a{2,3}$').test('aaa')).toBe(true);
    expect(regex('(?s)a.c').test('abc')).toBe(true);
  });

  it('folds case with Unicode simple case folding', () => {
    expect(regex('kelvin', { ignoreCase: true }).test('\u212Aelvin')).toBe(true);
    expect(regex('ÉTÉ', { ignoreCase: true }).test('été')).toBe(true);
    expect(regex('[^k]', { ignoreCase: true }).test('K')).toBe(false);
    expect(compilePattern('hello', { ...PLAIN, smartCase: true }).flags).toContain('i');
    expect(compilePattern('Hello', { ...PLAIN, smartCase: true }).flags).not.toContain('i');
    expect(compilePattern('\\Whello', { ...PLAIN, smartCase: true }).flags).toContain('i');
  });

  it('refuses what ripgrep refuses or JavaScript cannot express, naming the pattern field', () => {
    for (const pattern of ['a\\nb', 'a\nb', '(?i:x)', '(?x)a', '(?U)a+', '[z-a]', 'a{x}', '\\p{NoSuchProperty}', 'a\\', '[abc', '(a', '*a', '\\q']) {
      expect(() => compilePattern(pattern, PLAIN), pattern).toThrow(expect.objectContaining({ code: 'FANOUT_PATTERN_INVALID', path: 'pattern' }));
    }
  });

  it('extracts a literal every match must contain, for the prefilter', () => {
    const prefilter = (pattern: string, options: Partial<PatternOptions> = {}) => compilePattern(pattern, { ...PLAIN, ...options }).prefilter;
    expect(prefilter('interface\\s+\\w+', { ignoreCase: true })).toEqual({ literal: 'interface', ignoreCase: true });
    expect(prefilter('\\bfoo\\w*')).toEqual({ literal: 'foo', ignoreCase: false });
    expect(prefilter('fooo?bar+baz')).toEqual({ literal: 'foo', ignoreCase: false });
    expect(prefilter('(?:x)yzw(a|b)')).toEqual({ literal: 'yzw', ignoreCase: false });
    expect(prefilter('ab*cdefg{0,2}h')).toEqual({ literal: 'cdef', ignoreCase: false });
    expect(prefilter('été\\d')).toEqual({ literal: 'été', ignoreCase: false });
    expect(prefilter('abc', { word: true })).toEqual({ literal: 'abc', ignoreCase: false });
    expect(prefilter('a.b', { fixedStrings: true, ignoreCase: true })).toEqual({ literal: 'a.b', ignoreCase: true });
    // None: an alternation, too short, or case-insensitive with a letter that folds from non-ASCII.
    expect(prefilter('foo|bar')).toBeUndefined();
    expect(prefilter('ab\\d')).toBeUndefined();
    expect(prefilter('kelvin', { ignoreCase: true })).toBeUndefined();
    expect(prefilter('grass', { ignoreCase: true })).toBeUndefined();
    expect(prefilter('été', { ignoreCase: true })).toBeUndefined();
  });

  it('keeps a word from touching an invalid byte, as ripgrep -w does', () => {
    const word = regex('foo', { word: true });
    expect(word.test('foo\udce9 x')).toBe(false);
    expect(word.test('x foo.')).toBe(true);
  });

  it('escapes any literal so that it matches exactly where indexOf finds it', () => {
    const unit = fc.oneof(
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }).filter((c) => c !== '\n'),
      fc.constantFrom('é', '😀', '\u212A', 'ß', '\u2028', '\\', '[', ']', '-', '^', '$', '{', '}', '|', '/', '&&', '~~', '--', '(?'),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 6, unit }), fc.string({ maxLength: 40, unit }), (needle, hay) => {
        const spec = compilePattern(needle, { ...PLAIN, fixedStrings: true });
        const found = [...hay.matchAll(new RegExp(spec.source, spec.flags))].map((m) => m.index);
        const expected: number[] = [];
        for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + needle.length)) expected.push(at);
        expect(found).toEqual(expected);
      }),
    );
  });
});

describe('decode: string indices back to byte offsets', () => {
  it('maps every index of valid UTF-8 to its byte', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: 'grapheme' }), fc.nat(20), (text, pad) => {
        const buffer = Buffer.concat([Buffer.alloc(pad, 0x61), Buffer.from(text)]);
        const view = decodeView(buffer, pad, buffer.length);
        expect(view.text).toBe(text);
        for (let i = 0; i <= text.length; i++) {
          if (i > 0 && i < text.length && /[\udc00-\udfff]/.test(text[i]!)) continue; // inside a surrogate pair
          expect(view.byteAt(i)).toBe(pad + Buffer.byteLength(text.slice(0, i)));
        }
      }),
    );
  });

  it('escapes each invalid byte to a lone surrogate and keeps the offsets', () => {
    const buffer = Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x82, 0x62, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80]);
    const view = decodeView(buffer, 0, buffer.length);
    expect([...view.text].map((c) => c.codePointAt(0)!.toString(16))).toEqual(['61', 'dcff', 'e9', 'dce2', 'dc82', '62', '1f600', 'dced', 'dca0', 'dc80']);
    expect([0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11].map((i) => view.byteAt(i))).toEqual([0, 1, 2, 4, 5, 6, 7, 11, 12, 13, 14]);
  });
});

describe('literal finder', () => {
  it('finds exactly what Buffer.indexOf finds, with either strategy', () => {
    const bytes = fc.constantFrom(0x61, 0x62, 0x63, 0x0a, 0xc3, 0xa9, 0x7a);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.array(bytes, { maxLength: 9000 }), fc.nat(9000), (needle, hay, from) => {
        const buffer = Buffer.from(hay);
        const finder = new LiteralFinder(Buffer.from(needle));
        finder.prepare(buffer);
        const start = Math.min(from, buffer.length);
        expect(finder.find(buffer, start)).toBe(buffer.indexOf(Buffer.from(needle), start));
      }),
      { numRuns: 300 },
    );
  });

  it('uses the rare byte where it is rare, and stays exact', () => {
    const hay = Buffer.from(`${'abcabc\n'.repeat(2000)}xyz needle abc\n${'abc\n'.repeat(500)}needle\n`);
    const finder = new LiteralFinder(Buffer.from('needle'));
    finder.prepare(hay);
    const found: number[] = [];
    for (let at = finder.find(hay, 0); at !== -1; at = finder.find(hay, at + 6)) found.push(at);
    expect(found).toEqual([hay.indexOf('needle'), hay.lastIndexOf('needle')]);
  });
});

describe('search: one buffer', () => {
  const text = (n: number) => Array.from({ length: n }, (_, i) => `${i % 7 === 0 ? 'needle ' : ''}line ${i} ${i % 5 === 0 ? 'é' : 'e'} needle?\n`).join('');

  it('finds the same lines, offsets and numbers by bytes and by regular expression, across decode blocks', () => {
    // About 240 KiB: several 64 KiB blocks, some ASCII, some not.
    const buffer = Buffer.from(text(8000));
    const literal = searchBuffer(buffer, compileMatcher({ literal: 'needle', source: 'needle', flags: 'gv' }), 'content', LIMITS, PATH);
    const byRegex = searchBuffer(buffer, compileMatcher({ source: 'needle', flags: 'gv' }), 'content', LIMITS, PATH);
    expect(byRegex.messages).toEqual(literal.messages);
    expect(literal.matchedLines).toBe(8000);
    expect(literal.matches).toBe(8000 + Math.ceil(8000 / 7));
    const last = literal.messages.at(-1) as RipgrepMatch;
    expect(last.data.line_number).toBe(8000);
    expect(last.data.absolute_offset).toBe(buffer.lastIndexOf('\n', buffer.length - 2) + 1);
    for (const mode of ['count', 'files'] as const) {
      const a = searchBuffer(buffer, compileMatcher({ literal: 'needle', source: 'needle', flags: 'gv' }), mode, LIMITS, PATH);
      const b = searchBuffer(buffer, compileMatcher({ source: 'needle', flags: 'gv' }), mode, LIMITS, PATH);
      expect([b.matchedLines, b.matches]).toEqual([a.matchedLines, a.matches]);
    }
  });

  it('agrees between the byte and the regex engines on any text (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', 'ab', '\n', '\r\n', 'é', '😀', ' ', 'ba');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }), fc.constantFrom('a', 'ab', 'é', 'b\r', '😀a'), fc.nat(3), fc.nat(3), (parts, needle, before, after) => {
        const buffer = Buffer.from(parts.join(''));
        const limits = { ...LIMITS, before, after };
        const spec = compilePattern(needle, PLAIN);
        const literal = searchBuffer(buffer, compileMatcher(spec), 'content', limits, PATH);
        const byRegex = searchBuffer(buffer, compileMatcher({ source: spec.source, flags: spec.flags }), 'content', limits, PATH);
        expect(byRegex.messages).toEqual(literal.messages);
        // Offsets and line numbers agree with a plain split of the text.
        const starts = [0];
        for (let i = 0; i < buffer.length; i++) if (buffer[i] === 10 && i + 1 < buffer.length) starts.push(i + 1);
        for (const message of literal.messages) {
          if (message.type !== 'match' && message.type !== 'context') continue;
          expect(starts[message.data.line_number - 1]).toBe(message.data.absolute_offset);
          for (const sub of message.data.submatches) {
            expect(buffer.subarray(message.data.absolute_offset + sub.start, message.data.absolute_offset + sub.end).toString()).toBe(needle);
          }
        }
      }),
    );
  });

  it('finds the same lines with and without the prefilter (property)', () => {
    const alphabet = fc.constantFrom('interface', 'INTERFACE', 'inter face', ' ', '\t', 'x', 'é', '\n', '\r\n', 'foo', 'foobar', '😀', 'Interface\u00a0Foo');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 80 }), fc.constantFrom(['interface\\s+\\w+', true], ['\\bfoo\\w*', false], ['inter(face)?', false]), (parts, [pattern, ignoreCase]) => {
        const buffer = Buffer.from(parts.join(''));
        const spec = compilePattern(pattern as string, { ...PLAIN, ignoreCase: ignoreCase as boolean });
        expect(spec.prefilter).toBeDefined();
        for (const mode of ['content', 'count'] as const) {
          const withPrefilter = searchBuffer(buffer, compileMatcher(spec), mode, LIMITS, PATH);
          const without = searchBuffer(buffer, compileMatcher({ source: spec.source, flags: spec.flags }), mode, LIMITS, PATH);
          expect(withPrefilter).toEqual(without);
        }
      }),
    );
  });

  it('stops at maxLines and says whether it stopped early', () => {
    const matcher = compileMatcher(compilePattern('x', PLAIN));
    const regexMatcher = compileMatcher({ source: 'x', flags: 'gv' });
    for (const m of [matcher, regexMatcher]) {
      for (const mode of ['content', 'count'] as const) {
        const two = searchBuffer(Buffer.from('x\nx x\nx\n'), m, mode, { ...LIMITS, maxLines: 2, lineMatches: true }, PATH);
        expect([two.matchedLines, two.matches, two.limited]).toEqual([2, 3, true]);
        const all = searchBuffer(Buffer.from('x\nx x\nx\n'), m, mode, { ...LIMITS, maxLines: 3, lineMatches: true }, PATH);
        expect([all.matchedLines, all.matches, all.limited]).toEqual([3, 4, false]);
      }
      expect(searchBuffer(Buffer.from('x\nx x\n'), m, 'count', { ...LIMITS, lineMatches: true }, PATH).lineMatches).toEqual([1, 2]);
    }
  });

  it('finds nothing in an empty file and an empty line where the pattern can be empty', () => {
    expect(lines(compileMatcher(compilePattern('', PLAIN)), '').matchedLines).toBe(0);
    expect(lines(compileMatcher(compilePattern('', PLAIN)), '\n').matchedLines).toBe(1);
    expect(lines(compileMatcher(compilePattern('^$', PLAIN)), 'a\n\nb').matchedLines).toBe(1);
  });
});
