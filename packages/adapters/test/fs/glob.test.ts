import { execFileSync } from 'node:child_process';
import { readdir as nodeReaddir, type Dirent } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createScheduler } from '@fanout/scheduler';
import fg from 'fast-glob';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastGlobFilters, entersEveryDirectory, hasShape, requiredShapes } from '../../src/fs/glob-pass.js';
import { globAdapter, type GlobInput, type GlobOutput } from '../../src/fs/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { attemptContext, tempDir, writeTree } from './fs-fixtures.js';

const base = tempDir('glob');
const root = join(base, 'root');
/** A deep chain of directories read through a file system that answers each readdir after 20 ms, like a distant network mount. */
const slowTree = join(root, 'slow-mount');
const SLOW_DEPTH = 150;

/** Readdir calls under slowTree: in flight, and when the last began. */
const slowCalls = { inFlight: 0, lastStart: 0 };
type ReaddirCallback = (error: NodeJS.ErrnoException | null, entries: Dirent[]) => void;
function slowReaddir(path: string, options: { withFileTypes: true }, callback: ReaddirCallback): void {
  if (!path.startsWith(slowTree)) {
    nodeReaddir(path, options, callback);
    return;
  }
  slowCalls.inFlight++;
  slowCalls.lastStart = Date.now();
  setTimeout(() => {
    nodeReaddir(path, options, (error, entries) => {
      slowCalls.inFlight--;
      callback(error, entries);
    });
  }, 20);
}

const adapter = globAdapter({ roots: [root], fs: { readdir: slowReaddir as never } });

