/**
 * `read` opens and reads small files on the main thread, in slices of each turn of the event
 * loop (src/fs/sync-slices.ts). Every outcome is the one the thread pool gives, and the loop
 * turns between slices: counted in turns here, never in time (the slices' clock is the test's).
 */
import { chmod, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdapter, type ReadInput, type ReadOutput } from '../../src/fs/index.js';
import { readdirSync, readlinkSync } from 'node:fs';
import { attemptContext, mkfifo, tempDir, writeTree } from './fs-fixtures.js';

const base = tempDir('read-sync');
const root = join(base, 'root');
const asRoot = process.getuid?.() === 0;

beforeAll(async () => {
  await writeTree(root, {
    'a.txt': 'one\ntwo\nthree\n',
    'utf8.txt': 'héllo wörld €\n',
    'empty.txt': '',
    'dir/inner.txt': 'inner\n',
    'image.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff]),
    'late-nul.txt': Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from([0])]),
    'large.txt': 'x'.repeat(200_000),
    'locked.txt': 'no one may read this\n',
    ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`slices/${i}.txt`, String(i).repeat(100)])),
  });
  await writeTree(base, { 'outside.txt': 'secret\n' });
  await symlink(join(base, 'outside.txt'), join(root, 'link-out'));
  await symlink(join(root, 'a.txt'), join(root, 'link-in'));
  await chmod(join(root, 'locked.txt'), 0o000);
  mkfifo(join(root, 'idle.fifo'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The descriptors this process holds open on anything under `dir`. */
function openUnder(dir: string): string[] {
  const found: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) found.push(target);
    } catch {
      // Closed while we looked (readdir's own, for one).
    }
  }
  return found;
}

async function run(adapter: ReturnType<typeof readAdapter>, input: ReadInput, signal?: AbortSignal): Promise<ReadOutput> {
  return await adapter.run(adapter.input.parse(input), attemptContext(signal));
}

/** What a read gives, or the code and message of the error it fails with. */
async function outcome(adapter: ReturnType<typeof readAdapter>, input: ReadInput): Promise<unknown> {
  try {
    return await run(adapter, input);
  } catch (error) {
    return { code: (error as { code?: unknown }).code, message: (error as Error).message, path: (error as { path?: unknown }).path };
  }
}

const PATHS = [
  'a.txt',
  'missing.txt',
  'dir',
  'dir/inner.txt',
  'dir/missing/deeper.txt',
  'a.txt/below-a-file',
  'link-out',
  'link-in',
  '../outside.txt',
  'utf8.txt',
  'empty.txt',
  'image.png',
  'late-nul.txt',
  'large.txt',
  'idle.fifo',
  'locked.txt',
  join(root, 'dir', '..', 'a.txt'),
];

