import { symlink } from 'node:fs/promises';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFiles, type DiscoveryInput } from '../../src/analyze/discover.js';
import { AllowedRoots } from '../../src/roots.js';
import { makeTree, type Tree } from './fixtures.js';

let tree: Tree;
let outside: Tree;
let roots: AllowedRoots;
const signal = new AbortController().signal;

function find(input: Partial<DiscoveryInput> = {}, abort: AbortSignal = signal) {
  return discoverFiles({ paths: ['.'], hidden: false, nodeModules: false, gitignore: true, maxFiles: 1000, ...input }, roots, abort);
}

beforeAll(async () => {
  tree = await makeTree({
    '.gitignore': 'gen/\n*.tmp\n/top-only.txt\n',
    'top-only.txt': 'x',
    'a.ts': 'x',
    'a-b.ts': 'x',
    'b/c.ts': 'x',
    'b/top-only.txt': 'x', // "/top-only.txt" is anchored to the root
    'b/scratch.tmp': 'x',
    'b/.gitignore': '!keep.tmp\nlocal/\n',
    'b/keep.tmp': 'x',
    'b/local/d.ts': 'x',
    'pkg/gen/out.js': 'x',
    'pkg/src/e.ts': 'x',
    '.config/f.json': 'x',
    '.git/HEAD': 'x',
    'node_modules/dep/index.js': 'x',
    'Z.md': 'x',
  });
  outside = await makeTree({ 'secret.txt': 'x', 'dir/g.ts': 'x' });
  await symlink(outside.path('secret.txt'), tree.path('link-out.txt'));
  await symlink(outside.path('dir'), tree.path('link-dir'));
  roots = AllowedRoots.of([tree.root]);
});

afterAll(async () => {
  await tree.cleanup();
  await outside.cleanup();
});

describe('analyze file discovery', () => {
  it('walks in tree order, honouring nested .gitignore files and skipping hidden entries, node_modules and symlinks', async () => {
    const found = await find();
    expect(found).toEqual({
      files: ['Z.md', 'a-b.ts', 'a.ts', 'b/c.ts', 'b/keep.tmp', 'b/top-only.txt', 'pkg/src/e.ts'].map((p) => tree.path(p)),
      truncated: false,
      skipped: [],
    });
  });

  it('includes hidden entries and node_modules when asked, never .git, and ignores nothing without gitignore', async () => {
    const found = await find({ hidden: true, nodeModules: true, gitignore: false });
    expect(found.files).toEqual(
      [
        '.config/f.json',
        '.gitignore',
        'Z.md',
        'a-b.ts',
        'a.ts',
        'b/.gitignore',
        'b/c.ts',
        'b/keep.tmp',
        'b/local/d.ts',
        'b/scratch.tmp',
        'b/top-only.txt',
        'node_modules/dep/index.js',
        'pkg/gen/out.js',
        'pkg/src/e.ts',
        'top-only.txt',
      ].map((p) => tree.path(p)),
    );
  });

  it('applies the .gitignore files above a walk that starts below the root', async () => {
    expect((await find({ paths: ['pkg'] })).files).toEqual([tree.path('pkg/src/e.ts')]);
    expect((await find({ paths: ['b'] })).files).toEqual(['b/c.ts', 'b/keep.tmp', 'b/top-only.txt'].map((p) => tree.path(p)));
  });

  it('reads no .gitignore above the roots, and lets a nested repository inherit nothing, as the glob adapter', async () => {
    const nested = await makeTree({ '.gitignore': '*.tmp\n', 'repo/.git/HEAD': 'x', 'repo/a.tmp': 'x', 'repo/b.ts': 'x', 'plain/c.tmp': 'x', 'plain/d.ts': 'x' });
    const input = { paths: ['.'], hidden: false, nodeModules: false, gitignore: true, maxFiles: 100 };
    try {
      const whole = await discoverFiles(input, AllowedRoots.of([nested.root]), signal);
      expect(whole.files).toEqual(['plain/d.ts', 'repo/a.tmp', 'repo/b.ts'].map((p) => nested.path(p)));
      const below = await discoverFiles(input, AllowedRoots.of([nested.path('plain')]), signal);
      expect(below.files).toEqual(['plain/c.tmp', 'plain/d.ts'].map((p) => nested.path(p)));
    } finally {
      await nested.cleanup();
    }
  });

  it('uses paths named explicitly even when hidden or ignored, once each', async () => {
    const found = await find({ paths: ['pkg/gen', '.config/f.json', 'b/scratch.tmp', 'a.ts', './a.ts'] });
    expect(found.files).toEqual(['pkg/gen/out.js', '.config/f.json', 'b/scratch.tmp', 'a.ts'].map((p) => tree.path(p)));
  });

  it('keeps the first maxFiles files of the tree order, whatever the listing races (property)', async () => {
    const all = (await find({ hidden: true, nodeModules: true, gitignore: false })).files;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: all.length + 2 }), async (maxFiles) => {
        const found = await find({ hidden: true, nodeModules: true, gitignore: false, maxFiles });
        expect(found.files).toEqual(all.slice(0, maxFiles));
        expect(found.truncated).toBe(maxFiles < all.length);
      }),
      { numRuns: 20 },
    );
  });

  it('walks wide directories in order past the listing window', async () => {
    const names = Array.from({ length: 80 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    const wide = await makeTree(
      Object.fromEntries(
        names.flatMap((name) => [
          [`${name}/f.txt`, 'x'],
          [`${name}/sub/g.txt`, 'x'],
        ]),
      ),
    );
    try {
      const found = await discoverFiles({ paths: [wide.root], hidden: false, nodeModules: false, gitignore: true, maxFiles: 1000 }, AllowedRoots.of([wide.root]), signal);
      expect(found.files).toEqual(names.flatMap((name) => [wide.path(name, 'f.txt'), wide.path(name, 'sub', 'g.txt')]));
    } finally {
      await wide.cleanup();
    }
  });

  it('refuses paths outside the roots, through symlinks or not, naming the field', async () => {
    await expect(find({ paths: ['a.ts', outside.path('secret.txt')] })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'paths[1]' });
    await expect(find({ paths: ['link-out.txt'] })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'paths[0]' });
    await expect(find({ paths: ['link-dir'] })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'paths[0]' });
    await expect(find({ paths: ['../'] })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
  });

  it('refuses a path that does not exist, naming the field', async () => {
    await expect(find({ paths: ['a.ts', 'nope'] })).rejects.toMatchObject({
      code: 'FANOUT_NOT_FOUND',
      path: 'paths[1]',
      message: expect.stringContaining('expected paths[1] to name an existing file or directory, got "nope"'),
    });
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(find({}, controller.signal)).rejects.toThrow('stop');
  });
});
