import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchMember } from '@fanout/scheduler';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeAdapter, type AnalyzeAdapter } from '../../../src/analyze/index.js';
import { fsScan, globAdapter, grepAdapter, ripgrepOnPath, type GrepOutput, type GrepProgress } from '../../../src/fs/index.js';
import { attemptContext } from '../../../src/testing/index.js';
import { compileGrepWorker, type CompiledGrepWorker } from '../grep/compiled-worker.js';
import { makeTree, type Entry } from '../grep/fixtures.js';

/**
 * The promise of the shared scan: an operation's output does not depend on its company. Random
 * small trees (CRLF and binary files, hidden files, nested .gitignore and .ignore files, a git
 * repository or not) and random sets of glob, grep and analyze inputs; each input runs alone
 * (a batch of one, the adapters' own `run`), then all of them run as one batch, then once more
 * with the scan's listings held from a count glob run first (`holdListings`, as
 * explore-codebase runs its plan); every output, every grep's progress messages and every
 * error must be the same.
 *
 * Greps run on the built-in engine, or with `engine: "auto"` when `rg` is on PATH: then a grep
 * alone runs `rg`, and in a batch it joins the pass when another operation is over the same
 * tree (and runs `rg` when none is): the output must not tell.
 *
 * Globs walk in the pass too (one walk for the batch, through fast-glob's own filters), so a
 * listing cut by a small `maxResults`, or left unsorted, keeps the same paths in the same
 * order alone and in company: they are drawn as well. Elapsed times in grep messages are
 * zeroed.
 */
let worker: CompiledGrepWorker;
beforeAll(async () => {
  worker = await compileGrepWorker();
}, 120_000);
afterAll(async () => {
  await worker?.cleanup();
});

const DIRS = ['', 'a/', 'a/b/', '.h/', 'node_modules/', 'a/.h2/', 'c/'] as const;
const NAMES = ['f0.txt', 'x.ts', 'y.js', 'z.md', '.dot', 'k.tmp', 'n.txt'] as const;
/** Paths every tree has, so inputs can name them. */
const ALWAYS = ['f0.txt', 'a/f0.txt', 'a/b/f0.txt', '.h/f0.txt', 'node_modules/f0.txt', 'c/f0.txt'];
const PATHS = ['.', 'a', 'a/b', '.h', 'node_modules', 'c', 'a/f0.txt', '.h/f0.txt'];
const LINES = ['needle', 'x needle y', 'TODO: fix it', 'FIXME later TODO', '', 'nothing', 'needle needle', 'é needle', 'XXX', 'xx'];
const RULES = ['*.tmp', '!k.tmp', 'b/', '/f0.txt', '*.md', '.h', 'node_modules', 'c', '!c/n.txt', 'n.txt'];

const content = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.array(fc.constantFrom(...LINES), { maxLength: 12 }), fc.boolean(), fc.boolean()).map(([lines, crlf, last]) => lines.join(crlf ? '\r\n' : '\n') + (last ? '\n' : '')) },
  // Binary: a NUL early, or after a match far into the file.
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from('needle\0TODO\n'), Buffer.concat([Buffer.from('needle TODO\n'.repeat(900)), Buffer.from([0])])) },
);

