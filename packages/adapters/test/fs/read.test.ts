import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createScheduler } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdapter, type ReadFileOk, type ReadInput, type ReadOutput } from '../../src/fs/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { attemptContext, mkfifo, openDescriptors, tempDir, writeTree } from './fs-fixtures.js';

// The roots exist before the suite is collected: the conformance subject is built with them.
const base = tempDir('read');
const root = join(base, 'root');
const adapter = readAdapter({ roots: [root] });
let serial = 0;

beforeAll(async () => {
  await writeTree(root, {
    'a.txt': 'one\ntwo\nthree\n',
    'no-newline.txt': 'alpha\nbeta\ngamma',
    'crlf.txt': 'a\r\nb\r\nc\r\n',
    'empty.txt': '',
    'utf8.txt': 'héllo wörld €\n',
    'dir/inner.txt': 'inner\n',
  });
  await writeTree(base, { 'outside.txt': 'secret\n', 'root_evil.txt': 'secret\n' });
  await symlink(join(base, 'outside.txt'), join(root, 'link-out'));
  await symlink(join(root, 'a.txt'), join(root, 'link-in'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function read(input: ReadInput): Promise<ReadOutput> {
  return adapter.run(adapter.input.parse(input), attemptContext());
}

async function readOne(input: Omit<ReadInput, 'paths'>): Promise<ReadFileOk> {
  const { files } = await read(input);
  const file = files[0]!;
  if (!file.ok) throw new Error(`expected ok, got ${file.error.code}: ${file.error.message}`);
  return file;
}

describeConformance<ReadInput>({
  adapter,
  valid: async () => ({ input: { path: 'a.txt' } }),
  invalid: [
    { input: {}, field: 'path' },
    { input: { paths: [] }, field: 'paths' },
    { input: { path: 'a.txt', paths: ['a.txt'] }, field: 'paths' },
    { input: { path: 'a\0.txt' }, field: 'path' },
    { input: { path: 'a.txt', head: 0 }, field: 'head' },
    { input: { path: 'a.txt', head: 2, tail: 2 }, field: 'tail' },
    { input: { path: 'a.txt', from: 5, to: 2 }, field: 'to' },
    { input: { path: 'a.txt', encoding: 'klingon' }, field: 'encoding' },
    { input: { path: 'a.txt', maxBytes: -1 }, field: 'maxBytes' },
    { input: { path: 'a.txt', lines: 3 }, field: 'lines' },
    // Refused against the real file system: outside the roots, or through a symlink out.
    { input: { path: '../outside.txt' }, field: 'path' },
    { input: { path: join(base, 'root_evil.txt') }, field: 'path' },
    { input: { paths: ['link-out'] }, field: 'paths' },
  ],
  // A FIFO nobody writes to, read because the input asks: the read waits for data for ever, holding the pipe open.
  slow: async () => {
    const fifo = join(root, `slow-${serial++}.fifo`);
    mkfifo(fifo);
    return {
      input: { path: fifo, fifo: true },
      stopped: async () => openDescriptors(fifo).length === 0,
      cleanup: () => unlink(fifo),
    };
  },
  big: async () => {
    const path = join(root, `big-${serial++}.txt`);
    await writeFile(path, 'x'.repeat(3 * 1024 * 1024));
    return {
      input: { path, maxBytes: 1000 },
      within: (output) => Buffer.byteLength((output as ReadOutput).files.map((file) => (file.ok ? (file.text ?? '') : '')).join('')) <= 1000,
      saysCut: (output) => (output as ReadOutput).files.every((file) => file.ok && file.truncated),
      cleanup: () => unlink(path),
    };
  },
});

describe('read', () => {
  it('reads a whole file, with its size and absolute path', async () => {
    const file = await readOne({ path: 'a.txt' });
    expect(file).toEqual({ path: join(root, 'a.txt'), ok: true, text: 'one\ntwo\nthree\n', encoding: 'utf8', bytes: 14, binary: false, truncated: false });
    expect((await readOne({ path: join(root, 'dir', '..', 'a.txt') })).path).toBe(join(root, 'a.txt'));
  });

  it('reads many paths in request order, one failure not failing the others', async () => {
    const { files } = await read({ paths: ['dir/inner.txt', 'missing.txt', 'a.txt', 'dir', 'link-out', 'link-in'] });
    expect(files.map((file) => file.path)).toEqual(['dir/inner.txt', 'missing.txt', 'a.txt', 'dir', 'link-out', 'link-in'].map((p) => join(root, p)));
    expect(files.map((file) => (file.ok ? 'ok' : file.error.code))).toEqual(['ok', 'FANOUT_NOT_FOUND', 'ok', 'FANOUT_IS_DIRECTORY', 'FANOUT_PATH_OUTSIDE_ROOT', 'ok']);
    const failed = files[1]!;
    expect(!failed.ok && failed.error.message).toMatch(/paths\[1\].*missing\.txt.*does not/);
    expect(files[5]!.ok && files[5]!.text).toBe('one\ntwo\nthree\n');
  });

  it('fails the operation only when every path failed, with the path error when there was one', async () => {
    await expect(read({ path: 'missing.txt' })).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'path' });
    await expect(read({ paths: ['missing.txt', 'dir'] })).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'paths', message: expect.stringMatching(/all failed.*paths\[0\].*paths\[1\]/) });
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'r', kind: 'read', input: { paths: ['missing.txt', 'a.txt'] } }] });
    expect(result.get('r')!.state).toBe('succeeded');
  });

  it('detects binary files by a NUL in the first 8 KiB, and gives their bytes only when asked in base64 or hex', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff]);
    await writeFile(join(root, 'image.png'), bytes);
    const late = Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from([0])]);
    await writeFile(join(root, 'late-nul.txt'), late);
    const binary = await readOne({ path: 'image.png' });
    expect(binary).toEqual({ path: join(root, 'image.png'), ok: true, encoding: 'utf8', bytes: 7, binary: true, truncated: false });
    expect((await readOne({ path: 'image.png', encoding: 'base64' })).text).toBe(bytes.toString('base64'));
    expect((await readOne({ path: 'image.png', encoding: 'hex' })).text).toBe('89504e470001ff');
    expect((await readOne({ path: 'late-nul.txt' })).binary).toBe(false);
    // A cap below 8 KiB still looks at the first 8 KiB.
    await writeFile(join(root, 'nul-at-5000.bin'), Buffer.concat([Buffer.alloc(5000, 0x61), Buffer.from([0])]));
    expect(await readOne({ path: 'nul-at-5000.bin', maxBytes: 100 })).toMatchObject({ binary: true, truncated: false });
  });

  it('decodes the encodings Node supports', async () => {
    await writeFile(join(root, 'latin1.txt'), Buffer.from('café\n', 'latin1'));
    await writeFile(join(root, 'utf16.txt'), Buffer.from('zwei\nZeilen\n', 'utf16le'));
    expect((await readOne({ path: 'latin1.txt', encoding: 'latin1' })).text).toBe('café\n');
    expect(await readOne({ path: 'utf16.txt', encoding: 'utf-16le' })).toMatchObject({ text: 'zwei\nZeilen\n', encoding: 'utf16le', binary: false });
    expect(await readOne({ path: 'utf16.txt', encoding: 'ucs2', tail: 1 })).toMatchObject({ text: 'Zeilen\n', lines: { from: 2, to: 2, total: 2 } });
    expect((await readOne({ path: 'utf8.txt', encoding: 'utf-8' })).text).toBe('héllo wörld €\n');
  });

  it('cuts at maxBytes without splitting a character, and says so', async () => {
    const cut = await readOne({ path: 'utf8.txt', maxBytes: 2 });
    expect(cut).toMatchObject({ text: 'h', truncated: true, bytes: Buffer.byteLength('héllo wörld €\n') });
    const euro = await readOne({ path: 'utf8.txt', maxBytes: Buffer.byteLength('héllo wörld €') - 1 });
    expect(euro.text).toBe('héllo wörld ');
    expect(await readOne({ path: 'a.txt', maxBytes: 14 })).toMatchObject({ text: 'one\ntwo\nthree\n', truncated: false });
    expect(await readOne({ path: 'a.txt', maxBytes: 0 })).toMatchObject({ text: '', truncated: true });
    expect(await readOne({ path: 'empty.txt', maxBytes: 0 })).toMatchObject({ text: '', truncated: false, bytes: 0 });
  });

  it('reads line ranges: head, tail and from–to, 1-based and inclusive', async () => {
    expect((await readOne({ path: 'a.txt', head: 2 })).lines).toEqual({ from: 1, to: 2 });
    // Stopping exactly at the end still knows the count.
    expect((await readOne({ path: 'a.txt', head: 3 })).lines).toEqual({ from: 1, to: 3, total: 3 });
    expect(await readOne({ path: 'a.txt', head: 9 })).toMatchObject({ text: 'one\ntwo\nthree\n', lines: { from: 1, to: 3, total: 3 } });
    expect(await readOne({ path: 'a.txt', tail: 1 })).toMatchObject({ text: 'three\n', lines: { from: 3, to: 3, total: 3 } });
    expect(await readOne({ path: 'a.txt', tail: 7 })).toMatchObject({ text: 'one\ntwo\nthree\n', lines: { from: 1, to: 3, total: 3 } });
    expect(await readOne({ path: 'a.txt', from: 2, to: 2 })).toMatchObject({ text: 'two\n', lines: { from: 2, to: 2 } });
    expect(await readOne({ path: 'a.txt', from: 2 })).toMatchObject({ text: 'two\nthree\n', lines: { from: 2, to: 3, total: 3 } });
    expect(await readOne({ path: 'a.txt', to: 1 })).toMatchObject({ text: 'one\n', lines: { from: 1, to: 1 } });
    expect(await readOne({ path: 'a.txt', from: 5, to: 9 })).toMatchObject({ text: '', lines: { from: 5, to: 4, total: 3 } });
    expect(await readOne({ path: 'no-newline.txt', tail: 1 })).toMatchObject({ text: 'gamma', lines: { from: 3, to: 3, total: 3 } });
    expect(await readOne({ path: 'no-newline.txt', from: 3 })).toMatchObject({ text: 'gamma', lines: { from: 3, to: 3, total: 3 } });
    expect(await readOne({ path: 'crlf.txt', tail: 2 })).toMatchObject({ text: 'b\r\nc\r\n', lines: { from: 2, to: 3, total: 3 } });
    expect(await readOne({ path: 'empty.txt', tail: 3 })).toMatchObject({ text: '', lines: { from: 1, to: 0, total: 0 } });
    expect(await readOne({ path: 'a.txt', head: 3, maxBytes: 5 })).toMatchObject({ text: 'one\nt', truncated: true, lines: { from: 1, to: 2 } });
  });

  it('reads ranges of a large file by streaming, the tail from its end', async () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i + 1}`);
    await writeFile(join(root, 'large.log'), `${lines.join('\n')}\n`);
    expect(await readOne({ path: 'large.log', tail: 2 })).toMatchObject({ text: 'line 199999\nline 200000\n', lines: { from: 199_999, to: 200_000, total: 200_000 } });
    expect(await readOne({ path: 'large.log', from: 150_000, to: 150_001 })).toMatchObject({ text: 'line 150000\nline 150001\n', lines: { from: 150_000, to: 150_001 } });
    expect((await readOne({ path: 'large.log', head: 1 })).lines).toEqual({ from: 1, to: 1 });
  });

  it('keeps the operation within maxTotalBytes over all its files', async () => {
    await writeTree(root, { 'total/1.txt': 'a'.repeat(600), 'total/2.txt': 'b'.repeat(600), 'total/3.txt': 'c'.repeat(600) });
    const { files } = await read({ paths: ['total/1.txt', 'total/2.txt', 'total/3.txt'], maxTotalBytes: 1000, concurrency: 1 });
    const kept = files.map((file) => (file.ok ? (file.text ?? '').length : -1));
    expect(kept.reduce((sum, n) => sum + n, 0)).toBe(1000);
    expect(kept).toEqual([600, 400, 0]);
    expect(files.map((file) => file.ok && file.truncated)).toEqual([false, true, true]);
  });

  it('holds back only what each file can keep: many small files read at once all fit a total that holds them', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `small/${String(i).padStart(2, '0')}.txt`);
    await writeTree(root, Object.fromEntries(names.map((name, i) => [name, String.fromCharCode(97 + i).repeat(100)])));
    // 20 files of 100 bytes in 2,000: whole, although 20 caps of 500 would be 10,000.
    const { files } = await read({ paths: names, maxBytes: 500, maxTotalBytes: 2000, concurrency: 20 });
    expect(files.map((file) => (file.ok ? [file.text, file.truncated] : file.error.code))).toEqual(names.map((_, i) => [String.fromCharCode(97 + i).repeat(100), false]));
    // One byte less, and exactly one byte is missing, from a file marked cut.
    const short = await read({ paths: names, maxBytes: 500, maxTotalBytes: 1999, concurrency: 20 });
    const kept = short.files.map((file) => (file.ok ? (file.text ?? '').length : -1));
    expect(kept.reduce((sum, n) => sum + n, 0)).toBe(1999);
    expect(short.files.filter((file) => file.ok && file.truncated)).toHaveLength(1);
  });

  it('refuses a FIFO nobody writes to at once, in one attempt, unless the input asks to read it', async () => {
    const fifo = join(root, 'idle.fifo');
    mkfifo(fifo);
    try {
      // Through a scheduler with the adapter's own defaults (timeout, retries), as a plan runs it.
      const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'r', kind: 'read', input: { path: 'idle.fifo' } }] });
      const op = result.get('r')!;
      expect(op).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'FANOUT_SPECIAL_FILE', message: expect.stringMatching(/regular file, got a FIFO.*"fifo": true/) } });
      expect(openDescriptors(fifo)).toEqual([]);
      // Among other paths, only the FIFO fails.
      const { files } = await read({ paths: ['a.txt', 'idle.fifo'] });
      expect(files.map((file) => (file.ok ? 'ok' : file.error.code))).toEqual(['ok', 'FANOUT_SPECIAL_FILE']);
    } finally {
      await unlink(fifo);
    }
  }, 20_000);

  it('refuses sockets and devices as special files', async () => {
    await expect(read({ path: '/dev/null' })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT' });
    const devices = readAdapter({ roots: ['/dev'] });
    await expect(devices.run(devices.input.parse({ path: '/dev/null' }), attemptContext())).rejects.toMatchObject({ code: 'FANOUT_SPECIAL_FILE', message: expect.stringMatching(/regular file, got a character device/) });
  });

  it('reads a FIFO a writer fills when asked, and refuses its tail', async () => {
    const fifo = join(root, 'filled.fifo');
    mkfifo(fifo);
    try {
      const pending = read({ path: fifo, head: 2, fifo: true });
      // Open the write end once the reader holds the read end (O_NONBLOCK fails until then).
      let fd = -1;
      for (let tries = 0; fd === -1 && tries < 500; tries++) {
        try {
          fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      writeSync(fd, 'first\nsecond\nthird\n');
      closeSync(fd);
      const { files } = await pending;
      expect(files[0]).toMatchObject({ ok: true, text: 'first\nsecond\n', lines: { from: 1, to: 2 } });
      await expect(read({ path: fifo, tail: 1, fifo: true })).rejects.toMatchObject({ code: 'FANOUT_SPECIAL_FILE', message: expect.stringMatching(/tail.*FIFO/) });
    } finally {
      await unlink(fifo);
    }
  });

  it('takes a read lock on file:<absolute path> for each path', () => {
    expect(adapter.locks!(adapter.input.parse({ paths: ['a.txt', 'dir/../b.txt'] }))).toEqual([
      { key: `file:${join(root, 'a.txt')}`, mode: 'read' },
      { key: `file:${join(root, 'b.txt')}`, mode: 'read' },
    ]);
  });

  it('declares the file operation defaults, idempotent', () => {
    expect(adapter.defaults).toMatchObject({ maxConcurrency: 48, optimalConcurrency: 24, idempotent: true, timeoutMs: 30_000 });
    expect(readAdapter({ timeoutMs: 5 }).defaults?.timeoutMs).toBe(5);
  });

  it('stops at once when aborted while many paths wait', async () => {
    await mkdir(join(root, 'many'), { recursive: true });
    const fifo = join(root, 'many', 'blocker.fifo');
    mkfifo(fifo);
    try {
      const controller = new AbortController();
      const paths = [fifo, ...Array.from({ length: 50 }, () => 'a.txt')];
      const pending = adapter.run(adapter.input.parse({ paths, concurrency: 1, fifo: true }), attemptContext(controller.signal));
      // Abort while the FIFO is really held open and the other fifty wait in the queue.
      for (let tries = 0; openDescriptors(fifo).length === 0 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(openDescriptors(fifo)).toHaveLength(1);
      controller.abort(new Error('stop'));
      await expect(pending).rejects.toThrow('stop');
      expect(openDescriptors(fifo)).toEqual([]);
    } finally {
      await unlink(fifo);
    }
  });
});
