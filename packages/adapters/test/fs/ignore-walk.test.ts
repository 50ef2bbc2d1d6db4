import fc from 'fast-check';
import ignore, { type Ignore } from 'ignore';
import { describe, expect, it } from 'vitest';
import { walkIgnore, WalkIgnore } from '../../src/fs/ignore-walk.js';

/**
 * `WalkIgnore` answers "no rule matches" with one joined expression; every other verdict is the
 * package's. Asked in walk order (a directory before what is in it) or in any order, it must
 * say exactly what `Ignore.test` says.
 */
const RULES = ['*.log', '!keep.log', 'build/', '/top.txt', 'src/**/gen', '**/tmp', 'a/b', '*.[oa]', 'Dist', '!dist/keep/', 'x?z', '\\#hash', 'docs/*.md', '!**/*.md', 'node_modules', '.cache/', 'a/**/c/'];
const SEGMENTS = ['a', 'b', 'c', 'src', 'gen', 'build', 'tmp', 'dist', 'keep', 'docs', 'node_modules', '.cache', 'x1z', 'DIST', 'k'];
const FILES = ['top.txt', 'x.log', 'keep.log', 'r.md', 'm.o', 'n.a', '#hash', 'plain.ts', 'Top.TXT'];

/** A small tree: directories as segment paths, each with some files. */
const tree = fc.array(fc.tuple(fc.array(fc.constantFrom(...SEGMENTS), { minLength: 0, maxLength: 4 }), fc.array(fc.constantFrom(...FILES), { maxLength: 3 })), { minLength: 1, maxLength: 12 });

function entries(dirs: [string[], string[]][]): { path: string; directory: boolean }[] {
  const seen = new Map<string, boolean>();
  for (const [segments, files] of dirs) {
    for (let i = 1; i <= segments.length; i++) seen.set(segments.slice(0, i).join('/'), true);
    const dir = segments.join('/');
    for (const file of files) seen.set(dir === '' ? file : `${dir}/${file}`, false);
  }
  // Walk order: sorted paths put a directory before everything under it.
  return [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, directory]) => ({ path, directory }));
}

describe('WalkIgnore', () => {
  it('gives the verdicts of Ignore.test, in walk order and out of it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...RULES), { maxLength: 8 }), tree, fc.boolean(), fc.boolean(), fc.boolean(), (rules, dirs, ignoreCase, shuffled, shared) => {
        const text = rules.join('\n');
        // Made directly, or through the process's cache of parsed files (shared rules, caches of its own).
        const walk = shared ? walkIgnore(text, { ignorecase: ignoreCase, allowRelativePaths: true }) : new WalkIgnore(ignore({ ignorecase: ignoreCase, allowRelativePaths: true }).add(text));
        const reference = ignore({ ignorecase: ignoreCase, allowRelativePaths: true }).add(text);
        const order = entries(dirs);
        if (shuffled) order.reverse();
        for (const { path, directory } of order) {
          const expected = reference.test(directory ? `${path}/` : path);
          const got = walk.test(path, directory);
          expect({ path, ignored: got.ignored, unignored: got.unignored }).toEqual({ path, ignored: expected.ignored, unignored: expected.unignored });
        }
      }),
      { numRuns: Number(process.env.FANOUT_PROPERTY_RUNS ?? 300) },
    );
  });

  it('asks the package nothing about entries no rule matches, below directories no rule matches', () => {
    const real = ignore({ allowRelativePaths: true }).add('*.log\n!keep.log\nbuild/\n');
    const asked: string[] = [];
    const test = real.test.bind(real);
    real.test = (path: string) => (asked.push(path), test(path));
    const walk = new WalkIgnore(real);
    expect(walk.test('src', true).ignored).toBe(false);
    expect(walk.test('src/a.ts', false).ignored).toBe(false);
    expect(walk.test('src/x.log', false).ignored).toBe(true);
    expect(walk.test('build', true).ignored).toBe(true);
    // Not seen as a directory first: the package decides, and its verdict on a directory counts for what is below it.
    expect(walk.test('other/b.ts', false).ignored).toBe(false);
    expect(walk.test('other/c', true).ignored).toBe(false);
    expect(walk.test('other/c/d.ts', false).ignored).toBe(false);
    expect(asked).toEqual(['src/x.log', 'build/', 'other/b.ts', 'other/c/']);
  });

  it('falls back to Ignore.test when the package has no internals it knows', () => {
    const asked: string[] = [];
    const plain = { test: (path: string) => (asked.push(path), { ignored: path.endsWith('.log'), unignored: false }) } as unknown as Ignore;
    const walk = new WalkIgnore(plain);
    expect(walk.test('a', true)).toEqual({ ignored: false, unignored: false });
    expect(walk.test('a/x.log', false)).toEqual({ ignored: true, unignored: false });
    expect(asked).toEqual(['a/', 'a/x.log']);
  });
});
