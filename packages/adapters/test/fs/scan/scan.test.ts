import { writeFile } from 'node:fs/promises';
import type { BatchMember } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeAdapter } from '../../../src/analyze/index.js';
import { Listings } from '../../../src/fs/scan/listings.js';
import { noMatchOutcome } from '../../../src/fs/scan/work.js';
import { endIdleGrepWorkers, fsScan, globAdapter, grepAdapter, grepWorkerCounts, ripgrepOnPath, type FsScan, type GrepOutput } from '../../../src/fs/index.js';
import { attemptContext, eventually } from '../../../src/testing/index.js';
import { compileGrepWorker, type CompiledGrepWorker } from '../grep/compiled-worker.js';
import { makeTree, type Tree } from '../grep/fixtures.js';

let worker: CompiledGrepWorker;
let tree: Tree;
/** 6 directories (the root included), 5 files in each. */
const DIRS = ['', 'a/', 'a/b/', 'c/', 'c/d/', 'e/'];

beforeAll(async () => {
  worker = await compileGrepWorker();
  const entries: Record<string, string> = {};
  for (const dir of DIRS) for (let i = 0; i < 5; i++) entries[`${dir}f${i}.txt`] = `line\nneedle ${dir}${i}\nTODO: ${i}\n`;
  tree = await makeTree(entries);
}, 120_000);
afterAll(async () => {
  await tree?.cleanup();
  await worker?.cleanup();
});

interface Outcome {
  output?: unknown;
  error?: unknown;
}

/** Hands `members` to `scan.run` as one batch; resolves with each one's outcome. */
function batch(scan: FsScan, members: { kind: string; input: unknown; signal?: AbortSignal }[]): { done: Promise<Outcome[]>; members: BatchMember[] } {
  const outcomes: Outcome[] = members.map(() => ({}));
  let resolveAll!: (outcomes: Outcome[]) => void;
  const done = new Promise<Outcome[]>((resolve) => (resolveAll = resolve));
  let left = members.length;
  const end = (): void => {
    if (--left === 0) resolveAll(outcomes);
  };
  const built: BatchMember[] = members.map(({ kind, input, signal }, i) => {
    let ended = false;
    const once = (record: () => void): void => {
      if (ended) return;
      ended = true;
      record();
      end();
    };
    signal?.addEventListener('abort', () => once(() => (outcomes[i]!.error = signal.reason)), { once: true });
    return {
      kind,
      input,
      context: attemptContext(signal),
      resolve: (output) => once(() => (outcomes[i]!.output = output)),
      reject: (error) => once(() => (outcomes[i]!.error = error)),
    };
  });
  scan.run(built);
  return { done, members: built };
}

function adapters(scan: FsScan) {
  return { glob: globAdapter({ scan }), grep: grepAdapter({ scan, engine: 'builtin' }), analyze: analyzeAdapter({ scan }) };
}

const untimed = (output: unknown): unknown => JSON.parse(JSON.stringify(output), (key, value: unknown) => (key === 'elapsed' || key === 'elapsed_total' ? 0 : value));

describe('noMatchOutcome', () => {
  it('gives each no-match its own index and size, and arrays that cannot be appended to, since every one shares them', () => {
    type Searched = Extract<ReturnType<typeof noMatchOutcome>, { status: 'searched' }>;
    const one = noMatchOutcome(3, 120) as Searched;
    const other = noMatchOutcome(4, 7) as Searched;
    expect([one.status, other.status]).toEqual(['searched', 'searched']);
    expect([one.index, one.bytes, other.index, other.bytes]).toEqual([3, 120, 4, 7]);
    expect(() => (one.messages as unknown[]).push({ type: 'end' })).toThrow(TypeError);
    expect(() => (one.sizes as number[]).push(1)).toThrow(TypeError);
    expect([other.messages, other.sizes]).toEqual([[], []]);
  });
});

