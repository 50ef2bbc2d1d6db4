import { createScheduler } from '@fanout/scheduler';
import { flush, ManualClock } from '@fanout/scheduler/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GREP_TIMEOUT_MS, grepAdapter, grepWorkerCounts } from '../../src/fs/grep/index.js';
import { eventually } from '../../src/testing/index.js';
import { compilePattern, type PatternOptions } from '../../src/fs/grep/pattern.js';
import { BOUNDARY, WORD_CLASS } from '../../src/fs/grep/pattern-syntax.js';
import { runsInLinearTime } from '../../src/fs/grep/regex-engine.js';
import { compileMatcher, searchBuffer } from '../../src/fs/grep/search.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { grep, makeTree, type Tree } from './grep/fixtures.js';

const PLAIN: PatternOptions = { fixedStrings: false, ignoreCase: false, smartCase: false, word: false };
const LIMITS = { maxLines: Number.POSITIVE_INFINITY, before: 0, after: 0, lineMatches: false };

/** Every match of `source` in `text`, with the engine's iteration (no empty match right after a match). */
function spans(source: string, flags: string, text: string): [number, number][] {
  const regex = new RegExp(source, flags);
  const found: [number, number][] = [];
  let previousEnd = -1;
  for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
    const end = match.index + match[0].length;
    if (end === match.index) {
      regex.lastIndex = match.index + 1;
      if (match.index === previousEnd) continue;
    }
    found.push([match.index, end]);
    previousEnd = end;
  }
  return found;
}

/**
 * ripgrep's matching lines of `text` by running the `v`-mode expression once over all of it:
 * each line's number and its matches as byte offsets in the line (code point steps after an
 * empty match, none right after a match, none after the last line's `\n`).
 */
function wholeTextMatches(source: string, flags: string, text: string): { line: number; spans: [number, number][] }[] {
  const regex = new RegExp(source, flags);
  const lines: { line: number; spans: [number, number][] }[] = [];
  const byteOf = (index: number): number => Buffer.byteLength(text.slice(0, index), 'utf8');
  let previousEnd = -1;
  for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
    const at = match.index;
    const end = at + match[0].length;
    if (end === at) {
      regex.lastIndex = at + (text.codePointAt(at)! > 0xffff ? 2 : 1);
      if (at === previousEnd) continue;
      if (at === text.length && (at === 0 || text[at - 1] === '\n')) break;
    }
    previousEnd = end;
    const lineStart = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
    const line = text.slice(0, lineStart).split('\n').length;
    if (lines.at(-1)?.line !== line) lines.push({ line, spans: [] });
    lines.at(-1)!.spans.push([byteOf(at) - byteOf(lineStart), byteOf(end) - byteOf(lineStart)]);
  }
  return lines;
}