const tree = fc.record({
  files: fc.dictionary(
    fc.tuple(fc.constantFrom(...DIRS), fc.constantFrom(...NAMES)).map(([dir, name]) => dir + name),
    content,
    { maxKeys: 14 },
  ),
  base: fc.tuple(...ALWAYS.map(() => content)),
  ignores: fc.dictionary(fc.constantFrom('', 'a/', 'a/b/'), fc.array(fc.constantFrom(...RULES), { maxLength: 3 }), { maxKeys: 3 }),
  dotIgnore: fc.option(fc.array(fc.constantFrom(...RULES), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  repository: fc.boolean(),
  /** Symlinks: to a directory of the tree (a loop when it is an ancestor) and to a file. */
  links: fc.boolean(),
});

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const paths = fc.uniqueArray(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 3 });

const grepInput = fc.record(
  {
    pattern: fc.constantFrom('needle', 'ne+dle', 'TODO|FIXME', '^x', 'é', '\\bneedle\\b', 'zzz'),
    paths,
    mode: fc.constantFrom('content', 'count', 'files'),
    hidden: fc.boolean(),
    ignore: fc.boolean(),
    gitignore: fc.boolean(),
    requireGit: fc.boolean(),
    include: fc.constantFrom([], ['*.txt'], ['a/**'], ['*.tmp']),
    exclude: fc.constantFrom([], ['*.md'], ['b/']),
    maxCount: maybe(fc.constantFrom(1, 2)),
    maxMatches: maybe(fc.constantFrom(1, 3, 10)),
    maxOutputBytes: maybe(fc.constantFrom(40, 200)),
    context: fc.constantFrom(0, 1),
    maxFileSize: maybe(fc.constantFrom(30, 5000)),
    followSymlinks: fc.boolean(),
  },
  { requiredKeys: ['pattern', 'paths'] },
);

const analyzeInput = fc.oneof(
  fc.record(
    { analyzer: fc.constant('stats' as const), paths, hidden: fc.boolean(), nodeModules: fc.boolean(), gitignore: fc.boolean(), maxFiles: maybe(fc.constantFrom(1, 3, 7)) },
    { requiredKeys: ['analyzer', 'paths'] },
  ),
  fc.record(
    {
      analyzer: fc.constant('markers' as const),
      paths,
      hidden: fc.boolean(),
      nodeModules: fc.boolean(),
      gitignore: fc.boolean(),
      maxFiles: maybe(fc.constantFrom(1, 3, 7)),
      maxMarkers: maybe(fc.constantFrom(1, 2, 5)),
      kinds: maybe(fc.constantFrom(['TODO'], ['FIXME', 'XXX'])),
    },
    { requiredKeys: ['analyzer', 'paths'] },
  ),
);

const globInput = fc.record(
  {
    patterns: fc.uniqueArray(fc.constantFrom('**', '**/*.txt', 'a/**', '*', '**/f0.txt', '!**/*.md', 'a/f0.txt', 'c/*', '{a,c}/**/*.t?', '.h/**'), { minLength: 1, maxLength: 3 }),
    dot: fc.boolean(),
    gitignore: fc.boolean(),
    type: fc.constantFrom('files', 'directories', 'all'),
    maxDepth: maybe(fc.constantFrom(0, 1)),
    maxResults: maybe(fc.constantFrom(1, 3, 8)),
    sort: fc.boolean(),
    ignore: maybe(fc.constantFrom(['**/b/**'], ['c'])),
    cwd: maybe(fc.constantFrom('.', 'a')),
  },
  { requiredKeys: ['patterns'] },
);

const operation = fc.oneof(
  { weight: 3, arbitrary: grepInput.map((input) => ({ kind: 'grep' as const, input })) },
  { weight: 2, arbitrary: analyzeInput.map((input) => ({ kind: 'analyze' as const, input })) },
  { weight: 2, arbitrary: globInput.map((input) => ({ kind: 'glob' as const, input })) },
);

/** What an operation gave: its output or its error, and the messages of its progress events. */
interface Result {
  output?: unknown;
  error?: { code: string | undefined; path: string | undefined; message: string };
  progress: unknown[];
}

/** Without the times grep measures (`elapsed` in `end` messages, `elapsed_total` in the summary). */
function untimed<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (key, field: unknown) => (key === 'elapsed' || key === 'elapsed_total' ? 0 : field)) as T;
}

function normalise(output: unknown): unknown {
  return Array.isArray((output as GrepOutput | undefined)?.messages) ? untimed(output) : output;
}

function record(result: Result, progress: unknown): void {
  const grep = progress as GrepProgress;
  if (grep.type === 'grep-results') result.progress.push(...untimed(grep.messages));
  else result.progress.push(progress);
}

function settle(result: Result, done: () => void) {
  return {
    resolve: (output: unknown) => {
      result.output = normalise(output);
      done();
    },
    reject: (error: unknown) => {
      const { code, path, message } = error as { code?: string; path?: string; message: string };
      result.error = { code, path, message };
      done();
    },
  };
}