beforeAll(async () => {
  await writeTree(root, {
    'README.md': '#',
    '.env': 'SECRET=1',
    '.gitignore': 'build/\n*.log\n/top-only.txt\n',
    'top-only.txt': 'x',
    'debug.log': 'x',
    'build/out.js': 'x',
    'src/index.ts': 'x',
    'src/util.ts': 'x',
    'src/.hidden.ts': 'x',
    'src/top-only.txt': 'x',
    'src/.gitignore': '!keep.log\ngenerated/\n',
    'src/keep.log': 'x',
    'src/other.log': 'x',
    'src/generated/types.ts': 'x',
    'src/deep/a/b/c.ts': 'x',
    'docs/guide.md': 'x',
    '.git/HEAD': 'ref: refs/heads/main\n',
  });
  await writeTree(base, { 'outside/secret.ts': 'x', 'root_evil/evil.ts': 'x' });
  await symlink(join(base, 'outside'), join(root, 'src', 'link-out'));
  await symlink(join(base, 'outside', 'secret.ts'), join(root, 'src', 'file-link-out.ts'));
  let dir = slowTree;
  for (let level = 0; level < SLOW_DEPTH; level++) {
    dir = join(dir, 'd');
  }
  await mkdir(dir, { recursive: true });
  await writeTree(dir, { 'bottom.txt': 'x' });
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function glob(input: GlobInput): Promise<GlobOutput> {
  return adapter.run(adapter.input.parse({ ignore: ['slow-mount/**'], ...input }), attemptContext());
}

function relative(output: GlobOutput): string[] {
  return output.files.map((file) => file.slice(root.length + 1));
}

describeConformance<GlobInput>({
  adapter,
  valid: async () => ({ input: { pattern: 'src/**/*.ts' } }),
  invalid: [
    { input: {}, field: 'pattern' },
    { input: { pattern: '' }, field: 'pattern' },
    { input: { pattern: '*', patterns: ['*'] }, field: 'patterns' },
    { input: { patterns: [] }, field: 'patterns' },
    { input: { pattern: '*', type: 'links' }, field: 'type' },
    { input: { pattern: '*', maxResults: 0 }, field: 'maxResults' },
    { input: { pattern: '*', dot: 'yes' }, field: 'dot' },
    { input: { pattern: '*', globs: ['x'] }, field: 'globs' },
    // Refused against the real file system: patterns or cwd that climb out of the roots.
    { input: { pattern: '../*' }, field: 'pattern' },
    { input: { pattern: `${base}/root_evil/*.ts` }, field: 'pattern' },
    { input: { patterns: ['src/*', '../outside/**'] }, field: 'patterns' },
    { input: { pattern: '*', cwd: base }, field: 'cwd' },
    { input: { pattern: '*', cwd: 'src/link-out' }, field: 'cwd' },
  ],
  slow: async () => ({
    input: { pattern: 'slow-mount/**' },
    // Honest: the walker issues no more readdir calls, and none is in flight.
    stopped: async () => slowCalls.inFlight === 0 && Date.now() - slowCalls.lastStart > 200,
  }),
  big: async () => ({
    input: { pattern: '**', maxResults: 3, ignore: ['slow-mount/**'] },
    within: (output) => (output as GlobOutput).files.length <= 3,
    saysCut: (output) => (output as GlobOutput).truncated,
  }),
});

describe('glob', () => {
  it('lists matching files as sorted absolute paths, honouring .gitignore files like git', async () => {
    const output = await glob({ pattern: '**/*' });
    expect(relative(output)).toEqual(['README.md', 'docs/guide.md', 'src/deep/a/b/c.ts', 'src/index.ts', 'src/keep.log', 'src/top-only.txt', 'src/util.ts']);
    expect(output.count).toBe(7);
    expect(output.truncated).toBe(false);
    expect(output.files.every((file) => file.startsWith(`${root}/`))).toBe(true);
  });

  it('lists dotfiles only with dot, and never .git while .gitignore files apply', async () => {
    const files = relative(await glob({ pattern: '**/*', dot: true }));
    expect(files).toContain('.env');
    expect(files).toContain('src/.hidden.ts');
    expect(files).toContain('.gitignore');
    expect(files.some((file) => file.startsWith('.git/'))).toBe(false);
    expect(relative(await glob({ pattern: '**/HEAD', dot: true, gitignore: false }))).toEqual(['.git/HEAD']);
  });

  it('lists everything with gitignore: false', async () => {
    const files = relative(await glob({ pattern: '**/*', gitignore: false }));
    expect(files).toEqual(expect.arrayContaining(['build/out.js', 'debug.log', 'top-only.txt', 'src/other.log', 'src/generated/types.ts']));
  });

  it('applies the .gitignore files above cwd', async () => {
    expect(relative(await glob({ pattern: '*.log', cwd: 'src' }))).toEqual(['src/keep.log']);
    expect(relative(await glob({ pattern: '**', cwd: 'src/deep' }))).toEqual(['src/deep/a/b/c.ts']);
  });

  it('takes several patterns with negations, and ignore patterns', async () => {
    expect(relative(await glob({ patterns: ['src/**/*.ts', '!src/deep/**', 'src/index.ts'] }))).toEqual(['src/index.ts', 'src/util.ts']);
    expect(relative(await glob({ pattern: 'src/**/*.ts', ignore: ['**/deep/**'] }))).toEqual(['src/index.ts', 'src/util.ts']);
    expect(relative(await glob({ pattern: 'src/{index,util}.ts' }))).toEqual(['src/index.ts', 'src/util.ts']);
    expect(relative(await glob({ pattern: '**/INDEX.TS', caseSensitive: false }))).toEqual(['src/index.ts']);
  });

  it('lists directories, or both', async () => {
    expect(relative(await glob({ pattern: 'src/**', type: 'directories' }))).toEqual(['src/deep', 'src/deep/a', 'src/deep/a/b']);
    const all = relative(await glob({ pattern: 'src/deep/**', type: 'all' }));
    expect(all).toEqual(['src/deep/a', 'src/deep/a/b', 'src/deep/a/b/c.ts']);
  });

  it('limits the depth of the walk', async () => {
    expect(relative(await glob({ pattern: '**', maxDepth: 0 }))).toEqual(['README.md']);
    expect(relative(await glob({ pattern: '**/*.ts', cwd: 'src', maxDepth: 1 }))).toEqual(['src/index.ts', 'src/util.ts']);
  });

  it('never follows a symlink, so nothing outside the roots is listed', async () => {
    const files = (await glob({ pattern: '**', dot: true, gitignore: false })).files;
    expect(files.some((file) => file.includes('secret'))).toBe(false);
    expect(files.every((file) => file.startsWith(`${root}/`))).toBe(true);
    const all = relative(await glob({ pattern: 'src/*link*', type: 'all' }));
    expect(all).toEqual(['src/file-link-out.ts', 'src/link-out']);
    // A pattern that starts in a linked directory is refused outright.
    await expect(glob({ pattern: 'src/link-out/**' })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
  });

  it('refuses a start outside the roots, naming the pattern', async () => {
    await expect(glob({ patterns: ['src/*.ts', '../root_evil/*'] })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'patterns[1]' });
    await expect(glob({ pattern: 'src/link-out/*' })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'pattern' });
    await expect(glob({ pattern: '*', cwd: 'README.md' })).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY', path: 'cwd' });
    await expect(glob({ pattern: '*', cwd: 'nowhere' })).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'cwd' });
    // A brace that names the parent starts the walk at cwd, which never yields "..".
    const braced = await glob({ pattern: '{..,src}/*.ts' });
    expect(braced.files.every((file) => file.startsWith(`${root}/`))).toBe(true);
  });

  it('stops at maxResults and says the listing was cut', async () => {
    const output = await glob({ pattern: '**', maxResults: 2 });
    expect(output).toMatchObject({ count: 2, truncated: true });
    expect(await glob({ pattern: '**', maxResults: 7 })).toMatchObject({ count: 7, truncated: false });
  });

  it('reports directories it could not read, and goes on', async () => {
    await writeTree(root, { 'locked/inside.md': 'x' });
    // chmod 000 does not stop root, so the unreadable directory comes from the file system given.
    const denied = (path: string, options: { withFileTypes: true }, callback: ReaddirCallback): void => {
      if (path === join(root, 'locked')) callback(Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' }), []);
      else nodeReaddir(path, options, callback);
    };
    const guarded = globAdapter({ roots: [root], fs: { readdir: denied as never } });
    try {
      const output = await guarded.run(guarded.input.parse({ pattern: '**/*.md', ignore: ['slow-mount/**'] }), attemptContext());
      expect(relative(output)).toEqual(['README.md', 'docs/guide.md']);
      expect(output.errors).toEqual([{ path: join(root, 'locked'), code: 'EACCES', message: expect.stringMatching(/permission denied/) }]);
    } finally {
      await rm(join(root, 'locked'), { recursive: true });
    }
  });

  it('runs through the scheduler with the file operation defaults', async () => {
    expect(adapter.defaults).toMatchObject({ maxConcurrency: 48, optimalConcurrency: 24, idempotent: true, timeoutMs: 60_000 });
    expect(adapter.locks!(adapter.input.parse({ pattern: '*' }))).toEqual([]);
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'g', kind: 'glob', input: { pattern: 'docs/*' } }] });
    expect(result.get('g')!.output).toEqual({ files: [join(root, 'docs', 'guide.md')], count: 1, truncated: false });
  });
});

