/**
 * Worktrees registered by writing git's administrative files (registerWorktree), then checked
 * out side by side: what git itself then reads back, in real repositories.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addWorktree, checkoutWorktree, createBranches, listWorktrees, registerWorktree, removeWorktree } from '../src/worktree.js';
import { makeWorld, type World } from './helpers.js';

let world: World | undefined;
afterEach(() => {
  world?.dispose();
  world = undefined;
});

/** Every file under `dir` (relative paths), `.git` aside. */
function filesOf(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .filter((entry) => entry.name !== '.git')
    .flatMap((entry) => (entry.isDirectory() ? filesOf(dir, join(prefix, entry.name)) : [join(prefix, entry.name)]))
    .sort();
}

describe('worktrees registered without git worktree add', () => {
  it('six worktrees made one after another and checked out at once: each has its files, its branch, its lock, and git works in it', async () => {
    world = makeWorld();
    const w = world;
    mkdirSync(join(w.repo, 'src', 'deep'), { recursive: true });
    writeFileSync(join(w.repo, 'src', 'deep', 'c.ts'), 'export const c = 1;\n');
    writeFileSync(join(w.repo, '.gitignore'), '.env\n');
    writeFileSync(join(w.repo, '.worktreeinclude'), '.env\n');
    w.git(['add', '.']);
    w.git(['commit', '-q', '-m', 'more']);
    writeFileSync(join(w.repo, '.env'), 'SECRET=1\n');
    const base = w.git(['rev-parse', 'HEAD']).trim();
    const gitDir = join(w.repo, '.git');
    const context = { cwd: w.repo, env: w.env };
    const agents = ['t1.claude', 't2.claude', 't3.codex-1', 't3.codex-2', 't4.claude', 't5.claude'];
    const branches = agents.map((agent) => `fanout/r/${agent}`);
    await createBranches({ run: 'r', base, branches }, context);
    const made = [];
    for (const [i, agent] of agents.entries()) {
      const path = join(w.root, 'worktrees', 'r', agent);
      made.push(await addWorktree({ repo: w.repo, path, branch: branches[i]!, base, lockReason: `fanout agents run r, ${agent} from ${base} (pid ${process.pid})`, branchMade: true, gitDir }, context));
    }
    expect(made.every((m) => m.created)).toBe(true);
    // Registered by hand: git's worktree list reads them, locked, on their branches, not checked out yet.
    const before = await listWorktrees(context);
    expect(before.slice(1).map((e) => [e.path, e.branch, e.locked, e.prunable])).toEqual(
      agents.map((agent, i) => [join(w.root, 'worktrees', 'r', agent), branches[i], `fanout agents run r, ${agent} from ${base} (pid ${process.pid})`, undefined]),
    );
    const checkouts = await Promise.all(made.map((m) => checkoutWorktree({ repo: w.repo, path: m.path, fresh: true }, { ...context, cwd: m.path })));
    expect(checkouts.map((c) => c.included)).toEqual(agents.map(() => ['.env']));
    for (const [i, m] of made.entries()) {
      expect(filesOf(m.path)).toEqual(['.env', '.gitignore', '.worktreeinclude', 'a.txt', 'b.txt', join('src', 'deep', 'c.ts')]);
      expect(readFileSync(join(m.path, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n');
      expect(w.git(['symbolic-ref', 'HEAD'], m.path).trim()).toBe(`refs/heads/${branches[i]}`);
      expect(w.git(['rev-parse', 'HEAD'], m.path).trim()).toBe(base);
      expect(w.git(['status', '--porcelain', '--untracked-files=all'], m.path)).toBe('');
      expect(w.git(['rev-parse', '--path-format=absolute', '--git-common-dir'], m.path).trim()).toBe(gitDir);
    }
    // Nothing left locked but the worktrees themselves: no index or ref lock anywhere.
    const admin = join(gitDir, 'worktrees');
    for (const name of readdirSync(admin)) expect(readdirSync(join(admin, name)).filter((file) => file.endsWith('.lock'))).toEqual([]);
    expect(existsSync(join(gitDir, 'index.lock'))).toBe(false);
    // Git works in them (a commit on the branch), and removes them as its own.
    writeFileSync(join(made[0]!.path, 'new.txt'), 'new\n');
    w.git(['add', 'new.txt'], made[0]!.path);
    w.git(['commit', '-q', '-m', 'work'], made[0]!.path);
    expect(w.git(['rev-list', '--count', `${base}..refs/heads/${branches[0]}`]).trim()).toBe('1');
    // Removed by git's own command (no gitDir), or by removing the directory and its
    // administrative directory (gitDir given): git lists neither afterwards, nothing is left to prune.
    for (const [i, m] of made.entries()) await removeWorktree(m.path, context, i % 2 === 0 ? gitDir : undefined);
    expect(made.some((m) => existsSync(m.path))).toBe(false);
    expect(existsSync(admin) ? readdirSync(admin) : []).toEqual([]);
    expect((await listWorktrees(context)).length).toBe(1);
    expect(w.git(['worktree', 'prune', '--dry-run', '--verbose'])).toBe('');
    // The branches are free again: git deletes them.
    w.git(['branch', '-D', ...branches]);
  });

  it('writes what git worktree add --no-checkout --lock writes', async () => {
    world = makeWorld();
    const w = world;
    const gitDir = join(w.repo, '.git');
    w.git(['branch', 'by-git']);
    w.git(['branch', 'by-hand']);
    w.git(['worktree', 'add', '-q', '--no-checkout', '--lock', '--reason', 'why', join(w.root, 'g', 'one'), 'by-git']);
    expect(registerWorktree({ gitDir, path: join(w.root, 'h', 'one'), branch: 'by-hand', lockReason: 'why' })).toBe(true);
    // Same name in the repository's list: git numbers the second, as it would.
    const read = (name: string, file: string) => readFileSync(join(gitDir, 'worktrees', name, file), 'utf8');
    for (const file of ['locked', 'commondir']) expect(read('one1', file)).toBe(read('one', file));
    expect(read('one1', 'HEAD')).toBe(read('one', 'HEAD').replace('by-git', 'by-hand'));
    expect(read('one1', 'gitdir')).toBe(read('one', 'gitdir').replace(join('g', 'one'), join('h', 'one')));
    expect(readFileSync(join(w.root, 'h', 'one', '.git'), 'utf8')).toBe(readFileSync(join(w.root, 'g', 'one', '.git'), 'utf8').replace(/one\n$/, 'one1\n'));
  });

  it('leaves to git what it would refuse or set up itself: a branch checked out, a path registered, sparse checkout patterns', async () => {
    world = makeWorld();
    const w = world;
    const gitDir = join(w.repo, '.git');
    const spec = (path: string, branch: string) => ({ gitDir, path: join(w.root, path), branch, lockReason: 'why' });
    expect(registerWorktree(spec('x', 'main'))).toBe(false);
    w.git(['branch', 'b']);
    w.git(['branch', 'c']);
    w.git(['worktree', 'add', '-q', '--no-checkout', join(w.root, 'taken'), 'b']);
    expect(registerWorktree(spec('y', 'b'))).toBe(false);
    w.git(['worktree', 'add', '-q', '--no-checkout', join(w.root, 'gone'), '--detach']);
    await import('node:fs/promises').then((fs) => fs.rm(join(w.root, 'gone'), { recursive: true }));
    expect(registerWorktree(spec('gone', 'c'))).toBe(false);
    mkdirSync(join(gitDir, 'info'), { recursive: true });
    writeFileSync(join(gitDir, 'info', 'sparse-checkout'), '/a.txt\n');
    expect(registerWorktree(spec('z', 'c'))).toBe(false);
    // Nothing was written for any of them.
    expect(readdirSync(join(gitDir, 'worktrees')).sort()).toEqual(['gone', 'taken']);
    expect(['x', 'y', 'z'].some((p) => existsSync(join(w.root, p)))).toBe(false);
  });
});

describe('removeWorktree without git', () => {
  /** Worktrees `one` and `two` of fanout branches, added and locked by git itself. */
  function twoWorktrees(w: World): { gitDir: string; context: { cwd: string; env: Record<string, string> }; path: (name: string) => string } {
    const path = (name: string): string => join(w.root, 'worktrees', name);
    for (const name of ['one', 'two']) w.git(['worktree', 'add', '-q', '--lock', '--reason', `fanout agents run r, ${name} (pid ${process.pid})`, '-b', `fanout/r/${name}`, path(name)]);
    return { gitDir: join(w.repo, '.git'), context: { cwd: w.repo, env: w.env }, path };
  }

  it('leaves a copied worktree to git, which refuses it: the worktree it was copied from keeps its administrative directory (lock, index)', async () => {
    world = makeWorld();
    const w = world;
    const { gitDir, context, path } = twoWorktrees(w);
    const admin = join(gitDir, 'worktrees', 'two');
    // The copy's .git points into worktrees/, at two's directory, whose gitdir points back at two, not at the copy.
    cpSync(path('two'), path('copy'), { recursive: true });
    await expect(removeWorktree(path('copy'), context, gitDir)).rejects.toMatchObject({ code: 'FANOUT_GIT_FAILED', message: expect.stringContaining('is not a working tree') });
    expect(readdirSync(admin).sort()).toEqual(expect.arrayContaining(['gitdir', 'index', 'locked']));
    expect((await listWorktrees(context)).map((e) => [e.path, e.locked])).toEqual([
      [w.repo, undefined],
      [path('one'), `fanout agents run r, one (pid ${process.pid})`],
      [path('two'), `fanout agents run r, two (pid ${process.pid})`],
    ]);
    expect(w.git(['status', '--porcelain'], path('two'))).toBe('');
    // The worktrees themselves still go without git.
    for (const name of ['one', 'two']) await removeWorktree(path(name), context, gitDir);
    expect((await listWorktrees(context)).map((e) => e.path)).toEqual([w.repo]);
  });

  it('removes the administrative directory even when the tree cannot all be removed, says so, and removes an emptied worktrees/', async () => {
    world = makeWorld();
    const w = world;
    const { gitDir, context, path } = twoWorktrees(w);
    // A tree deeper than PATH_MAX: Node's rm cannot remove it (ENAMETOOLONG), even as root, where
    // permissions would not stop it. Made by bash, a directory at a time (dash's cd refuses it).
    const segment = 'd'.repeat(200);
    try {
      execFileSync('bash', ['-c', `for i in $(seq 25); do mkdir ${segment} && cd ${segment} || exit 1; done; echo x > f`], { cwd: path('two') });
      const failure = removeWorktree(path('two'), context, gitDir);
      await expect(failure).rejects.toMatchObject({ code: 'FANOUT_WORKTREE_FAILED', path: path('two'), cause: { code: 'ENAMETOOLONG' } });
      // As git does: the worktree is forgotten, what is left of its tree stays on disk.
      expect(existsSync(join(gitDir, 'worktrees', 'two'))).toBe(false);
      expect(existsSync(path('two'))).toBe(true);
      expect((await listWorktrees(context)).map((e) => e.path)).toEqual([w.repo, path('one')]);
      expect(readdirSync(join(gitDir, 'worktrees'))).toEqual(['one']);
      await removeWorktree(path('one'), context, gitDir);
      expect(existsSync(join(gitDir, 'worktrees'))).toBe(false);
      expect(w.git(['worktree', 'prune', '--dry-run', '--verbose'])).toBe('');
      w.git(['branch', '-D', 'fanout/r/one', 'fanout/r/two']);
    } finally {
      execFileSync('rm', ['-rf', path('two')]);
    }
  });
});
