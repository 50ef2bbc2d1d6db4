import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrepInputSpec, GrepOutput, GrepProgress, RipgrepMessage } from '../../src/fs/grep/index.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { grep, makeTree, RG, RG_MISSING, sharedStats, withoutTimes, type Entry, type GrepRun, type Tree } from './grep/fixtures.js';

/**
 * The two engines over real trees, message by message: a fixture tree with what tends to tell
 * them apart (CRLF, invalid UTF-8, binary files, byte order marks, nested ignore files,
 * hidden files, symlinks, a line with thousands of matches), and the typescript package.
 * Everything but the times must be equal: messages in order, the stats both report,
 * `truncated`, the errors, and the streamed progress.
 */
const TYPESCRIPT = dirname(createRequire(import.meta.url).resolve('typescript/package.json'));

const FIXTURE: Record<string, Entry> = {
  '.git/HEAD': 'ref: refs/heads/main\n',
  '.gitignore': 'build/\n*.log\n!keep.log\n',
  '.ignore': 'ignored-by-dot-ignore.txt\n',
  'a.txt': 'alpha needle\nbeta\nneedle gamma needle\n\ndelta\n',
  'crlf.txt': 'one needle\r\ntwo\r\nthree needle\r\nfour needle\r\n',
  'latin1.txt': Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' needle\nplain needle\n'), Buffer.from([0xff, 0xfe, 0x0a])]),
  'bom8.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('needle first\nsecond needle\n')]),
  'bom16.txt': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('needle in utf-16\nand again: needle\n', 'utf16le')]),
  'bin/early.bin': Buffer.concat([Buffer.from('\x7fELF'), Buffer.from([0]), Buffer.from('needle\n')]),
  'bin/late.txt': Buffer.concat([Buffer.from('needle here\n'.repeat(8000)), Buffer.from([0]), Buffer.from('needle\n')]),
  // A first line longer than ripgrep's 64 KiB buffer (it grows it threefold): the NUL after it is
  // read with it, or in a later fill, and --max-count decides whether ripgrep gets there.
  'bin/wide.txt': Buffer.concat([Buffer.from(`needle${'x'.repeat(100_000)}\n${'needle\n'.repeat(10)}`), Buffer.from([0]), Buffer.from('tail\n')]),
  'bin/wide2.txt': Buffer.concat([Buffer.from(`needle${'x'.repeat(70_000)}\n${'hay\n'.repeat(40_000)}`), Buffer.from([0]), Buffer.from('needle\n')]),
  'bin/mid.txt': Buffer.concat([Buffer.from('needle first\n'), Buffer.from('hay\n'.repeat(5000)), Buffer.from([0]), Buffer.from('needle\n')]),
  'long.txt': `${'needle '.repeat(1500)}\nshort needle\n`,
  'debug.log': 'needle in a log\n',
  'keep.log': 'needle kept\n',
  'ignored-by-dot-ignore.txt': 'needle\n',
  'build/out.js': 'needle built\n',
  '.hidden/secret.txt': 'needle hidden\n',
  '.hidden.txt': 'needle\n',
  'sub/.gitignore': 'local.txt\n!debug.log\n',
  'sub/local.txt': 'needle\n',
  'sub/debug.log': 'needle sub log\n',
  'sub/deeper/x.md': '# needle\nNEEDLE\nNeedle\n',
  'sub/a-b/y.txt': 'needle\n',
  'sub/a.txt': 'needle\n',
  'sub/é.txt': 'needle été\n',
  'Zed.txt': 'needle upper\n',
  // A directory's files sort where its name sorts, before names it is a prefix of: a/x.txt,
  // a-b.txt, a.txt, a0.txt — not as whole paths ("a-b.txt" < "a.txt" < "a/x.txt"). Count and
  // files searches of one directory put ripgrep's unsorted files in this order themselves.
  'ord/a-b.txt': 'needle\n',
  'ord/a.txt': 'needle\n',
  'ord/a/x.txt': 'needle\n',
  'ord/a0.txt': 'needle\n',
  // A line feed in a name: ripgrep's counts are read as `PATH\0COUNT\n` records.
  'odd\nname.txt': 'needle, needle\n',
  'link.txt': { link: 'a.txt' },
  linkdir: { link: 'sub' },
};