/** git itself, as the reference for which untracked files .gitignore leaves in. */
function gitListing(dir: string): string[] {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
  execFileSync('git', ['init', '-q', dir], { env });
  const out = execFileSync('git', ['-C', dir, 'ls-files', '--others', '--exclude-standard', '-z'], { env, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((line) => line !== '')
    .sort();
}

describe('glob against git', () => {
  const names = ['a.txt', 'b.log', 'keep.log', 'x.ts', '.dot'];
  const dirs = ['', 'src/', 'src/lib/', 'build/', 'tmp/'];
  const rules = ['*.log', '!keep.log', 'build/', '/a.txt', 'src/**/x.ts', 'tmp', '!tmp/a.txt', '*.txt', '!*.ts', 'lib/', '**/lib/*.log', '.dot', '\\!x', 'src/*', '!src/lib'];

  it('leaves in exactly the untracked files git does, nested .gitignore files included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...dirs), fc.constantFrom(...names)), { minLength: 1, maxLength: 14, selector: ([d, n]) => d + n }),
        fc.dictionary(fc.constantFrom('', 'src/', 'src/lib/', 'tmp/'), fc.array(fc.constantFrom(...rules), { maxLength: 4 }), { maxKeys: 3 }),
        async (files, ignores) => {
          const dir = tempDir('glob-git');
          try {
            const tree: Record<string, string> = {};
            for (const [d, n] of files) tree[d + n] = 'x';
            for (const [d, lines] of Object.entries(ignores)) tree[`${d}.gitignore`] = `${lines.join('\n')}\n`;
            await writeTree(dir, tree);
            const expected = gitListing(dir);
            const ours = globAdapter({ roots: [dir] });
            const output = await ours.run(ours.input.parse({ pattern: '**', dot: true }), attemptContext());
            expect(output.files.map((file) => file.slice(dir.length + 1))).toEqual(expected);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('glob in the shared walk (node:fs) against fast-glob walking on its own (an fs of its own)', () => {
  // Without an `fs` of its own, a glob is a member of the scan's pass and walks through its
  // lens; with one, fast-glob walks. fast-glob's filters decide in both: the listings must agree.
  const shared = globAdapter({ roots: [root] });
  const own = globAdapter({ roots: [root], fs: { readdir: nodeReaddir as never } });
  const pattern = fc.constantFrom(
    '**',
    '*',
    'src/**/*.ts',
    '**/*.log',
    'src/*',
    '**/top-only.txt',
    'src/index.ts',
    'README.md',
    '{src,docs}/**',
    '**/d/**',
    '!**/*.md',
    'src/deep/**/c.ts',
    '**/.*',
    'src/link-out/*',
    // Patterns whose names end with a literal (the lens passes over other names without asking
    // fast-glob's filter), and some that end otherwise.
    '**/*.{ts,md}',
    '**/{index,c}.ts',
    '**/keep.log',
    'src/*.ts',
    '**/*t.ts',
    '**/*.+(ts|log)',
    '**/*.[tm][sd]',
    '**/?.ts',
    '**/*s',
    '**/*.TS',
    '**/*.ts/',
    '**/guide.*',
    // Literals around wildcards (the lens asks the filter only about names that have them).
    '**/i*x.ts',
    '**/*e*.log',
    '**/u?il.*',
    '**/.*.ts',
    '**/top*',
  );
  const input = fc.record(
    {
      patterns: fc.uniqueArray(pattern, { minLength: 1, maxLength: 3 }),
      dot: fc.boolean(),
      gitignore: fc.boolean(),
      type: fc.constantFrom('files', 'directories', 'all'),
      maxDepth: fc.option(fc.constantFrom(0, 1, 2), { nil: undefined }),
      caseSensitive: fc.boolean(),
      cwd: fc.constantFrom('.', 'src'),
      ignore: fc.constantFrom(['slow-mount/**'], ['slow-mount/**', '**/deep/**'], ['slow-mount', 'src/generated']),
    },
    { requiredKeys: ['patterns'] },
  );

  it('lists the same paths, whatever the patterns and options', async () => {
    await fc.assert(
      fc.asyncProperty(input, async (spec) => {
        const outcome = (run: Promise<GlobOutput>) =>
          run.then(
            (output) => ({ output }),
            (error: { code?: string; message: string }) => ({ error: [error.code, error.message] }),
          );
        const a = await outcome(Promise.resolve(shared.run(shared.input.parse(spec), attemptContext())));
        const b = await outcome(Promise.resolve(own.run(own.input.parse(spec), attemptContext())));
        expect(a).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the shapes a glob lens checks names against', () => {
  it('are the literals around the wildcards of every pattern, or none at all', () => {
    expect(requiredShapes(['**/*.ts', '**/*.tsx', '**/package.json', 'src/tsconfig.base.json'], true)).toEqual([
      { head: '', tail: '.ts', inner: [] },
      { head: '', tail: '.tsx', inner: [] },
      { head: '', tail: 'package.json', inner: [] },
      { head: '', tail: 'tsconfig.base.json', inner: [] },
    ]);
    expect(requiredShapes(['**/tsconfig*.json', '**/*.test.*', '**/index.*', '**/a?b*c'], true)).toEqual([
      { head: 'tsconfig', tail: '.json', inner: [] },
      { head: '', tail: '', inner: ['.test.'] },
      { head: 'index.', tail: '', inner: [] },
      { head: 'a', tail: 'c', inner: ['b'] },
    ]);
    expect(requiredShapes(['**/*.ts', '**/*'], true)).toBeUndefined();
    expect(requiredShapes(['**/*.ts', 'scripts/**'], true)).toBeUndefined();
    expect(requiredShapes(['**/*.+(ts|js)'], true)).toBeUndefined();
    expect(requiredShapes(['**/*.[jt]s'], true)).toBeUndefined();
    expect(requiredShapes(['**/\\*.ts'], true)).toBeUndefined();
    expect(requiredShapes(['**/*.ts/'], true)).toBeUndefined();
    expect(requiredShapes(['**/*.ts'], false)).toBeUndefined();
    expect(requiredShapes([], true)).toBeUndefined();
  });

  it('are had by names as the wildcards allow', () => {
    const shape = { head: 'a', tail: 'c', inner: ['b'] };
    expect(['abc', 'axbyc', 'abbc'].filter((name) => hasShape(name, shape))).toEqual(['abc', 'axbyc', 'abbc']);
    expect(['ac', 'bc', 'abx', 'acb', 'ab'].filter((name) => hasShape(name, shape))).toEqual([]);
    expect(hasShape('tsconfig.json', { head: 'tsconfig', tail: '.json', inner: [] })).toBe(true);
    expect(hasShape('tsconfig.jso', { head: 'tsconfig', tail: '.json', inner: [] })).toBe(false);
  });

  it('hold for every name fast-glob lists', () => {
    const filters = fastGlobFilters();
    expect(filters, 'expected fast-glob 3 internals where glob-pass.ts looks for them').toBeDefined();
    const segment = fc.constantFrom(
      'src',
      'a.ts',
      'b.tsx',
      'package.json',
      'x.ts.md',
      '.ts',
      'ts',
      'index.js',
      'c.test.ts',
      'tsconfig.json',
      'tsconfig.base.json',
      'guide.md',
      'a.d.ts',
      'test.',
      '.test.ts',
      'tsconfigjson',
      'ab',
      'abc',
    );
    const pattern = fc.constantFrom(
      '**/*.{ts,tsx}',
      '**/*.ts',
      '**/package.json',
      '**/{index,main}.*',
      'src/*.ts',
      '**/*.md',
      '**/tsconfig*.json',
      '*.ts',
      '**/*s',
      '**/.ts',
      '**/*.{md,ts}',
      '**/*.{test,spec}.*',
      '**/a?*c',
      '**/a*b*c',
      '**/?s',
      '**/test*',
    );
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { minLength: 1, maxLength: 3 }), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.boolean(), (patterns, parts, dot, isDirectory) => {
        const options: fg.Options = { dot, onlyFiles: false };
        for (const task of fg.generateTasks(patterns, options)) {
          const shapes = requiredShapes(task.positive, true);
          if (shapes === undefined) continue;
          const { entryFilter } = new filters!.Provider(new filters!.Settings(options))._getReaderOptions(task);
          const path = parts.join('/');
          const name = parts.at(-1)!;
          const listed = entryFilter({ name, path, dirent: { isFile: () => !isDirectory, isDirectory: () => isDirectory, isSymbolicLink: () => false } });
          if (listed)
            expect(
              shapes.some((shape) => hasShape(name, shape)),
              `expected ${path} listed by ${task.positive.join(', ')} to have one of the shapes ${JSON.stringify(shapes)}`,
            ).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('enter, where entersEveryDirectory says so, every directory the deep filter of fast-glob enters', () => {
    const filters = fastGlobFilters()!;
    const segment = fc.constantFrom('src', '.git', 'node_modules', 'a.ts', 'deep', 'test', '.hidden', 'x');
    const pattern = fc.constantFrom('**/*.{ts,tsx}', '**/*.ts', '**', '**/{test,tests}/**/*', 'src/**/*.ts', '**/bin/*', '*.ts', '!**/deep/**', '**/*.{md,ts}');
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { minLength: 1, maxLength: 3 }), fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.constantFrom(undefined, 2), (patterns, parts, dot, deep) => {
        const options: fg.Options = { dot, ...(deep === undefined ? {} : { deep }) };
        for (const task of fg.generateTasks(patterns, options)) {
          if (!entersEveryDirectory(task, options)) continue;
          const { deepFilter } = new filters.Provider(new filters.Settings(options))._getReaderOptions(task);
          const path = parts.join('/');
          const entered = deepFilter({ name: parts.at(-1)!, path, dirent: { isFile: () => false, isDirectory: () => true, isSymbolicLink: () => false } });
          expect(entered, `expected ${path} entered for ${task.positive.join(', ')} (negative: ${task.negative.join(', ')})`).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
    expect(entersEveryDirectory(fg.generateTasks(['**/*.ts'], {})[0]!, {})).toBe(true);
    expect(entersEveryDirectory(fg.generateTasks(['**/*.ts', '!**/deep/**'], {})[0]!, {})).toBe(false);
    expect(entersEveryDirectory(fg.generateTasks(['**/*.ts'], { deep: 2 })[0]!, { deep: 2 })).toBe(false);
  });
});
