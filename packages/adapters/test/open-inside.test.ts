import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listDirectoryInside, listDirectoryInsideSync, openDirectoryInside, openInside, openInsideSync, RealDirectories, setOpenedCheck, verifyOpened, verifyOpenedSync } from '../src/open-inside.js';
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

/** Real paths of directories as a test says they are, counting the directories asked about. */
class ToldDirectories extends RealDirectories {
  readonly asked: string[] = [];
  constructor(readonly told: Record<string, string>) {
    super();
  }
  override get(path: string): Promise<string | undefined> {
    this.asked.push(path);
    return path in this.told ? Promise.resolve(this.told[path]) : super.get(path);
  }
}

/** What an `openInside` gave: paths and content, or the error's code and message. */
async function outcome(path: string, directories?: RealDirectories): Promise<unknown> {
  try {
    const opened = await openInside(roots, path, 'paths[1]', constants.O_RDONLY | constants.O_NOFOLLOW, directories === undefined ? {} : { directories });
    try {
      return { path: opened.path, real: opened.real, text: readFileSync(opened.fd, 'utf8') };
    } finally {
      closeSync(opened.fd);
    }
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
}

for (const check of ['proc', 'inode'] as const) {
  describe(`opening by the directory's real path, resolved once per operation (${check})`, () => {
    it('opens files of one directory with one resolution of it, and gives what the full way gives', async () => {
      setOpenedCheck(check);
      const directories = new ToldDirectories({});
      const paths = ['dir/a.txt', join(root, 'dir', 'a.txt'), 'alias/a.txt', 'dir/../dir/a.txt'];
      for (const path of paths) expect(await outcome(path, directories), path).toEqual(await outcome(path));
      expect(directories.asked).toEqual([join(root, 'dir'), join(root, 'dir'), join(root, 'alias'), join(root, 'dir')]);
      // The first resolution is kept: the second one of a directory is the same promise.
      expect(await directories.get(join(root, 'dir'))).toBe(join(root, 'dir'));
    });

    it('opens the name in the directory it was told, with O_NOFOLLOW', async () => {
      setOpenedCheck(check);
      await mkdir(join(root, `told-${check}`));
      await writeFile(join(root, `told-${check}`, 'a.txt'), 'told\n');
      await symlink(join(root, 'dir', 'a.txt'), join(root, `told-${check}`, 'link.txt'));
      const directories = new ToldDirectories({ [join(root, 'dir')]: join(root, `told-${check}`) });
      expect(await outcome('dir/a.txt', directories)).toEqual({ path: join(root, 'dir', 'a.txt'), real: join(root, `told-${check}`, 'a.txt'), text: 'told\n' });
      // A symlink where the name is: the open refuses it, and the full way resolves the path.
      const viaLink = new ToldDirectories({ [join(root, 'dir')]: join(root, `told-${check}`) });
      await rename(join(root, `told-${check}`, 'a.txt'), join(root, `told-${check}`, 'moved.txt'));
      await rename(join(root, `told-${check}`, 'link.txt'), join(root, `told-${check}`, 'a.txt'));
      expect(await outcome('dir/a.txt', viaLink)).toEqual({ path: join(root, 'dir', 'a.txt'), real: join(root, 'dir', 'a.txt'), text: 'inside\n' });
    });

    it('never trusts a directory resolved outside: the full way decides, and refuses what leads out', async () => {
      setOpenedCheck(check);
      // Told (as if stale) that dir is the outside directory: not opened there, the real file is read.
      expect(await outcome('dir/a.txt', new ToldDirectories({ [join(root, 'dir')]: outside }))).toEqual({ path: join(root, 'dir', 'a.txt'), real: join(root, 'dir', 'a.txt'), text: 'inside\n' });
      for (const path of ['out/a.txt', '../outside/a.txt', 'dir/missing.txt', 'missing-dir/a.txt', '']) {
        const full = await outcome(path);
        expect(full, path).toMatchObject({ code: expect.stringMatching(/^FANOUT_/) });
        expect(await outcome(path, new RealDirectories()), path).toEqual(full);
      }
    });

    it('refuses a file whose directory became a symlink out after it was resolved', async () => {
      setOpenedCheck(check);
      await mkdir(join(root, `stale-${check}`));
      await writeFile(join(root, `stale-${check}`, 'a.txt'), 'inside\n');
      const directories = new RealDirectories();
      expect(await outcome(`stale-${check}/a.txt`, directories)).toMatchObject({ text: 'inside\n' });
      await rename(join(root, `stale-${check}`), join(root, `stale-${check}-moved`));
      await symlink(outside, join(root, `stale-${check}`));
      expect(await outcome(`stale-${check}/a.txt`, directories)).toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
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
