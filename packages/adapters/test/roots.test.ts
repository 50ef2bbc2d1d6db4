import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllowedRoots, isInside } from '../src/index.js';

let base: string;
let root: string;
let roots: AllowedRoots;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'fanout-roots-'));
  root = join(base, 'root');
  await mkdir(join(root, 'src'), { recursive: true });
  await writeFile(join(root, 'src', 'a.ts'), 'a');
  await mkdir(join(base, 'root_evil'));
  await writeFile(join(base, 'root_evil', 'secret'), 'secret');
  await writeFile(join(base, 'outside.txt'), 'outside');
  await symlink(join(base, 'outside.txt'), join(root, 'link-to-file'));
  await symlink(join(base, 'root_evil'), join(root, 'link-to-dir'));
  await symlink(join(root, 'src'), join(root, 'inner-link'));
  roots = AllowedRoots.of([root]);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('isInside', () => {
  it('compares with a trailing separator', () => {
    expect(isInside('/root', '/root')).toBe(true);
    expect(isInside('/root', '/root/a')).toBe(true);
    expect(isInside('/root', '/root_evil')).toBe(false);
    expect(isInside('/root', '/roo')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });
});

describe('AllowedRoots', () => {
  it('resolves relative paths from the first root and accepts what is inside', async () => {
    const checked = await roots.check('src/a.ts', 'path');
    expect(checked.exists).toBe(true);
    expect(checked.path).toBe(join(root, 'src', 'a.ts'));
    expect((await roots.check(root, 'path')).exists).toBe(true);
    expect((await roots.check('inner-link/a.ts', 'path')).exists).toBe(true);
  });

  it('refuses NUL bytes and empty paths, naming the field', async () => {
    await expect(roots.check('src/a.ts\0.png', 'paths[1]')).rejects.toMatchObject({ code: 'FANOUT_PATH_INVALID', path: 'paths[1]' });
    await expect(roots.check('', 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_INVALID' });
  });

  it('refuses a sibling that shares the root as a prefix', async () => {
    await expect(roots.check(join(base, 'root_evil', 'secret'), 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'path' });
    await expect(roots.check('../root_evil/secret', 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
  });

  it('refuses symlinks that point out, for files and directories', async () => {
    await expect(roots.check('link-to-file', 'path')).rejects.toThrow(/through a symlink/);
    await expect(roots.check('link-to-dir/secret', 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
    await expect(roots.check('link-to-dir', 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
  });

  it('checks a new file through its nearest existing parent', async () => {
    const fresh = await roots.check('src/new/deeper/file.ts', 'path');
    expect(fresh.exists).toBe(false);
    expect(fresh.real.endsWith(join('src', 'new', 'deeper', 'file.ts'))).toBe(true);
    await expect(roots.check('link-to-dir/new-file', 'path')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
  });

  it('has a synchronous twin with the same answers', () => {
    expect(roots.checkSync('src/a.ts', 'path').exists).toBe(true);
    expect(() => roots.checkSync('link-to-dir/secret', 'path')).toThrow(/allowed roots/);
    expect(() => roots.checkSync('link-to-dir/new', 'path')).toThrow(/allowed roots/);
  });

  it('refuses a configuration without roots', () => {
    expect(() => AllowedRoots.of([])).toThrow(/at least one allowed root/);
  });
});
