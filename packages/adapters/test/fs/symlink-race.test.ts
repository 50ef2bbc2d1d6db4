/*
 * The symlink swap race: a directory inside the root is swapped, over and over by another
 * process, for a symlink to a directory outside it, while reads and writes go through it.
 * A check of the path before opening cannot win this race; only a check of what was really
 * opened can. The loops are bounded by a count of operations, not by time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterError } from '../../src/errors.js';
import { readAdapter, writeAdapter, type ReadInput, type ReadOutput, type WriteInput } from '../../src/fs/index.js';
import { attemptContext, tempDir } from './fs-fixtures.js';

const base = tempDir('race');
const root = join(base, 'root');
const outside = join(base, 'outside');
/** The directory the swapper moves around: `root/sub` when it is in place. */
const sub = join(root, 'sub');
/** Where the real directory waits while `sub` is the symlink (inside the root). */
const parked = join(root, '.parked');
/** Where the symlink waits while `sub` is the directory. */
const spare = join(root, '.spare-link');

/** Codes an attempt may fail with while the swap runs: refused as outside, or caught mid-swap with `sub` absent. */
const EXPECTED_CODES = new Set(['FANOUT_PATH_OUTSIDE_ROOT', 'FANOUT_NOT_FOUND', 'FANOUT_SYMLINK_REFUSED']);

/** Where the swapper moves a directory a write made at `sub` while it was missing (`mkdirp`). */
const STRAY = join(root, '.stray-');

/*
 * The swapper: four renames per round, so `sub` is a directory, then missing, then the symlink
 * out, then missing again. While `sub` is missing a write with \`mkdirp\` may make a new
 * directory there, as it should: the swapper moves it aside (inside the root) and goes on.
 * It says "ready" once, then loops until it is killed.
 */
const SWAPPER = `
const { renameSync } = require('node:fs');
const { SUB: sub, PARKED: parked, SPARE: spare, STRAY: stray } = process.env;
let strays = 0;
function place(from, to) {
  for (;;) {
    try {
      return renameSync(from, to);
    } catch (error) {
      if (!['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(error.code)) throw error;
      renameSync(to, stray + strays++);
    }
  }
}
process.stdout.write('ready\\n');
for (;;) {
  renameSync(sub, parked);
  place(spare, sub);
  renameSync(sub, spare);
  place(parked, sub);
}
`;

let swapper: ChildProcess | undefined;

async function startSwapper(): Promise<void> {
  swapper = spawn(process.execPath, ['-e', SWAPPER], { env: { ...process.env, SUB: sub, PARKED: parked, SPARE: spare, STRAY }, stdio: ['ignore', 'pipe', 'inherit'] });
  await once(swapper.stdout!, 'data');
}

/** Stops the swapper and puts the real directory back at `sub`, wherever the swap was. */
async function stopSwapper(): Promise<void> {
  if (swapper === undefined) return;
  if (swapper.exitCode === null && swapper.signalCode === null) {
    const exited = once(swapper, 'exit');
    swapper.kill('SIGKILL');
    await exited;
  }
  swapper = undefined;
  if (existsSync(sub) && lstatSync(sub).isSymbolicLink()) renameSync(sub, spare);
  if (existsSync(parked)) {
    if (existsSync(sub)) renameSync(sub, `${STRAY}last`);
    renameSync(parked, sub);
  }
  if (!existsSync(spare)) throw new Error('the swapper lost its symlink');
}

beforeAll(async () => {
  await mkdir(sub, { recursive: true });
  await mkdir(outside);
  await writeFile(join(sub, 'secret.txt'), 'inside\n');
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE\n');
  await symlink(outside, spare);
});
afterAll(async () => {
  await stopSwapper();
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
    await startSwapper();
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
      await stopSwapper();
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
    await startSwapper();
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
      await stopSwapper();
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