describe('the ASCII translation (legacy mode, no u, v or i flag)', () => {
  const atoms = [
    'a',
    'b',
    'A',
    'k',
    's',
    'é',
    '\\u212A',
    '.',
    '\\w',
    '\\W',
    '\\d',
    '\\s',
    '\\S',
    '[a-c]',
    '[^ab]',
    '[[:upper:]]',
    '[[:^alpha:]]',
    '\\pL',
    '\\p{Greek}',
    '[a-z&&[^aeiou]]',
    '[\\w--\\d]',
    '\\x41',
    ' ',
    '-',
    '_',
    '\\b',
    '\\B',
    '^',
    '$',
    '\\.',
  ];
  const piece = fc.oneof(
    fc.constantFrom(...atoms),
    fc.tuple(fc.constantFrom(...atoms.slice(0, 20)), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '*?', '+?')).map(([atom, quantifier]) => atom + quantifier),
  );
  const patternArb = fc.array(piece, { minLength: 1, maxLength: 5 }).chain((pieces) => fc.constantFrom(pieces.join(''), `(?:${pieces.join('')})+`, `${pieces.slice(0, 2).join('')}|${pieces.slice(2).join('')}`));
  // Without the repeated group: `(?:\w*\s*)+` backtracks exponentially in a line's length, which
  // a 40-character text bounds but a file of 60-character lines does not (one such draw held a
  // CI run for minutes). The cutting of files into stretches does not depend on it.
  const flatPatternArb = fc.array(piece, { minLength: 1, maxLength: 5 }).chain((pieces) => fc.constantFrom(pieces.join(''), `${pieces.slice(0, 2).join('')}|${pieces.slice(2).join('')}`));
  const textArb = fc.string({ unit: fc.constantFrom('a', 'b', 'A', 'K', 'k', 'S', 's', 'x', '_', '1', ' ', '-', '.', '\t', '\r', '\n', 'Z'), maxLength: 40 });

  it('matches exactly what the v-mode translation matches, on any ASCII text (property)', () => {
    fc.assert(
      fc.property(patternArb, textArb, fc.boolean(), fc.boolean(), (pattern, text, ignoreCase, word) => {
        let spec;
        try {
          spec = compilePattern(pattern, { ...PLAIN, ignoreCase, word });
        } catch {
          return; // Refused as ripgrep refuses it: nothing to compare.
        }
        if (spec.ascii === undefined) return;
        // Anchored translations are used only on text without a CR (see search.ts).
        const subject = spec.ascii.anchored ? text.replaceAll('\r', '') : text;
        expect(spans(spec.ascii.source, 'gm', subject), `${pattern} on ${JSON.stringify(subject)}`).toEqual(spans(spec.source, spec.flags, subject));
      }),
      { numRuns: 500 },
    );
  });

  it('finds, on files mixing ASCII lines and others, what the v-mode expression finds run over the whole text (property)', () => {
    // Lines long and many enough that a file is cut into ASCII stretches and decoded lines.
    // No character outside the BMP: V8 can report an empty match between the two halves of a
    // surrogate pair, which ripgrep never does; that is another matter than the cutting tested here.
    const lineArb = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', 'k', 'K', 'x', '_', '1', ' ', '.', '\r', 'test(', 'TODO'), maxLength: 60, size: 'large' }),
      fc.string({ unit: fc.constantFrom('a', 'é', 'ǅ', 'K', '\u212A', '\u0301', '\u00a0', ' ', '_', 'test'), maxLength: 40, size: 'large' }),
    );
    const fileArb = fc.array(lineArb, { minLength: 1, maxLength: 120, size: 'large' }).chain((lines) => fc.constantFrom(lines.join('\n'), `${lines.join('\n')}\n`));
    fc.assert(
      fc.property(fc.oneof(flatPatternArb, fc.constantFrom('$', '^', '\\b', '\\B', 'a|', '^\\s*$', '\\w+', '.*', 'test\\(')), fileArb, fc.boolean(), fc.boolean(), (pattern, file, ignoreCase, word) => {
        let spec;
        try {
          spec = compilePattern(pattern, { ...PLAIN, ignoreCase, word });
        } catch {
          return;
        }
        if (spec.ascii === undefined) return;
        const bytes = Buffer.from(file, 'utf8');
        const expected = wholeTextMatches(spec.source, spec.flags, file);
        const matcher = compileMatcher(spec);
        const counted = searchBuffer(bytes, matcher, 'count', { ...LIMITS, lineMatches: true }, { text: 't' });
        const listed = searchBuffer(bytes, matcher, 'content', LIMITS, { text: 't' });
        const lines = listed.messages.flatMap((m) => (m.type === 'match' ? [{ line: m.data.line_number!, spans: m.data.submatches.map((sub): [number, number] => [sub.start, sub.end]) }] : []));
        const where = `${pattern} on ${JSON.stringify(file)}`;
        expect(lines, where).toEqual(expected);
        expect(counted.lineMatches, where).toEqual(expected.map((line) => line.spans.length));
        expect(counted.matches, where).toBe(expected.reduce((sum, line) => sum + line.spans.length, 0));
      }),
      { numRuns: 250 },
    );
  });

  it('searches the lines of a file holding one non-ASCII character with the exact expression, and the rest with the ASCII one', () => {
    const ascii = Array.from({ length: 400 }, (_, i) => `describe('case ${i}', () => test(x))`);
    const lines = [...ascii.slice(0, 200), 'const café = test(1) // é', ...ascii.slice(200)];
    const spec = compilePattern(String.raw`\b(describe|it|test)\s*\(`, PLAIN);
    const matcher = compileMatcher(spec);
    const searched = { exact: 0, ascii: 0 };
    const spy = (regex: RegExp, name: keyof typeof searched): void => {
      const exec = regex.exec.bind(regex);
      regex.exec = (text: string) => {
        // Each segment is searched from its start once (lastIndex 0), then on from each match.
        if (regex.lastIndex === 0) searched[name] += text.length;
        return exec(text);
      };
    };
    spy(matcher.regex, 'exact');
    spy(matcher.ascii!, 'ascii');
    const file = Buffer.from(`${lines.join('\n')}\n`);
    const found = searchBuffer(file, matcher, 'count', LIMITS, { text: 't' });
    expect(found.matchedLines).toBe(401);
    expect(found.matches).toBe(801);
    // The exact expression sees the line with the é and at most a few neighbours (a stretch under 256 bytes).
    expect(searched.exact).toBeGreaterThanOrEqual('const café = test(1) // é\n'.length);
    expect(searched.exact).toBeLessThan(256);
    expect(searched.exact + searched.ascii).toBe(file.toString('utf8').length);
  });

  it('finds what ripgrep finds where V8 11.3 gets a negated class in a repeated group wrong under the v flag', () => {
    // /(?:x[^,]*,)+/v finds nothing in "xab,xc,"; the translation avoids top-level [^…].
    for (const [pattern, text, expected] of [
      ['(?:x.*,)+', 'xab,xc,', [[0, 7]]],
      ['(?:x[^,]*,)+', 'xéb,xc,', [[0, 8]]],
      ['(?:.*?A)+', 'éA', [[0, 3]]],
    ] as const) {
      const spec = compilePattern(pattern, PLAIN);
      const exact = compileMatcher({ source: spec.source, flags: spec.flags });
      const found = searchBuffer(Buffer.from(`${text}\n`), exact, 'content', LIMITS, { text: 't' });
      const submatches = found.messages.flatMap((m) => (m.type === 'match' ? m.data.submatches.map((sub) => [sub.start, sub.end]) : []));
      expect(submatches, pattern).toEqual(expected);
    }
  });

  it('folds case without the i flag, the Kelvin sign and the long s to k and s included', () => {
    expect(compilePattern('k', { ...PLAIN, ignoreCase: true }).ascii?.source).toBe('[Kk]');
    expect(compilePattern('\\u212A', { ...PLAIN, ignoreCase: true }).ascii?.source).toBe('[Kk]');
    expect(compilePattern('\u017F', { ...PLAIN, ignoreCase: true }).ascii?.source).toBe('[Ss]');
    // Without case folding a letter outside ASCII matches no ASCII text.
    expect(compilePattern('é+x', PLAIN).ascii?.source).toBe('[]+x');
  });

  it('is one V8 can run in linear time for nested repetitions, so (a+)+$ on forty a and a b ends at once', () => {
    for (const [pattern, options] of [
      ['(a+)+$', PLAIN],
      ['(a+)+$', { ...PLAIN, ignoreCase: true }],
      ['(\\w+\\s?)+x$', PLAIN],
      ['^(a|aa)+b', PLAIN],
    ] as const) {
      const spec = compilePattern(pattern, options);
      expect(runsInLinearTime(spec.ascii!.source, 'gm'), pattern).toBe(true);
      const found = searchBuffer(Buffer.from(`${'a'.repeat(40)}b\n${'a'.repeat(40)}\n`), compileMatcher(spec), 'count', LIMITS, { text: 't' });
      expect(found.matchedLines, pattern).toBe(pattern === '^(a|aa)+b' ? 1 : pattern === '(a+)+$' ? 1 : 0);
    }
    // Backreferences and lookaround keep the backtracking engine (and its time budget).
    expect(runsInLinearTime(compilePattern('(a+)\\1', PLAIN).ascii!.source, 'gm')).toBe(false);
    expect(runsInLinearTime(compilePattern('a(?=b)', PLAIN).ascii!.source, 'gm')).toBe(false);
  });

  it('uses the exact translation on anchored text holding a CR, where the m flag would stop at it', () => {
    const spec = compilePattern('two$', PLAIN);
    expect(spec.ascii?.anchored).toBe(true);
    expect(searchBuffer(Buffer.from('one\r\ntwo\r\ntwo\n'), compileMatcher(spec), 'count', LIMITS, { text: 't' }).matchedLines).toBe(1);
  });
});