const FIXTURE_CASES: GrepInputSpec[] = [
  { pattern: 'needle', context: 1 },
  { pattern: 'NEEDLE', ignoreCase: true },
  { pattern: 'needle', word: true, mode: 'count' },
  { pattern: 'need.e', mode: 'files' },
  { pattern: 'needle$' },
  { pattern: '^needle' },
  { pattern: 'e\\s' },
  { pattern: '[^a-z ]+' },
  { pattern: '', maxMatches: 50 },
  { pattern: 'needle', maxCount: 1, after: 2 },
  { pattern: 'needle', maxMatches: 7 },
  { pattern: 'needle', maxMatches: 7, mode: 'count' },
  { pattern: 'needle', maxOutputBytes: 200 },
  { pattern: 'needle', hidden: true, mode: 'files' },
  { pattern: 'needle', ignore: false, mode: 'files' },
  { pattern: 'needle', gitignore: false, mode: 'count' },
  { pattern: 'needle', include: ['*.txt', '!sub/**'], exclude: ['long.txt'] },
  { pattern: 'needle', include: ['/a.txt', 'sub/*.txt'] },
  { pattern: 'needle', paths: ['build'] },
  { pattern: 'needle', paths: ['bin/early.bin', 'bin/late.txt', 'bom16.txt'] },
  { pattern: 'needle', paths: ['sub', '.', 'a.txt'], mode: 'count' },
  // A binary file the walk drops is still searched when named too: after the walk, or before it.
  { pattern: 'needle', paths: ['.', 'bin/early.bin'] },
  { pattern: 'needle', paths: ['bin', 'bin/mid.txt', 'bin/early.bin'], mode: 'count' },
  { pattern: 'needle', paths: ['bin/early.bin', 'bin'], mode: 'files' },
  { pattern: 'needle', followSymlinks: true, mode: 'files' },
  { pattern: 'needle(?= )', mode: 'count' },
  { pattern: 'needle', smartCase: true, paths: ['sub'] },
  { pattern: 'x*', mode: 'count' },
  { pattern: '', mode: 'count', paths: ['sub'] },
  { pattern: 'ÉTÉ|\\bneedle\\b', ignoreCase: true, mode: 'count' },
  { pattern: 'needle', mode: 'files', paths: ['bin'] },
  { pattern: 'needle', maxCount: 3, mode: 'count', paths: ['bin'] },
  { pattern: 'needle', maxCount: 1, mode: 'count', paths: ['bin'] },
  { pattern: 'needle', include: ['a['] },
  // Several directories without globs go to one rg, in the order given (an explore plan's parts).
  { pattern: 'needle', paths: ['sub', 'bin', 'build'] },
  { pattern: 'needle', paths: ['sub', 'bin', 'build'], maxMatches: 3 },
  { pattern: 'needle', paths: ['sub', 'bin', 'build'], mode: 'count' },
  { pattern: 'needle', mode: 'count', maxOutputBytes: 300 },
];

const TYPESCRIPT_CASES: GrepInputSpec[] = [
  { pattern: 'export', mode: 'count', ignore: false },
  { pattern: 'function', context: 1, ignore: false },
  { pattern: 'interface\\s+\\w+', ignoreCase: true, mode: 'count', ignore: false },
  { pattern: 'TODO', mode: 'files', ignore: false },
  { pattern: 'return', maxMatches: 300, ignore: false },
];

let worker: CompiledGrepWorker;
let fixture: Tree;
beforeAll(async () => {
  worker = await compileGrepWorker();
  fixture = await makeTree(FIXTURE);
});
afterAll(async () => {
  await fixture?.cleanup();
  await worker?.cleanup();
});

/** What must be equal between the engines. */
function comparable(run: GrepRun): unknown {
  const output = withoutTimes(run.output) as GrepOutput;
  return {
    state: run.state,
    error: run.error?.code,
    messages: output?.messages,
    stats: output === undefined ? undefined : sharedStats(output),
    truncated: output?.truncated,
    errors: output?.errors.map((error) => [error.path, error.code]).sort(),
  };
}

/** The streamed messages, in order: they must add up to the output (without the summary). */
function streamed(run: GrepRun): RipgrepMessage[] {
  return withoutTimes(run.progress.flatMap((report: GrepProgress) => report.messages));
}

async function both(input: GrepInputSpec, roots: string[]): Promise<[GrepRun, GrepRun]> {
  const builtin = await grep(input, { roots, workerScript: worker.script, engine: 'builtin' });
  const ripgrep = await grep(input, { roots, workerScript: worker.script, engine: 'ripgrep', rgPath: RG! });
  return [builtin, ripgrep];
}

describe.skipIf(RG === undefined)(`grep: the ripgrep and built-in engines give the same output${RG_MISSING}`, () => {
  it.each(FIXTURE_CASES)('on a fixture tree: %j', async (input) => {
    const [builtin, ripgrep] = await both(input, [fixture.dir]);
    expect(builtin.state, builtin.error?.message).toBe('succeeded');
    expect(comparable(ripgrep)).toEqual(comparable(builtin));
    expect(streamed(ripgrep)).toEqual(streamed(builtin));
    expect(streamed(builtin)).toEqual(withoutTimes(builtin.output.messages.slice(0, -1)));
  });

  it.each(TYPESCRIPT_CASES)('on node_modules/typescript: %j', async (input) => {
    const [builtin, ripgrep] = await both(input, [TYPESCRIPT]);
    expect(builtin.state, builtin.error?.message).toBe('succeeded');
    expect(builtin.output.stats.matchedLines).toBeGreaterThan(0);
    expect(comparable(ripgrep)).toEqual(comparable(builtin));
    expect(streamed(ripgrep)).toEqual(streamed(builtin));
  });
});