describe('read on the main thread, in slices', () => {
  const pooled = readAdapter({ roots: [root], syncReads: false });
  // A small file cap, so that some files here go through the pool after a synchronous open.
  const sliced = readAdapter({ roots: [root], syncReads: { fileBytes: 8192 } });
  const shared = readAdapter({ roots: [root] });

  it('gives every file and every error as the thread pool does', async () => {
    const inputs: ReadInput[] = [
      { paths: PATHS },
      { paths: PATHS, maxBytes: 5 },
      { paths: PATHS, encoding: 'base64' },
      { paths: PATHS, encoding: 'latin1', maxTotalBytes: 9000, concurrency: 1 },
      { paths: ['a.txt', 'utf8.txt'], head: 1 },
      ...PATHS.map((path) => ({ path })),
      { paths: ['missing.txt', 'dir', 'link-out'] },
    ];
    for (const input of inputs) {
      const expected = await outcome(pooled, input);
      expect(await outcome(sliced, input), JSON.stringify(input)).toEqual(expected);
      expect(await outcome(shared, input), JSON.stringify(input)).toEqual(expected);
    }
    // The outcomes compared are the ones each case calls for.
    const { files } = await run(sliced, { paths: PATHS });
    expect(files.map((file) => (file.ok ? 'ok' : file.error.code))).toEqual([
      'ok',
      'FANOUT_NOT_FOUND',
      'FANOUT_IS_DIRECTORY',
      'ok',
      'FANOUT_NOT_FOUND',
      'FANOUT_NOT_FOUND',
      'FANOUT_PATH_OUTSIDE_ROOT',
      'ok',
      'FANOUT_PATH_OUTSIDE_ROOT',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'FANOUT_SPECIAL_FILE',
      // root reads a file whatever its mode; anyone else is refused.
      asRoot ? 'ok' : 'FANOUT_IO',
      'ok',
    ]);
    expect(openUnder(root)).toEqual([]);
  });

  it('lets the event loop turn between slices: a slice ends once it has read its bytes', async () => {
    const turns = countTurns();
    // The turn each file starts in, as counted in turns when the slices' clock is read.
    const startedIn: number[] = [];
    let reads = 0;
    const adapter = readAdapter({
      roots: [root],
      syncReads: {
        ms: Number.POSITIVE_INFINITY,
        bytes: 250,
        now: () => {
          // Read at each file's start and at its end.
          if (reads++ % 2 === 0) startedIn.push(turns.count);
          return 0;
        },
      },
    });
    const paths = Array.from({ length: 10 }, (_, i) => `slices/${i}.txt`);
    const { files } = await run(adapter, { paths });
    turns.stop();
    expect(files.map((file) => file.ok && file.text)).toEqual(paths.map((_, i) => String(i).repeat(100)));
    // 100 bytes a file, 250 a slice: three files a turn, then the loop turns.
    expect(startedIn).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3]);
  });

  it('shares one slice between the operations read at once', async () => {
    const adapter = readAdapter({ roots: [root], syncReads: { ms: Number.POSITIVE_INFINITY, bytes: 250, now: () => 0 } });
    const paths = Array.from({ length: 5 }, (_, i) => `slices/${i}.txt`);
    const turns = countTurns();
    const [first, second] = await Promise.all([run(adapter, { paths }), run(adapter, { paths })]);
    turns.stop();
    expect([...first.files, ...second.files].every((file) => file.ok)).toBe(true);
    // Ten files of 100 bytes, three a turn whichever operation they belong to: the fourth turn reads the last.
    expect(turns.count).toBeGreaterThanOrEqual(3);
    expect(turns.count).toBeLessThanOrEqual(4);
  });

  it('reads the rest of an operation through the pool once a file was slow', async () => {
    let clock = 0;
    let reads = 0;
    const adapter = readAdapter({
      roots: [root],
      syncReads: {
        ms: Number.POSITIVE_INFINITY,
        slowMs: 10,
        now: () => {
          reads++;
          clock += 20; // every synchronous file takes 20 "ms"
          return clock;
        },
      },
    });
    const paths = Array.from({ length: 4 }, (_, i) => `slices/${i}.txt`);
    const { files } = await run(adapter, { paths, concurrency: 1 });
    expect(files.map((file) => file.ok && file.text)).toEqual(paths.map((_, i) => String(i).repeat(100)));
    // The first file's start and end only: the others went through the pool.
    expect(reads).toBe(2);
    // The next operation starts synchronous again.
    await run(adapter, { path: 'a.txt' });
    expect(reads).toBe(4);
  });

  it('stops between slices when aborted, leaving nothing open', async () => {
    const controller = new AbortController();
    let reads = 0;
    const adapter = readAdapter({
      roots: [root],
      syncReads: {
        ms: Number.POSITIVE_INFINITY,
        bytes: 250,
        now: () => {
          // Aborted at the end of the third file: the slice is spent, the others wait for the next turn.
          if (++reads === 6) controller.abort(new Error('stop'));
          return 0;
        },
      },
    });
    const paths = Array.from({ length: 10 }, (_, i) => `slices/${i}.txt`);
    await expect(run(adapter, { paths }, controller.signal)).rejects.toThrow('stop');
    expect(reads).toBe(6);
    expect(openUnder(root)).toEqual([]);
  });
});

/** Counts the turns of the event loop (one `setImmediate` a turn) until stopped. */
function countTurns(): { readonly count: number; stop(): void } {
  let count = 0;
  let counting = true;
  const tick = (): void => {
    count++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get count() {
      return count;
    },
    stop() {
      counting = false;
    },
  };
}
