import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listDirectoryInside, listDirectoryInsideSync, openDirectoryInside, openInside, openInsideSync, setOpenedCheck, verifyOpened, verifyOpenedSync } from '../src/open-inside.js';
import { AllowedRoots } from '../src/roots.js';
import { tempDir } from './fs/fs-fixtures.js';

const base = tempDir('open-inside');
const root = join(base, 'root');
const outside = join(base, 'outside');
const roots = AllowedRoots.of([root]);

beforeAll(async () => {
  await mkdir(join(root, 'dir'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'dir', 'a.txt'), 'inside\n');
  await writeFile(join(outside, 'a.txt'), 'outside\n');
  await symlink(join(root, 'dir'), join(root, 'alias'));
  await symlink(outside, join(root, 'out'));
});
afterEach(() => setOpenedCheck(undefined));
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

for (const check of ['proc', 'inode'] as const) {
  describe(`checking what was opened (${check})`, () => {
    it('opens a file inside, through a symlink inside too, and gives its real path', async () => {
      setOpenedCheck(check);
      const opened = await openInside(roots, 'alias/a.txt', 'path', constants.O_RDONLY);
      try {
        expect(opened.path).toBe(join(root, 'alias', 'a.txt'));
        expect(opened.real).toBe(join(root, 'dir', 'a.txt'));
        expect(readFileSync(opened.fd, 'utf8')).toBe('inside\n');
      } finally {
        closeSync(opened.fd);
      }
      const sync = openInsideSync(roots, 'dir/a.txt', 'path', constants.O_RDONLY);
      closeSync(sync.fd);
      expect(sync.real).toBe(join(root, 'dir', 'a.txt'));
    });

    it('refuses a descriptor that turned out to be outside, whatever path it was opened by', async () => {
      setOpenedCheck(check);
      // What a swap does: the path checked was inside, the file opened is the one outside.
      const fd = openSync(join(outside, 'a.txt'), constants.O_RDONLY);
      try {
        await expect(verifyOpened(roots, fd, join(root, 'dir', 'a.txt'), 'paths[2]')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'paths[2]' });
        expect(() => verifyOpenedSync(roots, fd, join(root, 'dir', 'a.txt'), 'path')).toThrow(expect.objectContaining({ code: 'FANOUT_PATH_OUTSIDE_ROOT' }));
      } finally {
        closeSync(fd);
      }
      const inside = openSync(join(root, 'dir', 'a.txt'), constants.O_RDONLY);
      try {
        expect(await verifyOpened(roots, inside, join(root, 'dir', 'a.txt'), 'path')).toBe(join(root, 'dir', 'a.txt'));
      } finally {
        closeSync(inside);
      }
    });

    it('refuses paths outside before opening, with the field and a clear code', async () => {
      setOpenedCheck(check);
      await expect(openInside(roots, 'out/a.txt', 'path', constants.O_RDONLY)).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'path' });
      await expect(openInside(roots, '../outside/a.txt', 'path', constants.O_RDONLY)).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
      await expect(openInside(roots, 'dir/missing.txt', 'path', constants.O_RDONLY)).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', message: expect.stringMatching(/path \(.*missing\.txt\) to exist/) });
      expect(() => openInsideSync(roots, 'out/a.txt', 'path', constants.O_RDONLY)).toThrow(expect.objectContaining({ code: 'FANOUT_PATH_OUTSIDE_ROOT' }));
    });

    it('lists a directory inside, entries named under the path asked for, and refuses one leading out', async () => {
      setOpenedCheck(check);
      const entries = await listDirectoryInside(roots, 'alias', 'cwd');
      expect(entries.map((entry) => [entry.name, entry.parentPath, entry.isFile()])).toEqual([['a.txt', join(root, 'alias'), true]]);
      expect(listDirectoryInsideSync(roots, 'dir', 'cwd').map((entry) => entry.name)).toEqual(['a.txt']);
      await expect(listDirectoryInside(roots, 'out', 'cwd')).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'cwd' });
      expect(() => listDirectoryInsideSync(roots, 'out', 'cwd')).toThrow(expect.objectContaining({ code: 'FANOUT_PATH_OUTSIDE_ROOT' }));
      await expect(listDirectoryInside(roots, 'dir/a.txt', 'cwd')).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY' });
    });

    it('creates missing directories one at a time inside, and refuses a file on the way', async () => {
      setOpenedCheck(check);
      const directory = await openDirectoryInside(roots, `made-${check}/one/two`, 'path', { create: true });
      try {
        expect(directory.path).toBe(join(root, `made-${check}`, 'one', 'two'));
        expect(directory.real).toBe(directory.path);
        await writeFile(directory.entry('f.txt'), 'made\n');
      } finally {
        await directory.close();
      }
      expect(readFileSync(join(root, `made-${check}`, 'one', 'two', 'f.txt'), 'utf8')).toBe('made\n');
      await expect(openDirectoryInside(roots, 'dir/a.txt/below', 'path', { create: true })).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY' });
      await expect(openDirectoryInside(roots, 'not-there/below', 'path')).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND' });
      await expect(openDirectoryInside(roots, 'out/new', 'path', { create: true })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
      expect(await readdir(outside)).toEqual(['a.txt']);
    });
  });
}

describe('a directory opened inside (Linux: bound to its descriptor)', () => {
  it('keeps working in the directory it checked after its path is swapped for a symlink out', async () => {
    setOpenedCheck('proc');
    await mkdir(join(root, 'swapped'));
    const directory = await openDirectoryInside(roots, 'swapped', 'path');
    try {
      // The swap, after the check and the open.
      await rename(join(root, 'swapped'), join(root, 'swapped-real'));
      await symlink(outside, join(root, 'swapped'));
      await writeFile(directory.entry('new.txt'), 'written\n');
      await rename(directory.entry('new.txt'), directory.entry('renamed.txt'));
      expect(await readdir(directory.entry('.'))).toEqual(['renamed.txt']);
    } finally {
      await directory.close();
    }
    expect(readFileSync(join(root, 'swapped-real', 'renamed.txt'), 'utf8')).toBe('written\n');
    expect(await readdir(outside)).toEqual(['a.txt']);
  });

  it('a root that does not exist yet is made when asked to create below it', async () => {
    const fresh = AllowedRoots.of([join(base, 'fresh-root')]);
    const directory = await openDirectoryInside(fresh, 'sub', 'path', { create: true });
    await directory.close();
    expect(directory.real).toBe(join(base, 'fresh-root', 'sub'));
  });
});