describe('fsScan', () => {
  it('batches globs, built-in greps and the stats and markers analyses under one key, not analyzer modules', () => {
    const scan = fsScan({ roots: [tree.dir], workerScript: worker.script });
    const { glob, grep, analyze } = adapters(scan);
    expect([glob.batcher, grep.batcher, analyze.batcher]).toEqual([scan, scan, scan]);
    expect(scan.key('glob', glob.input.parse({ pattern: '**' }))).toBe('fs-scan');
    expect(scan.key('grep', grep.input.parse({ pattern: 'x' }))).toBe('fs-scan');
    // `auto` greps are batched (a batch decides between rg and the pass); the ripgrep
    // engine's run alone, in their own process (when rg is there).
    const other = fsScan({ roots: [tree.dir] });
    const auto = grepAdapter({ scan: other, engine: 'auto' });
    expect(other.key('grep', auto.input.parse({ pattern: 'x' }))).toBe('fs-scan');
    const third = fsScan({ roots: [tree.dir] });
    const rg = ripgrepOnPath() !== undefined;
    if (rg) expect(third.key('grep', grepAdapter({ scan: third, engine: 'ripgrep' }).input.parse({ pattern: 'x' }))).toBeUndefined();
    expect(scan.key('analyze', analyze.input.parse({ analyzer: 'stats' }))).toBe('fs-scan');
    expect(scan.key('analyze', analyze.input.parse({ analyzer: 'markers' }))).toBe('fs-scan');
    expect(scan.key('analyze', analyze.input.parse({ analyzer: 'module', module: 'm.mjs' }))).toBeUndefined();
    expect(scan.key('read', { path: 'x' })).toBeUndefined();
  });

  it('lists each directory once and reads each file once for a whole batch, where alone each operation does it all again', async () => {
    const scan = fsScan({ roots: [tree.dir], workerScript: worker.script });
    const { glob, grep, analyze } = adapters(scan);
    const inputs = [
      { kind: 'grep', input: grep.input.parse({ pattern: 'needle' }) },
      { kind: 'grep', input: grep.input.parse({ pattern: 'ne+dle', mode: 'count' }) },
      { kind: 'analyze', input: analyze.input.parse({ analyzer: 'stats' }) },
      { kind: 'analyze', input: analyze.input.parse({ analyzer: 'markers' }) },
      { kind: 'glob', input: glob.input.parse({ pattern: '**' }) },
      { kind: 'glob', input: glob.input.parse({ pattern: '**/f1.txt' }) },
    ];
    const { done } = batch(scan, inputs);
    const together = await done;
    expect(together.every((outcome) => outcome.error === undefined)).toBe(true);
    expect(scan.stats()).toMatchObject({ batches: 1, directoriesListed: DIRS.length, filesRead: DIRS.length * 5 });

    const alone = fsScan({ roots: [tree.dir], workerScript: worker.script });
    const separate = adapters(alone);
    const outputs: unknown[] = [];
    for (const { kind, input } of inputs) outputs.push(await (separate[kind as 'grep'].run as (input: unknown, context: unknown) => Promise<unknown>)(input, attemptContext()));
    // Four operations read the files, six list the directories.
    expect(alone.stats()).toMatchObject({ batches: 6, directoriesListed: DIRS.length * 6, filesRead: DIRS.length * 5 * 4 });
    expect(together.map((outcome) => untimed(outcome.output))).toEqual(outputs.map(untimed));
    await separate.analyze.close();
  });

  it.skipIf(ripgrepOnPath() === undefined)('with engine "auto", runs a grep that shares no tree with its batch on rg, and greps over a tree others walk in the pass', async () => {
    const scan = fsScan({ roots: [tree.dir], workerScript: worker.script });
    const grep = grepAdapter({ scan, engine: 'auto' });
    const glob = globAdapter({ scan });
    const alone = grep.input.parse({ pattern: 'needle', paths: ['a'] });
    // A batch of one: rg reads the files, the scan reads none.
    const [lone] = await batch(scan, [{ kind: 'grep', input: alone }]).done;
    expect(scan.stats()).toMatchObject({ batches: 1, filesRead: 0 });
    // Beside a glob of another tree: still rg.
    const [beside] = await batch(scan, [
      { kind: 'grep', input: alone },
      { kind: 'glob', input: glob.input.parse({ pattern: '**', cwd: 'c' }) },
    ]).done;
    expect(scan.stats()).toMatchObject({ batches: 2, filesRead: 0 });
    // Beside a grep of the same tree: both in the pass, each file read once for both.
    const [shared, other] = await batch(scan, [
      { kind: 'grep', input: alone },
      { kind: 'grep', input: grep.input.parse({ pattern: 'TODO', paths: ['.'], mode: 'count' }) },
    ]).done;
    expect(scan.stats()).toMatchObject({ batches: 3, filesRead: DIRS.length * 5 });
    // The same output whichever engine ran it, stats included (those both engines know).
    expect(untimed(beside!.output)).toEqual(untimed(lone!.output));
    expect(untimed(shared!.output)).toEqual(untimed(lone!.output));
    expect((lone!.output as GrepOutput).stats).toEqual({ filesWithMatches: 10, matches: 10, matchedLines: 10 });
    expect((other!.output as GrepOutput).stats).toEqual({ filesWithMatches: DIRS.length * 5, matches: DIRS.length * 5, matchedLines: DIRS.length * 5 });
  });

  it('lists each directory once across batches while its listings are held, and afresh once released', async () => {
    const growing = await makeTree(Object.fromEntries(DIRS.flatMap((dir) => [0, 1].map((i) => [`${dir}f${i}.txt`, `needle ${dir}${i}\n`]))));
    try {
      const scan = fsScan({ roots: [growing.dir], workerScript: worker.script });
      const { glob, grep, analyze } = adapters(scan);
      const count = { kind: 'glob', input: glob.input.parse({ pattern: '**', cwd: growing.dir }) };
      const plan = [
        { kind: 'glob', input: glob.input.parse({ pattern: '**/*.txt', cwd: growing.dir }) },
        { kind: 'grep', input: grep.input.parse({ pattern: 'needle', mode: 'count' }) },
        { kind: 'analyze', input: analyze.input.parse({ analyzer: 'stats' }) },
      ];
      const unheld = fsScan({ roots: [growing.dir], workerScript: worker.script });
      const fresh = adapters(unheld);
      const expected: unknown[] = [];
      for (const { kind, input } of plan) expected.push(untimed(await (fresh[kind as 'grep'].run as (input: unknown, context: unknown) => Promise<unknown>)(input, attemptContext())));

      const hold = scan.holdListings();
      const nested = scan.holdListings();
      const [counted] = await batch(scan, [count]).done;
      expect((counted!.output as { count: number }).count).toBe(DIRS.length * 2);
      expect(scan.stats()).toMatchObject({ batches: 1, directoriesListed: DIRS.length });
      const held = await batch(scan, plan).done;
      // The plan's walk and globs found every directory listed by the count: none listed again.
      expect(scan.stats()).toMatchObject({ batches: 2, directoriesListed: DIRS.length, filesRead: DIRS.length * 2 });
      expect(held.map((outcome) => untimed(outcome.output))).toEqual(expected);

      // Held, the listings are the first batch's: a file added since is not seen…
      await writeFile(growing.path('a/late.txt'), 'needle late\n');
      nested.release();
      nested.release(); // idempotent: the other hold still holds
      const [stale] = await batch(scan, [count]).done;
      expect((stale!.output as { count: number }).count).toBe(DIRS.length * 2);
      expect(scan.stats().directoriesListed).toBe(DIRS.length);
      // …and once the last hold is released, every batch lists afresh again.
      hold.release();
      const [after] = await batch(scan, [count]).done;
      expect((after!.output as { count: number }).count).toBe(DIRS.length * 2 + 1);
      expect(scan.stats().directoriesListed).toBe(DIRS.length * 2);
      await batch(scan, [count]).done;
      expect(scan.stats().directoriesListed).toBe(DIRS.length * 3);
    } finally {
      await growing.cleanup();
    }
  });

  it('ends an operation at its cap while the others go on, and stops the walk once all have ended', async () => {
    const wide = await makeTree(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`d${String(i).padStart(4, '0')}/f.txt`, 'needle\n'])));
    try {
      const scan = fsScan({ roots: [wide.dir], workerScript: worker.script });
      const { grep } = adapters(scan);
      const capped = grep.input.parse({ pattern: 'needle', maxMatches: 1 });
      const { done } = batch(scan, [
        { kind: 'grep', input: capped },
        { kind: 'grep', input: grep.input.parse({ pattern: 'needle', paths: ['d0000', 'd0001'], mode: 'count' }) },
      ]);
      const [first, second] = await done;
      expect(first!.output).toMatchObject({ truncated: true, stats: { matchedLines: 1 } });
      expect(second!.output).toMatchObject({ truncated: false, stats: { matchedLines: 2, filesWithMatches: 2 } });
      // Both had what they needed long before the last of the 3,000 directories.
      expect(scan.stats().directoriesListed).toBeLessThan(3000);
    } finally {
      await wide.cleanup();
    }
  });

  it('lets an aborted operation drop out: the worker stuck in its regular expression is ended, the others finish as they would alone', async () => {
    const slow = await makeTree({
      // `(é+)+b` backtracks exponentially on these lines (not ASCII: V8's linear engine does not take them).
      ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`slow/f${i}.txt`, `${'é'.repeat(40)}c\n`.repeat(4)])),
      ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`plain/f${i}.txt`, `needle ${i}\nTODO ${i}\n`])),
    });
    try {
      await endIdleGrepWorkers();
      const scan = fsScan({ roots: [slow.dir], workerScript: worker.script, threads: 2 });
      const { grep, analyze } = adapters(scan);
      const others = [
        { kind: 'grep', input: grep.input.parse({ pattern: 'need+le', mode: 'count' }) },
        { kind: 'analyze', input: analyze.input.parse({ analyzer: 'markers' }) },
      ];
      const controller = new AbortController();
      const { done } = batch(scan, [{ kind: 'grep', input: grep.input.parse({ pattern: '(é+)+b', paths: ['slow'], mode: 'count' }), signal: controller.signal }, ...others]);
      expect(await eventually(() => grepWorkerCounts().busy > 0)).toBe(true);
      controller.abort(new Error('not needed'));
      const [runaway, ...finished] = await done;
      expect(runaway!.error).toEqual(new Error('not needed'));

      const alone = adapters(fsScan({ roots: [slow.dir], workerScript: worker.script, threads: 2 }));
      const expected = [await alone.grep.run(others[0]!.input as never, attemptContext()), await alone.analyze.run(others[1]!.input as never, attemptContext())];
      expect(finished.map((outcome) => untimed(outcome.output))).toEqual(expected.map(untimed));
      expect((finished[0]!.output as GrepOutput).stats.filesWithMatches).toBe(20);
      // No thread is left matching the runaway pattern.
      expect(await eventually(() => grepWorkerCounts().busy === 0 && grepWorkerCounts().live === grepWorkerCounts().idle)).toBe(true);
    } finally {
      await endIdleGrepWorkers();
      await slow.cleanup();
    }
  });

  it('fails only the grep whose regular expression runs past its budget (FANOUT_REGEX_TOO_SLOW); the others finish as alone', async () => {
    const slow = await makeTree({
      ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`slow/f${i}.txt`, `${'é'.repeat(40)}c\n`.repeat(4)])),
      ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`plain/f${i}.txt`, `needle ${i}\nTODO ${i}\n`])),
    });
    try {
      const scan = fsScan({ roots: [slow.dir], workerScript: worker.script, threads: 2 });
      const grep = grepAdapter({ scan, engine: 'builtin', regexBudgetMs: 200 });
      const analyze = analyzeAdapter({ scan });
      const others = [
        { kind: 'grep', input: grep.input.parse({ pattern: 'need+le', mode: 'count' }) },
        { kind: 'analyze', input: analyze.input.parse({ analyzer: 'stats' }) },
      ];
      const { done } = batch(scan, [{ kind: 'grep', input: grep.input.parse({ pattern: '(é+)+b', paths: ['slow'], mode: 'count' }) }, ...others]);
      const [runaway, ...finished] = await done;
      expect(runaway!.error).toMatchObject({ code: 'FANOUT_REGEX_TOO_SLOW', path: 'pattern' });
      expect((runaway!.error as Error).message).toContain(slow.path('slow'));
      expect((finished[0]!.output as GrepOutput).stats.filesWithMatches).toBe(10);
      expect(finished[1]!.output).toMatchObject({ analyzer: 'stats', files: 14 });
      expect(await eventually(() => grepWorkerCounts().busy === 0 && grepWorkerCounts().live === grepWorkerCounts().idle)).toBe(true);
    } finally {
      await endIdleGrepWorkers();
      await slow.cleanup();
    }
  });

  it('fails only the operation whose input is bad', async () => {
    const scan = fsScan({ roots: [tree.dir], workerScript: worker.script });
    const { grep, analyze } = adapters(scan);
    const { done } = batch(scan, [
      { kind: 'grep', input: grep.input.parse({ pattern: '(unclosed' }) },
      { kind: 'analyze', input: analyze.input.parse({ analyzer: 'stats', paths: ['a', 'missing'] }) },
      { kind: 'grep', input: grep.input.parse({ pattern: 'needle', mode: 'files' }) },
    ]);
    const [bad, missing, good] = await done;
    expect(bad!.error).toMatchObject({ code: 'FANOUT_PATTERN_INVALID', path: 'pattern' });
    expect(missing!.error).toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'paths[1]' });
    expect((good!.output as GrepOutput).stats.filesWithMatches).toBe(DIRS.length * 5);
  });

  it('takes one adapter of each kind, with its own roots, and the thread options on itself', () => {
    const scan = fsScan({ roots: [tree.dir] });
    grepAdapter({ scan });
    expect(() => grepAdapter({ scan })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'scan' }));
    expect(() => globAdapter({ scan, roots: [tree.path('a')] })).toThrow(expect.objectContaining({ code: 'FANOUT_PATH_INVALID', path: 'roots' }));
    expect(() => grepAdapter({ scan: fsScan({ roots: [tree.dir] }), threads: 0 })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'threads' }));
    expect(() => grepAdapter({ scan: {} as FsScan })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID' }));
    expect(globAdapter({ scan: fsScan({ roots: [tree.dir] }) }).batcher).toBeDefined();
  });

  it('keeps at most its bound of listed entries', () => {
    const listings = new Listings(12);
    for (const dir of DIRS) listings.read(tree.path(dir));
    // Each directory holds 5 files (and subdirectories): only the first listings fit.
    expect(listings.size).toBeLessThanOrEqual(12);
    expect(listings.size).toBeGreaterThan(0);
    // Listing works the same past the bound.
    expect(listings.read(tree.path('e/')).map((entry) => entry.name)).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
  });
});
