import { closeSync, constants, openSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createScheduler, type Adapter } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdapter, writeAdapter, type WriteInput, type WriteOutput } from '../../src/fs/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { attemptContext, mkfifo, openDescriptors, tempDir } from './fs-fixtures.js';

const base = tempDir('write');
const root = join(base, 'root');
const adapter = writeAdapter({ roots: [root] });
let serial = 0;

beforeAll(async () => {
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'target.txt'), 'outside\n');
  await writeFile(join(root, 'inside.txt'), 'inside\n');
  await symlink(join(base, 'outside'), join(root, 'dir-out'));
  await symlink(join(root, 'inside.txt'), join(root, 'link-in'));
  await symlink(join(base, 'outside', 'new.txt'), join(root, 'dangling-out'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function write(input: WriteInput): Promise<WriteOutput> {
  return adapter.run(adapter.input.parse(input), attemptContext());
}

/** Entries of `dir` that are not `keep`: leftover temporary files, if any. */
async function leftovers(dir: string, keep: string[]): Promise<string[]> {
  return (await readdir(dir)).filter((name) => !keep.includes(name));
}

describeConformance<WriteInput>({
  adapter,
  valid: async () => ({ input: { path: `valid/${serial++}.txt`, content: 'ok\n', mkdirp: true } }),
  invalid: [
    { input: { content: 'x' }, field: 'path' },
    { input: { path: '', content: 'x' }, field: 'path' },
    { input: { path: 'a.txt' }, field: 'content' },
    { input: { path: 'a.txt', content: 'x', mode: 'replace' }, field: 'mode' },
    { input: { path: 'a.txt', content: 'x', mkdirp: 'yes' }, field: 'mkdirp' },
    { input: { path: 'a.txt', content: 'x', encoding: 'morse' }, field: 'encoding' },
    { input: { path: 'a\0.txt', content: 'x' }, field: 'path' },
    // Refused against the real file system.
    { input: { path: '../escape.txt', content: 'x' }, field: 'path' },
    // A sibling whose name starts with the root's: containment is checked with a trailing separator.
    { input: { path: join(base, 'root_evil', 'x.txt'), content: 'x', mkdirp: true }, field: 'path' },
    { input: { path: 'dir-out/new.txt', content: 'x' }, field: 'path' },
    { input: { path: 'link-in', content: 'x' }, field: 'path' },
  ],
  // A FIFO whose reader never reads: once the pipe's 64 KiB buffer is full the write waits.
  slow: async () => {
    const fifo = join(root, `slow-${serial++}.fifo`);
    mkfifo(fifo);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    return {
      input: { path: fifo, content: 'x'.repeat(1024 * 1024), mode: 'append' },
      // Only the test's own read end may remain: the adapter's write end must be closed.
      stopped: async () => openDescriptors(fifo).every((fd) => fd === reader),
      cleanup: async () => {
        closeSync(reader);
        await unlink(fifo);
      },
    };
  },
});

describe('write', () => {
  it('creates, overwrites and appends, saying whether the file was new', async () => {
    const path = join(root, 'modes.txt');
    expect(await write({ path: 'modes.txt', content: 'one\n', mode: 'create' })).toEqual({ path, bytes: 4, mode: 'create', created: true });
    await expect(write({ path: 'modes.txt', content: 'again\n', mode: 'create' })).rejects.toMatchObject({ code: 'FANOUT_EXISTS', path: 'path' });
    expect(await write({ path: 'modes.txt', content: 'two\n' })).toEqual({ path, bytes: 4, mode: 'overwrite', created: false });
    expect(await write({ path: 'modes.txt', content: 'three\n', mode: 'append' })).toEqual({ path, bytes: 6, mode: 'append', created: false });
    expect(await readFile(path, 'utf8')).toBe('two\nthree\n');
    expect(await write({ path: 'appended.txt', content: 'a', mode: 'append', fsync: false })).toMatchObject({ created: true });
    expect(await leftovers(root, ['modes.txt', 'appended.txt', 'sub', 'inside.txt', 'dir-out', 'link-in', 'dangling-out', 'valid'])).toEqual([]);
  });

  it('writes bytes given in base64 or hex', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await write({ path: 'bytes.bin', content: bytes.toString('base64'), encoding: 'base64' });
    expect((await readFile(join(root, 'bytes.bin'))).equals(bytes)).toBe(true);
    expect(await write({ path: 'bytes.bin', content: 'ff00', encoding: 'hex', mode: 'append' })).toMatchObject({ bytes: 2 });
    expect((await readFile(join(root, 'bytes.bin'))).equals(Buffer.concat([bytes, Buffer.from([0xff, 0])]))).toBe(true);
  });

  it('creates parent directories only with mkdirp', async () => {
    await expect(write({ path: 'deep/er/file.txt', content: 'x' })).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', message: expect.stringMatching(/mkdirp/) });
    expect(await write({ path: 'deep/er/file.txt', content: 'x', mkdirp: true })).toMatchObject({ created: true });
    expect(await readFile(join(root, 'deep/er/file.txt'), 'utf8')).toBe('x');
    await expect(write({ path: 'inside.txt/below.txt', content: 'x', mkdirp: true })).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY' });
  });

  it('refuses a symlink at the target, even one pointing inside, and never writes through one', async () => {
    await expect(write({ path: 'link-in', content: 'x' })).rejects.toMatchObject({ code: 'FANOUT_SYMLINK_REFUSED', path: 'path' });
    await expect(write({ path: 'link-in', content: 'x', mode: 'append' })).rejects.toMatchObject({ code: 'FANOUT_SYMLINK_REFUSED' });
    await expect(write({ path: 'dangling-out', content: 'x', mode: 'create' })).rejects.toMatchObject({ code: 'FANOUT_SYMLINK_REFUSED' });
    await expect(write({ path: 'dir-out/target.txt', content: 'x' })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
    await expect(write({ path: 'dir-out/fresh/x.txt', content: 'x', mkdirp: true })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
    expect(await readFile(join(root, 'inside.txt'), 'utf8')).toBe('inside\n');
    expect(await readFile(join(base, 'outside', 'target.txt'), 'utf8')).toBe('outside\n');
    expect(await readdir(join(base, 'outside'))).toEqual(['target.txt']);
    expect((await lstat(join(root, 'link-in'))).isSymbolicLink()).toBe(true);
  });

  it('refuses a directory, and a FIFO unless appending', async () => {
    await expect(write({ path: 'sub', content: 'x' })).rejects.toMatchObject({ code: 'FANOUT_IS_DIRECTORY' });
    const fifo = join(root, 'refused.fifo');
    mkfifo(fifo);
    try {
      await expect(write({ path: 'refused.fifo', content: 'x' })).rejects.toMatchObject({ code: 'FANOUT_SPECIAL_FILE', message: expect.stringMatching(/append/) });
      await expect(write({ path: 'refused.fifo', content: 'x', mode: 'append' })).rejects.toMatchObject({ code: 'FANOUT_IO', message: expect.stringMatching(/reading the FIFO/) });
    } finally {
      await unlink(fifo);
    }
  });

  it('keeps the permission bits of a file it overwrites', async () => {
    await writeFile(join(root, 'script.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'script.sh'), 0o754);
    await write({ path: 'script.sh', content: '#!/bin/sh\necho hi\n' });
    expect((await stat(join(root, 'script.sh'))).mode & 0o777).toBe(0o754);
  });

  it('leaves no temporary file behind when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(adapter.run(adapter.input.parse({ path: 'sub/aborted.txt', content: 'x' }), attemptContext(controller.signal))).rejects.toThrow('stop');
    expect(await readdir(join(root, 'sub'))).toEqual([]);
  });

  it('takes a write lock on file:<absolute path>, and is not idempotent as a whole', () => {
    expect(adapter.locks!(adapter.input.parse({ path: 'sub/../a.txt', content: '' }))).toEqual([{ key: `file:${join(root, 'a.txt')}`, mode: 'write' }]);
    expect(adapter.defaults).toMatchObject({ maxConcurrency: 48, optimalConcurrency: 24, idempotent: false });
  });
});

describe('one file named through a directory symlink and through the directory', () => {
  beforeAll(async () => {
    await mkdir(join(root, 'aliased'));
    await symlink(join(root, 'aliased'), join(root, 'alias'));
  });

  it('takes one lock key for both names, resolved through the nearest existing directory', async () => {
    const key = (path: string): unknown => adapter.locks!(adapter.input.parse({ path, content: '' }))[0];
    expect(key('alias/x.txt')).toEqual({ key: `file:${join(root, 'aliased', 'x.txt')}`, mode: 'write' });
    expect(key('aliased/x.txt')).toEqual(key('alias/x.txt'));
    // A file that does not exist yet, in a directory that does not either.
    expect(key('alias/new/deeper/y.txt')).toEqual({ key: `file:${join(root, 'aliased', 'new', 'deeper', 'y.txt')}`, mode: 'write' });
    // The read adapter takes the same key, so a read by one name waits for a write by the other.
    const reader = readAdapter({ roots: [root] });
    expect(reader.locks!(reader.input.parse({ paths: ['alias/x.txt', 'aliased/x.txt'] }))).toEqual([
      { key: `file:${join(root, 'aliased', 'x.txt')}`, mode: 'read' },
      { key: `file:${join(root, 'aliased', 'x.txt')}`, mode: 'read' },
    ]);
  });

  it('never interleaves appends made through either name in one run', async () => {
    // Twelve appends of 8 MiB, each one letter and a newline, alternating the two names: each
    // goes in two write(2) slices, so two at once would interleave their halves.
    const size = 8 * 1024 * 1024;
    const letters = 'ABCDEFGHIJKL';
    const result = await createScheduler({ adapters: [adapter] }).execute({
      operations: [...letters].map((letter, i) => ({
        id: `append-${letter}`,
        kind: 'write',
        input: { path: `${i % 2 === 0 ? 'aliased' : 'alias'}/appended.txt`, content: `${letter.repeat(size - 1)}\n`, mode: 'append', fsync: false },
      })),
    });
    expect(result.summary.byState.succeeded).toBe(12);
    const lines = (await readFile(join(root, 'aliased', 'appended.txt'), 'latin1')).split('\n').slice(0, -1);
    const whole = lines.filter((line) => line.length === size - 1 && line === line[0]!.repeat(size - 1));
    expect(whole.length, 'appends that ended whole, on a line of their own').toBe(12);
    expect(new Set(whole.map((line) => line[0])).size).toBe(12);
  }, 120_000);
});

describe('fifty concurrent writes to one path', () => {
  const contents = Array.from({ length: 50 }, (_, i) => String.fromCharCode(65 + (i % 26)).repeat(64 * 1024 + i));

  /** Reads the file over and over until `done`, recording every content seen. */
  async function watch(path: string, done: () => boolean): Promise<Set<string>> {
    const seen = new Set<string>();
    while (!done()) {
      try {
        seen.add(await readFile(path, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return seen;
  }

  it('through the scheduler: the lock keeps them apart, and the file ends whole', async () => {
    const path = join(root, 'contended.txt');
    // Count the writes really in progress (events may report a finish after the next start).
    let running = 0;
    let most = 0;
    const counted: Adapter<WriteInput, WriteOutput> = {
      ...adapter,
      async run(input, ctx) {
        most = Math.max(most, ++running);
        try {
          return await adapter.run(input, ctx);
        } finally {
          running--;
        }
      },
    };
    const run = createScheduler({ adapters: [counted] }).run({
      operations: contents.map((content, i) => ({ id: `w${i}`, kind: 'write', input: { path: 'contended.txt', content, fsync: false } })),
    });
    let finished = false;
    const seen = watch(path, () => finished);
    const result = await run.result;
    finished = true;
    expect(result.summary.byState.succeeded).toBe(50);
    expect(most).toBe(1);
    const final = await readFile(path, 'utf8');
    expect(contents).toContain(final);
    for (const content of await seen) expect(contents).toContain(content);
    expect((await readdir(root)).filter((name) => name.includes('contended') && name !== 'contended.txt')).toEqual([]);
  });

  it('without the lock, the atomic rename alone never lets a reader see a torn file', async () => {
    const path = join(root, 'unlocked.txt');
    await writeFile(path, contents[0]!);
    let finished = false;
    let running = 0;
    let most = 0;
    const seen = watch(path, () => finished);
    const writes = await Promise.all(
      contents.map(async (content) => {
        most = Math.max(most, ++running);
        try {
          return await write({ path: 'unlocked.txt', content, fsync: false });
        } finally {
          running--;
        }
      }),
    );
    finished = true;
    // They really overlapped: nothing but the rename kept them apart.
    expect(most).toBeGreaterThan(1);
    expect(writes.every((output) => output.bytes >= 64 * 1024)).toBe(true);
    const observed = await seen;
    expect(observed.size).toBeGreaterThan(0);
    for (const content of observed) expect(contents).toContain(content);
    expect(contents).toContain(await readFile(path, 'utf8'));
    expect((await readdir(root)).filter((name) => name.includes('unlocked') && name !== 'unlocked.txt')).toEqual([]);
  });
});
