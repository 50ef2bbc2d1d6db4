/*
 * The symlink swap race for the scans: a directory inside the root is swapped, over and over
 * by another process, for a symlink to a directory outside it, while greps, globs and
 * analyses walk the root. Checking a path before listing or opening it cannot win this race;
 * only a check of what was really listed or opened can (see `open-inside.ts`). The loops are
 * bounded by a count of operations, not by time: each kind runs RUNS times, more (up to MAX_RUNS)
 * until one attempt has met the symlink.
 *
 * Before the scans checked what they opened, every kind leaked (measured here, 8,000 runs of
 * each, none refused): grep on the main thread 50 results with outside lines or names, grep
 * in worker threads 531, glob 66 listings with an outside name, analyze (markers) 452.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeAdapter } from '../../src/analyze/index.js';
import { fsScan, globAdapter, grepAdapter, type FsScan } from '../../src/fs/index.js';
import { attemptContext, tempDir } from './fs-fixtures.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { Swapper } from './swapper.js';

const RUNS = 1000;
const MAX_RUNS = 8000;
const base = tempDir('scan-race');
const root = join(base, 'root');
const outside = join(base, 'outside');
let worker: CompiledGrepWorker;
let swapper: Swapper;
let scan: FsScan;

beforeAll(async () => {
  worker = await compileGrepWorker();
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(root, 'top.txt'), 'inside TODO top\n');
  await writeFile(join(root, 'sub', 'secret.txt'), 'inside TODO secret\n');
  await writeFile(join(outside, 'secret.txt'), 'LEAKED TODO secret\n');
  await writeFile(join(outside, 'only-outside.txt'), 'LEAKED TODO only\n');
  swapper = await Swapper.create(root, 'sub', outside);
  scan = fsScan({ roots: [root], workerScript: worker.script });
}, 120_000);
afterAll(async () => {
  await swapper?.stop();
  await rm(base, { recursive: true, force: true });
  await worker?.cleanup();
});

/** What came of many runs: how many let something from outside through, how many saw a refusal. */
interface Tally {
  runs: number;
  escaped: number;
  refused: number;
  failed: string[];
}

/** Does an output hold something only the outside directory has (its files' text, or a name)? */
function leaked(text: string): boolean {
  return text.includes('LEAKED') || text.includes('only-outside');
}

/**
 * Runs `run` 8 at a time while the swapper swaps: RUNS times, then on in rounds of RUNS until
 * some attempt met the symlink and refused it (the race really ran), at most MAX_RUNS times.
 */
async function race(run: () => unknown): Promise<Tally> {
  const tally: Tally = { runs: 0, escaped: 0, refused: 0, failed: [] };
  await swapper.start();
  try {
    const limit = pLimit(8);
    while (tally.runs + tally.failed.length < MAX_RUNS && (tally.runs + tally.failed.length === 0 || tally.refused === 0)) {
      await Promise.all(
        Array.from({ length: RUNS }, () =>
          limit(async () => {
            try {
              const text = JSON.stringify(await run());
              tally.runs++;
              if (leaked(text)) tally.escaped++;
              if (text.includes('FANOUT_PATH_OUTSIDE_ROOT') || text.includes('inside the allowed roots')) tally.refused++;
            } catch (error) {
              const message = (error as Error).message;
              if (leaked(message)) tally.escaped++;
              tally.failed.push(`${(error as { code?: string }).code ?? 'no code'}: ${message}`);
            }
          }),
        ),
      );
    }
  } finally {
    await swapper.stop();
  }
  return tally;
}

describe('a directory swapped for a symlink to the outside while scans walk the root', () => {
  it('grep (built-in engine, main thread) never returns a line or a name from outside', async () => {
    const grep = grepAdapter({ scan, engine: 'builtin' });
    const tally = await race(() => grep.run(grep.input.parse({ pattern: 'TODO', paths: ['.'], mode: 'content' }), attemptContext()));
    expect(tally.escaped, JSON.stringify(tally)).toBe(0);
    expect(tally.refused, 'the race really ran: some attempts met the symlink and refused it').toBeGreaterThan(0);
  }, 120_000);

  it('grep (built-in engine, worker threads: a regular expression) never returns a line or a name from outside', async () => {
    const threaded = fsScan({ roots: [root], workerScript: worker.script, inlineBudgetMs: 0 });
    const grep = grepAdapter({ scan: threaded, engine: 'builtin' });
    const tally = await race(() => grep.run(grep.input.parse({ pattern: 'T[O]DO', paths: ['.'], mode: 'content' }), attemptContext()));
    expect(tally.escaped, JSON.stringify(tally)).toBe(0);
    expect(tally.refused).toBeGreaterThan(0);
  }, 120_000);

  it('glob never lists a name from outside', async () => {
    const glob = globAdapter({ scan });
    const tally = await race(() => glob.run(glob.input.parse({ pattern: '**/*.txt' }), attemptContext()));
    expect(tally.escaped, JSON.stringify(tally)).toBe(0);
    expect(tally.refused).toBeGreaterThan(0);
  }, 120_000);

  it('analyze (markers) never reports a file or a marker from outside', async () => {
    const analyze = analyzeAdapter({ scan });
    const tally = await race(() => analyze.run(analyze.input.parse({ analyzer: 'markers' }), attemptContext()));
    expect(tally.escaped, JSON.stringify(tally)).toBe(0);
    expect(tally.refused).toBeGreaterThan(0);
  }, 120_000);
});
