/*
 * The symlink swap race: a directory inside the root is swapped, over and over by another
 * process, for a symlink to a directory outside it, while reads and writes go through it.
 * A check of the path before opening cannot win this race; only a check of what was really
 * opened can. The loops are bounded by a count of operations, not by time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError } from '../../src/errors.js';
import { readAdapter, writeAdapter, type ReadInput, type ReadOutput, type WriteInput } from '../../src/fs/index.js';
import { attemptContext, tempDir } from './fs-fixtures.js';
import { Swapper } from './swapper.js';

const base = tempDir('race');
const root = join(base, 'root');
const outside = join(base, 'outside');
/** The directory the swapper moves around: `root/sub` when it is in place. */
const sub = join(root, 'sub');
/** Codes an attempt may fail with while the swap runs: refused as outside, or caught mid-swap with `sub` absent. */
const EXPECTED_CODES = new Set(['FANOUT_PATH_OUTSIDE_ROOT', 'FANOUT_NOT_FOUND', 'FANOUT_SYMLINK_REFUSED']);

/** Swaps `sub` for a symlink to `outside` and back, in another process (./swapper.ts). */
let swapper: Swapper;

beforeAll(async () => {
  await mkdir(sub, { recursive: true });
  await mkdir(outside);
  await writeFile(join(sub, 'secret.txt'), 'inside\n');
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE\n');
  swapper = await Swapper.create(root, 'sub', outside);
});
afterAll(async () => {
  await swapper.stop();
  await rm(base, { recursive: true, force: true });
});

/** What came of many attempts: successes, and failures counted by code. */
class Tally {
  ok = 0;
  readonly codes = new Map<string, number>();
  fail(error: unknown): void {
    const code = error instanceof AdapterError ? error.code : `not an AdapterError: ${String(error)}`;
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }
  get unexpected(): string[] {
    return [...this.codes.keys()].filter((code) => !EXPECTED_CODES.has(code));
  }
}

describe('a directory swapped for a symlink to the outside during a run', () => {
  it('never lets a read return the outside file: each such attempt fails as outside the roots', async () => {
    const read = readAdapter({ roots: [root] });
    const run = async (input: ReadInput): Promise<ReadOutput> => read.run(read.input.parse(input), attemptContext());
    const tally = new Tally();
    let escaped = 0;
    await swapper.start();
    try {
      const limit = pLimit(16);
      await Promise.all(
        Array.from({ length: 3000 }, () =>
          limit(async () => {
            try {
              const { files } = await run({ path: 'sub/secret.txt' });
              const file = files[0]!;
              if (file.ok && file.text === 'OUTSIDE\n') escaped++;
              else if (file.ok) tally.ok++;
            } catch (error) {
              tally.fail(error);
            }
          }),
        ),
      );
    } finally {
      await swapper.stop();
    }
    expect(escaped, 'reads that returned the file outside the root').toBe(0);
    expect(tally.unexpected).toEqual([]);
    // The race really ran: some reads got through, and some were refused as outside.
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.codes.get('FANOUT_PATH_OUTSIDE_ROOT') ?? 0).toBeGreaterThan(0);
  });

  it('never lets a write land outside, whether it replaces, appends or creates its directory', async () => {
    const write = writeAdapter({ roots: [root] });
    const run = async (input: WriteInput): Promise<unknown> => write.run(write.input.parse(input), attemptContext());
    const tally = new Tally();
    const reported: string[] = [];
    const inputs: WriteInput[] = Array.from({ length: 2400 }, (_, i): WriteInput => {
      switch (i % 3) {
        case 0:
          return { path: `sub/w-${i}.txt`, content: `${i}\n`, fsync: false };
        case 1:
          return { path: `sub/a-${i}.txt`, content: `${i}\n`, mode: 'append', fsync: false };
        default:
          return { path: `sub/d-${i}/f.txt`, content: `${i}\n`, mkdirp: true, fsync: false };
      }
    });
    await swapper.start();
    try {
      const limit = pLimit(16);
      await Promise.all(
        inputs.map((input) =>
          limit(async () => {
            try {
              await run(input);
              tally.ok++;
              reported.push(input.path);
            } catch (error) {
              tally.fail(error);
            }
          }),
        ),
      );
    } finally {
      await swapper.stop();
    }
    const landedOutside = readdirSync(outside).filter((name) => name !== 'secret.txt');
    expect(landedOutside, 'files and directories written outside the root').toEqual([]);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE\n');
    // Every write reported as done is really inside: in the directory, or in one a write made
    // while it was missing (moved aside by the swapper).
    const homes = [
      sub,
      ...readdirSync(root)
        .filter((name) => name.startsWith('.stray-'))
        .map((name) => join(root, name)),
    ];
    const missing = reported.filter((path) => !homes.some((home) => existsSync(join(home, path.slice('sub/'.length)))));
    expect(missing, 'writes reported done but not found inside').toEqual([]);
    expect(tally.unexpected).toEqual([]);
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.codes.get('FANOUT_PATH_OUTSIDE_ROOT') ?? 0).toBeGreaterThan(0);
  });
});
