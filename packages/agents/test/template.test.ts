/**
 * Worktrees written from the fleet's checkout template (template.ts), in real repositories:
 * compared file by file and index entry by index entry with a worktree git checked out itself,
 * read back by git, and the cases it leaves to git.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptContext } from '@fanout/scheduler';
import { createAgentsAdapters } from '../src/adapters/index.js';
import { makeTemplate, fillWorktree, type CheckoutTemplate } from '../src/template.js';
import { addWorktree, checkoutWorktree, createBranches } from '../src/worktree.js';
import { makeWorld, type World } from './helpers.js';

let world: World | undefined;
// Removing a world of several worktrees took over 10 s (the hooks' default) on a loaded machine.
afterEach(() => {
  world?.dispose();
  world = undefined;
}, 60_000);

/** Every entry under `dir` (relative paths, `.git` aside): a file's mode and bytes, a link's target. */
function treeOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name === '.git') continue;
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(out, treeOf(dir, path));
    else if (entry.isSymbolicLink()) out[path] = `-> ${readlinkSync(join(dir, path))}`;
    else out[path] = `${(lstatSync(join(dir, path)).mode & 0o777).toString(8)} ${readFileSync(join(dir, path)).toString('base64')}`;
  }
  return out;
}

/** `git ls-files --debug`'s stat data per path, beside the file's own lstat. */
function indexStats(w: World, worktree: string): { path: string; index: number[]; file: number[] }[] {
  const out: { path: string; index: number[]; file: number[] }[] = [];
  const lines = w.git(['ls-files', '--debug'], worktree).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const path = lines[i]!;
    if (path === '' || path.startsWith(' ')) continue;
    const field = (name: string): number[] =>
      lines
        .slice(i + 1, i + 6)
        .find((line) => line.trimStart().startsWith(`${name}:`))!
        .trim()
        .slice(name.length + 1)
        .trim()
        .split(/[:\s]+/)
        .filter((part) => /^\d+$/.test(part))
        .map(Number);
    const [ctime, ctimeNs] = field('ctime');
    const [mtime, mtimeNs] = field('mtime');
    const [dev, ino] = [field('dev')[0]!, field('dev')[1]!];
    const [uid, gid] = [field('uid')[0]!, field('uid')[1]!];
    const size = field('size')[0]!;
    const stat = lstatSync(join(worktree, path), { bigint: true });
    out.push({
      path,
      index: [ctime!, ctimeNs!, mtime!, mtimeNs!, dev, ino, uid, gid, size],
      file: [
        Number(stat.ctimeNs / 1_000_000_000n),
        Number(stat.ctimeNs % 1_000_000_000n),
        Number(stat.mtimeNs / 1_000_000_000n),
        Number(stat.mtimeNs % 1_000_000_000n),
        Number(BigInt.asUintN(32, stat.dev)),
        Number(BigInt.asUintN(32, stat.ino)),
        Number(stat.uid),
        Number(stat.gid),
        Number(stat.size),
      ],
    });
  }
  return out;
}

/** Worktrees registered on branches made at HEAD, not checked out (what a fleet has before its checkouts). */
async function registered(w: World, names: string[]): Promise<{ base: string; gitDir: string; paths: string[]; branches: string[] }> {
  const base = w.git(['rev-parse', 'HEAD']).trim();
  const gitDir = join(w.repo, '.git');
  const context = { cwd: w.repo, env: w.env };
  const branches = names.map((name) => `fanout/r/${name}`);
  await createBranches({ run: 'r', base, branches }, context);
  const paths: string[] = [];
  for (const [i, name] of names.entries()) {
    const path = join(w.root, 'worktrees', 'r', name);
    await addWorktree({ repo: w.repo, path, branch: branches[i]!, base, lockReason: `fanout agents run r, ${name} from ${base} (pid ${process.pid})`, branchMade: true, gitDir }, context);
    paths.push(path);
  }
  return { base, gitDir, paths, branches };
}

async function template(w: World, base: string, maxBytes = 1 << 20): Promise<CheckoutTemplate> {
  const made = await makeTemplate({ gitDir: join(w.repo, '.git'), base, dir: join(w.root, 'worktrees', 'r', '.fanout-template'), maxBytes }, { cwd: w.repo, env: w.env });
  if (made.template === undefined) throw new Error(`expected a template, got none: ${made.why}`);
  return made.template;
}