describe('word boundaries next to a word character', () => {
  const before = `(?:(?<!${WORD_CLASS}))`;
  const after = `(?:(?!${WORD_CLASS}))`;
  /** The translation with every one-sided boundary back in the general form (the patterns drawn here hold no lookaround of their own). */
  const general = (source: string): string =>
    source
      .split(BOUNDARY)
      .map((piece) => piece.split(before).join(BOUNDARY).split(after).join(BOUNDARY))
      .join(BOUNDARY);

  it('takes one lookaround where the pattern has a word character on one side for sure', () => {
    expect(compilePattern(String.raw`\b(describe|it|test)\s*\(`, PLAIN).source.startsWith(before)).toBe(true);
    expect(compilePattern(String.raw`\b(TODO|FIXME)\b`, PLAIN).source).toBe(`${before}(TODO|FIXME)${after}`);
    // Not when the word character may be absent, or is not one for sure.
    for (const pattern of [String.raw`\ba?`, String.raw`x*\b`, String.raw`\x2e\b`, String.raw`(a|b)?\b`, String.raw`\b(?=a)`, String.raw`é\b`, String.raw`\(ab\)\b`]) {
      const outside = compilePattern(pattern, PLAIN).source.split(BOUNDARY).join('');
      expect(outside, pattern).not.toContain(before);
      expect(outside, pattern).not.toContain(after);
    }
  });

  it('matches exactly what the general boundary matches, on any text (property)', () => {
    const atoms = ['a', 'b', 'k', 's', 'é', '_', '1', '.', ' ', '\\w', '\\d', '\\x41', '\\x2e', '(a|bc)', '(?:k|s)', '(a)', '[a.]', '\\b', '\\b', '\\b'];
    const piece = fc.oneof(
      fc.constantFrom(...atoms),
      fc.tuple(fc.constantFrom(...atoms), fc.constantFrom('?', '*', '+', '{0,2}', '{2}')).map(([atom, quantifier]) => atom + quantifier),
    );
    const patternArb = fc.array(piece, { minLength: 1, maxLength: 5 }).chain((pieces) => fc.constantFrom(pieces.join(''), `${pieces.slice(0, 2).join('')}|${pieces.slice(2).join('')}`));
    const textArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'k', 's', 'K', '\u212A', '\u017F', 'é', '\u0301', 'ǅ', '٣', '_', '1', ' ', '.', '-'), maxLength: 30 });
    fc.assert(
      fc.property(patternArb, textArb, fc.boolean(), (pattern, text, ignoreCase) => {
        const spec = compilePattern(pattern, { ...PLAIN, ignoreCase });
        const flags = spec.flags.includes('g') ? spec.flags : `${spec.flags}g`;
        expect(spans(spec.source, flags, text)).toEqual(spans(general(spec.source), flags, text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the time budget of a regular expression (FANOUT_REGEX_TOO_SLOW)', () => {
  let worker: CompiledGrepWorker;
  let tree: Tree;
  beforeAll(async () => {
    worker = await compileGrepWorker();
    tree = await makeTree({
      // One match attempt that never ends: 2^40 ways to split the é's (not ASCII: no linear engine).
      'forever/a.txt': `${'é'.repeat(40)}c\n`,
      // Attempts that each end, slowly: each line fails 2^21 ways before it matches at its end.
      'slow/b.txt': `${'é'.repeat(21)}x éc\n`.repeat(400),
    });
  });
  afterAll(async () => {
    await tree.cleanup();
    await worker.cleanup();
  });

  it('ends a match attempt that never ends: the main thread terminates the worker and names pattern and file', async () => {
    const { state, error } = await grep({ pattern: '(é+)+b', paths: ['forever'] }, { roots: [tree.dir], workerScript: worker.script, engine: 'builtin', regexBudgetMs: 300 });
    expect(state).toBe('failed');
    expect(error).toMatchObject({ code: 'FANOUT_REGEX_TOO_SLOW', path: 'pattern' });
    expect(error!.message).toContain('"(é+)+b"');
    expect(error!.message).toContain(tree.path('forever/a.txt'));
    expect(error!.message).toMatch(/fixedStrings|ripgrep/);
    await expect.poll(() => grepWorkerCounts().busy, { timeout: 5000 }).toBe(0);
  });

  it('a grep in a plan without timeoutMs still has a timeout: GREP_TIMEOUT_MS ends it, and its thread, whatever the budget', async () => {
    // The scheduler's clock is a manual one: the plan's timeout is reached at once, long
    // before the budget (10 s of real time by default) would end the search.
    const clock = new ManualClock();
    const adapter = grepAdapter({ roots: [tree.dir], workerScript: worker.script, engine: 'builtin' });
    const run = createScheduler({ adapters: [adapter], clock }).run({ operations: [{ id: 'runaway', kind: 'grep', input: { pattern: '(é+)+b', paths: ['forever'] } }] });
    // The match attempt that never ends is running in a worker thread.
    expect(await eventually(() => grepWorkerCounts().busy === 1, 20_000)).toBe(true);
    clock.advance(GREP_TIMEOUT_MS - 1);
    await flush();
    expect(run.snapshot().settled).toBe(0);
    clock.advance(1);
    // What follows the timeout (the attempt's settling) runs on the same clock.
    const op = (await clock.runUntil(run.result)).get('runaway')!;
    expect(op.state).toBe('timed-out');
    // Each attempt (a timeout is retried, grep being idempotent) ended at the same default.
    expect(op.error).toMatchObject({ code: 'FANOUT_ATTEMPT_TIMEOUT', message: `attempt ${op.attempts} of "runaway" timed out after ${GREP_TIMEOUT_MS} ms` });
    expect(GREP_TIMEOUT_MS).toBe(120_000);
    await expect.poll(() => grepWorkerCounts().busy, { timeout: 5000 }).toBe(0);
  });

  it('stops a file whose attempts each end but add up past the budget, on the main thread too', async () => {
    for (const options of [{ threads: 0 }, { inlineBudgetMs: 0 }]) {
      const { state, error } = await grep({ pattern: '(é+)+c', paths: ['slow'], mode: 'count' }, { roots: [tree.dir], workerScript: worker.script, engine: 'builtin', regexBudgetMs: 200, ...options });
      expect(state, JSON.stringify(options)).toBe('failed');
      expect(error, JSON.stringify(options)).toMatchObject({ code: 'FANOUT_REGEX_TOO_SLOW' });
      expect(error!.message).toContain(tree.path('slow/b.txt'));
    }
  });
});