/** The grep engines the property runs: `auto` only where it means ripgrep. */
const ENGINES = ripgrepOnPath() === undefined ? (['builtin'] as const) : (['builtin', 'auto'] as const);

describe('the shared scan: alone and in company, the same outputs (property)', () => {
  it('gives every glob, grep and analysis of a random batch the output it has alone', async () => {
    await fc.assert(
      fc.asyncProperty(
        tree,
        fc.array(operation, { minLength: 2, maxLength: 7 }),
        fc.constantFrom({ threads: 0 }, { inlineBudgetMs: 0 }, {}),
        fc.constantFrom(...ENGINES),
        maybe(fc.constantFrom(1, 4, 12)),
        async (spec, operations, env, engine, countCap) => {
          const entries: Record<string, Entry> = { ...spec.files };
          for (const [i, path] of ALWAYS.entries()) entries[path] = spec.base[i]!;
          for (const [dir, rules] of Object.entries(spec.ignores)) entries[`${dir}.gitignore`] = `${rules.join('\n')}\n`;
          if (spec.dotIgnore !== undefined) entries['a/.ignore'] = `${spec.dotIgnore.join('\n')}\n`;
          if (spec.links) Object.assign(entries, { 'c/to-a': { link: 'a' }, 'a/b/up': { link: 'a' }, 'c/to-file.txt': { link: 'a/f0.txt' } });
          const made = await makeTree(entries);
          try {
            if (spec.repository) await mkdir(join(made.dir, '.git'), { recursive: true }).then(() => writeFile(join(made.dir, '.git', 'HEAD'), 'ref: x\n'));
            const scan = fsScan({ roots: [made.dir], workerScript: worker.script, ...env });
            const adapters = { glob: globAdapter({ scan }), grep: grepAdapter({ scan, engine }), analyze: analyzeAdapter({ scan }) as AnalyzeAdapter };
            const inputs = operations.map(({ kind, input }) => ({
              kind,
              input: adapters[kind].input.parse(kind === 'glob' ? { ...input, cwd: join(made.dir, (input as { cwd?: string }).cwd ?? '.') } : input) as unknown,
            }));

            const alone: Result[] = [];
            for (const { kind, input } of inputs) {
              const result: Result = { progress: [] };
              await new Promise<void>((done) => {
                const { resolve, reject } = settle(result, done);
                (adapters[kind].run as (input: unknown, context: ReturnType<typeof attemptContext>) => Promise<unknown>)(
                  input,
                  attemptContext(undefined, (data) => record(result, data)),
                ).then(resolve, reject);
              });
              alone.push(result);
            }

            const inBatch = async (batched: readonly { kind: string; input: unknown }[]): Promise<Result[]> => {
              const results: Result[] = batched.map(() => ({ progress: [] }));
              await new Promise<void>((done) => {
                let left = batched.length;
                const members: BatchMember[] = batched.map(({ kind, input }, i) => ({
                  kind,
                  input,
                  context: attemptContext(undefined, (data) => record(results[i]!, data)),
                  ...settle(results[i]!, () => {
                    if (--left === 0) done();
                  }),
                }));
                expect(new Set(batched.map(({ kind, input }) => scan.key(kind, input)))).toEqual(new Set(['fs-scan']));
                scan.run(members);
              });
              return results;
            };
            expect(await inBatch(inputs)).toEqual(alone);
            // With the listings held from a first batch (a count that may stop part way, as
            // explore-codebase's does), the batch walks what it listed: the same outputs again.
            const hold = scan.holdListings();
            try {
              await inBatch([{ kind: 'glob', input: adapters.glob.input.parse({ pattern: '**', cwd: made.dir, ...(countCap === undefined ? {} : { maxResults: countCap }) }) }]);
              expect(await inBatch(inputs)).toEqual(alone);
            } finally {
              hold.release();
            }
            await adapters.analyze.close();
          } finally {
            await made.cleanup();
          }
        },
      ),
      { numRuns: Number(process.env.FANOUT_PROPERTY_RUNS ?? 40) },
    );
  }, 300_000);
});