describe('worktrees written from the checkout template', () => {
  // Many git processes and file creations: over 20 s when the machine is loaded (load 20).
  it('writes what git checks out (nested files, an executable, a symbolic link, an empty file, line endings from .gitattributes) and an index git reads as clean', { timeout: 90_000 }, async () => {
    world = makeWorld();
    const w = world;
    mkdirSync(join(w.repo, 'src', 'deep'), { recursive: true });
    writeFileSync(join(w.repo, 'src', 'deep', 'c.ts'), 'export const c = 1;\n');
    writeFileSync(join(w.repo, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(w.repo, 'run.sh'), 0o755);
    symlinkSync('a.txt', join(w.repo, 'link'));
    writeFileSync(join(w.repo, 'empty'), '');
    writeFileSync(join(w.repo, '.gitattributes'), '*.crlf text eol=crlf\n');
    writeFileSync(join(w.repo, 'x.crlf'), 'one\ntwo\n');
    w.git(['add', '.']);
    w.git(['commit', '-q', '-m', 'more']);
    const { base, gitDir, paths, branches } = await registered(w, ['t1', 't2', 't3', 'by-git']);
    const held = await template(w, base);
    expect(held.files.map((f) => f.path)).toEqual(['.gitattributes', 'a.txt', 'b.txt', 'empty', 'link', 'run.sh', 'src/deep/c.ts', 'x.crlf']);
    // The template's directory is gone once read.
    expect(existsSync(join(w.root, 'worktrees', 'r', '.fanout-template'))).toBe(false);
    const context = { cwd: w.repo, env: w.env };
    const checkouts = await Promise.all(paths.map((path, i) => checkoutWorktree({ repo: w.repo, path, fresh: true, gitDir, ...(i < 3 ? { template: held } : {}) }, { ...context, cwd: path })));
    expect(checkouts.map((c) => c.fromTemplate)).toEqual([true, true, true, false]);
    const byGit = paths[3]!;
    expect(readFileSync(join(byGit, 'x.crlf'), 'utf8')).toBe('one\r\ntwo\r\n');
    for (const [i, path] of paths.slice(0, 3).entries()) {
      expect(treeOf(path)).toEqual(treeOf(byGit));
      // The same entries (mode, object, stage, path) as git's own checkout…
      expect(w.git(['ls-files', '--stage'], path)).toBe(w.git(['ls-files', '--stage'], byGit));
      // …each with the stat data of the file written (so git trusts it without reading it).
      for (const entry of indexStats(w, path)) expect(entry.index, `${path}: ${entry.path}`).toEqual(entry.file);
      expect(w.git(['status', '--porcelain', '--untracked-files=all'], path)).toBe('');
      expect(w.git(['symbolic-ref', 'HEAD'], path).trim()).toBe(`refs/heads/${branches[i]}`);
      expect(w.git(['diff-files', '--name-only'], path)).toBe('');
      expect(existsSync(join(gitDir, 'worktrees', `t${i + 1}`, 'index.lock'))).toBe(false);
    }
    // Git works in it: a change is seen, committed on the worktree's branch.
    writeFileSync(join(paths[0]!, 'a.txt'), 'changed\n');
    expect(w.git(['status', '--porcelain'], paths[0]!)).toBe(' M a.txt\n');
    w.git(['commit', '-q', '-am', 'work'], paths[0]!);
    expect(w.git(['rev-list', '--count', `${base}..refs/heads/${branches[0]}`]).trim()).toBe('1');
    expect(w.git(['status', '--porcelain'], paths[1]!)).toBe('');
  });

  it('leaves to git a worktree whose branch is not at the base, or which has an index already, and writes nothing in it', async () => {
    world = makeWorld();
    const w = world;
    const { base, gitDir, paths, branches } = await registered(w, ['moved', 'indexed']);
    const held = await template(w, base);
    // The branch moved on (a resumed run's): the template is not its tree.
    w.git(['update-ref', `refs/heads/${branches[0]}`, w.git(['commit-tree', '-p', base, '-m', 'later', `${base}^{tree}`]).trim()]);
    expect(await fillWorktree(held, paths[0]!, gitDir)).toBe(false);
    expect(readdirSync(paths[0]!)).toEqual(['.git']);
    w.git(['reset', '-q', '--hard'], paths[1]!);
    const index = readFileSync(join(gitDir, 'worktrees', 'indexed', 'index'));
    expect(await fillWorktree(held, paths[1]!, gitDir)).toBe(false);
    expect(readFileSync(join(gitDir, 'worktrees', 'indexed', 'index'))).toEqual(index);
    // checkoutWorktree then has git do it.
    const checkout = await checkoutWorktree({ repo: w.repo, path: paths[0]!, fresh: true, gitDir, template: held }, { cwd: paths[0]!, env: w.env });
    expect(checkout.fromTemplate).toBe(false);
    expect(readFileSync(join(paths[0]!, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n');
    expect(w.git(['status', '--porcelain'], paths[0]!)).toBe('');
  });

  it('makes no template of a tree with a submodule, of a sparse checkout, or beyond the bytes allowed — and says why', async () => {
    world = makeWorld();
    const w = world;
    const base = w.git(['rev-parse', 'HEAD']).trim();
    const gitDir = join(w.repo, '.git');
    const make = (maxBytes: number, at = base) => makeTemplate({ gitDir, base: at, dir: join(w.root, 'tpl'), maxBytes }, { cwd: w.repo, env: w.env });
    // a.txt and b.txt: 24 + 4 bytes.
    expect(await make(27)).toEqual({ template: undefined, why: 'the files come to more than 27 bytes' });
    expect((await make(28)).template?.bytes).toBe(28);
    w.git(['update-index', '--add', '--cacheinfo', `160000,${base},sub`]);
    w.git(['commit', '-q', '-m', 'a submodule']);
    const withSubmodule = w.git(['rev-parse', 'HEAD']).trim();
    expect(await make(1 << 20, withSubmodule)).toEqual({ template: undefined, why: 'the tree has a submodule (sub)' });
    mkdirSync(join(gitDir, 'info'), { recursive: true });
    writeFileSync(join(gitDir, 'info', 'sparse-checkout'), '/a.txt\n');
    expect(await make(1 << 20)).toEqual({ template: undefined, why: 'the repository has sparse-checkout patterns' });
    expect(existsSync(join(w.root, 'tpl'))).toBe(false);
  });

  it('writes a worktree of more files than one slice, giving the event loop turns between slices, and stops when aborted', { timeout: 90_000 }, async () => {
    world = makeWorld();
    const w = world;
    for (let i = 0; i < 200; i++) {
      mkdirSync(join(w.repo, `d${i % 7}`), { recursive: true });
      writeFileSync(join(w.repo, `d${i % 7}`, `f${i}.txt`), `file ${i}\n`);
    }
    w.git(['add', '.']);
    w.git(['commit', '-q', '-m', 'many']);
    const { base, gitDir, paths } = await registered(w, ['whole', 'stopped']);
    const held = await template(w, base);
    expect(held.files.length).toBe(202);
    // Queued before the copy starts, this runs at the copy's first turn of the loop: the first
    // slice is written, the index (written last) is not.
    const index = join(gitDir, 'worktrees', 'whole', 'index');
    let seen: { index: boolean; entries: string[] } | undefined;
    setImmediate(() => {
      seen = { index: existsSync(index), entries: readdirSync(paths[0]!).sort() };
    });
    expect(await fillWorktree(held, paths[0]!, gitDir)).toBe(true);
    // In the index's order: a.txt, b.txt, then d0/… (29 files each in d0-d3) — 128 files reach into d4.
    expect(seen).toEqual({ index: false, entries: ['.git', 'a.txt', 'b.txt', 'd0', 'd1', 'd2', 'd3', 'd4'] });
    expect(w.git(['status', '--porcelain', '--untracked-files=all'], paths[0]!)).toBe('');
    const controller = new AbortController();
    const stopping = fillWorktree(held, paths[1]!, gitDir, controller.signal);
    controller.abort(new Error('stopped by the test'));
    await expect(stopping).rejects.toThrow('stopped by the test');
    // The lock is let go, and no index is written.
    expect(readdirSync(join(gitDir, 'worktrees', 'stopped')).filter((f) => f.startsWith('index'))).toEqual([]);
  });

  it('the checkout step writes one worktree at a time from the template: one that starts while a copy is under way goes to git, and the template is let go after the last', { timeout: 90_000 }, async () => {
    world = makeWorld();
    const w = world;
    for (let i = 0; i < 200; i++) writeFileSync(join(w.repo, `f${i}.txt`), `file ${i}\n`);
    w.git(['add', '.']);
    w.git(['commit', '-q', '-m', 'many']);
    const { base, gitDir, paths } = await registered(w, ['one', 'two', 'three']);
    const { adapters, shared } = createAgentsAdapters({ env: w.env });
    const checkout = adapters.find((adapter) => adapter.kind === 'checkout')!;
    const context = (id: string): AttemptContext => ({ id, kind: 'checkout', attempt: 1, signal: new AbortController().signal, deadline: undefined, progress: () => undefined });
    const key = `${gitDir}:r:${base}`;
    const made = await checkout.run({ action: 'template', repo: w.repo, gitDir, base, dir: join(w.root, 'tpl'), key, uses: 3 }, context('template'));
    expect(made).toEqual({ made: true, base, files: 202, bytes: expect.any(Number) });
    const step = (path: string) => checkout.run({ agent: 'a', repo: w.repo, path, fresh: true, gitDir, template: key }, context(path)) as Promise<{ fromTemplate: boolean }>;
    // The first writes its first slice and gives the loop a turn; the second starts then.
    const first = step(paths[0]!);
    expect(shared.filling).toBe(true);
    const second = step(paths[1]!);
    expect((await Promise.all([first, second])).map((c) => c.fromTemplate)).toEqual([true, false]);
    expect(shared.filling).toBe(false);
    expect(shared.templates.get(key)?.template).toBeDefined();
    expect((await step(paths[2]!)).fromTemplate).toBe(true);
    // Three checkouts, three uses: the template is let go.
    expect(shared.templates.get(key)?.template).toBeUndefined();
    for (const path of paths) expect(w.git(['status', '--porcelain', '--untracked-files=all'], path)).toBe('');
  });
});
