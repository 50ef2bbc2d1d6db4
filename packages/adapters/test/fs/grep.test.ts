import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endIdleGrepWorkers, grepWorkerCounts, toNdjson, type GrepAdapterOptions, type RipgrepMessage } from '../../src/fs/grep/index.js';
import { fsScan } from '../../src/fs/index.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { countsOf, ENGINE_CASES, grep, makeTree, ofType, type Tree } from './grep/fixtures.js';

let worker: CompiledGrepWorker;
beforeAll(async () => {
  worker = await compileGrepWorker();
});
afterAll(async () => {
  await worker.cleanup();
});

/** The built-in engine with its defaults, and the ripgrep engine: what files each searches must agree. */
const WALKERS = ENGINE_CASES.filter((engine) => engine.ripgrep || engine.options.threads === undefined).map((engine) =>
  engine.ripgrep ? engine : { ...engine, name: 'builtin engine', options: { engine: 'builtin' as const } },
);

function options(tree: Tree, extra: Partial<GrepAdapterOptions> = {}): GrepAdapterOptions {
  return { roots: [tree.dir], workerScript: worker.script, ...extra };
}

async function withTree<T>(entries: Parameters<typeof makeTree>[0], body: (tree: Tree) => Promise<T>): Promise<T> {
  const tree = await makeTree(entries);
  try {
    return await body(tree);
  } finally {
    await tree.cleanup();
  }
}

/** Paths of the files with matches, relative to the tree. */
function matchedFiles(tree: Tree, messages: readonly RipgrepMessage[]): string[] {
  return messages
    .filter((m) => m.type === 'begin')
    .map((m) => (m.data.path as { text: string }).text.slice(tree.dir.length + 1))
    .sort();
}

for (const { name, options: engine, ripgrep, skip } of ENGINE_CASES)
  describe.skipIf(skip)(`grep, ${name}`, () => {
    it('reports ripgrep messages with byte offsets computed by hand', async () => {
      await withTree({ 'a.txt': 'alpha\nbeta gamma beta\n\ndelta' }, async (tree) => {
        const { state, output } = await grep({ pattern: 'beta' }, options(tree, engine));
        expect(state).toBe('succeeded');
        const path = { text: tree.path('a.txt') };
        expect(output.messages.slice(0, -1)).toEqual([
          { type: 'begin', data: { path } },
          {
            type: 'match',
            data: {
              path,
              lines: { text: 'beta gamma beta\n' },
              line_number: 2,
              absolute_offset: 6,
              submatches: [
                { match: { text: 'beta' }, start: 0, end: 4 },
                { match: { text: 'beta' }, start: 11, end: 15 },
              ],
            },
          },
          {
            type: 'end',
            data: {
              path,
              binary_offset: null,
              stats: expect.objectContaining({ searches: 1, searches_with_match: 1, bytes_searched: 28, matched_lines: 1, matches: 2 }),
            },
          },
        ]);
        const summary = output.messages.at(-1)!;
        expect(summary.type).toBe('summary');
        expect(summary.type === 'summary' && summary.data.stats).toMatchObject({ searches: 1, searches_with_match: 1, bytes_searched: 28, matched_lines: 1, matches: 2 });
        const shared = { filesWithMatches: 1, matches: 2, matchedLines: 1 };
        expect(output.stats).toEqual(ripgrep ? shared : { ...shared, files: 1, bytesSearched: 28, binaryFiles: 0, largeFiles: 0 });
        expect(output.truncated).toBe(false);
        // The last line has no line feed; it is still a line.
        const last = await grep({ pattern: 'del' }, options(tree, engine));
        expect(ofType(last.output, 'match')[0]!.data).toMatchObject({ lines: { text: 'delta' }, line_number: 4, absolute_offset: 23 });
      });
    });

    it('counts UTF-8 offsets in bytes, for literals and regular expressions alike', async () => {
      // "héllo " is 7 bytes (é is 2); line 1 is 13 bytes + \n; "çà et là: " is 13 bytes.
      await withTree({ 'u.txt': 'héllo wörld\nçà et là: wörld\n' }, async (tree) => {
        for (const pattern of ['wörld', 'w.rld', 'w\\w+d']) {
          const { output } = await grep({ pattern }, options(tree, engine));
          const matches = ofType(output, 'match').map((m) => [m.data.line_number, m.data.absolute_offset, m.data.submatches]);
          expect(matches, pattern).toEqual([
            [1, 0, [{ match: { text: 'wörld' }, start: 7, end: 13 }]],
            [2, 14, [{ match: { text: 'wörld' }, start: 13, end: 19 }]],
          ]);
        }
      });
    });

    it('reports a line that is not valid UTF-8 as base64 bytes, and never matches the bad byte with a class', async () => {
      const line = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b, 0x0a]); // "caf\xE9 ok\n", Latin-1
      await withTree({ 'l.txt': Buffer.concat([Buffer.from('fine ok\n'), line]) }, async (tree) => {
        const { output } = await grep({ pattern: 'ok' }, options(tree, engine));
        const matches = ofType(output, 'match');
        expect(matches.map((m) => m.data.lines)).toEqual([{ text: 'fine ok\n' }, { bytes: line.toString('base64') }]);
        expect(matches[1]!.data).toMatchObject({ line_number: 2, absolute_offset: 8, submatches: [{ match: { text: 'ok' }, start: 5, end: 7 }] });
        // In ripgrep (Rust regex, Unicode mode) `.` and `\W` match no invalid byte; `caf\xE9` is literally there.
        expect(ofType((await grep({ pattern: 'caf. ok' }, options(tree, engine))).output, 'match')).toHaveLength(0);
        expect(ofType((await grep({ pattern: 'caf\\W ok' }, options(tree, engine))).output, 'match')).toHaveLength(0);
        expect(ofType((await grep({ pattern: 'caf[^x] ok' }, options(tree, engine))).output, 'match')).toHaveLength(0);
        const around = await grep({ pattern: 'f.+ok' }, options(tree, engine));
        expect(ofType(around.output, 'match').map((m) => m.data.line_number)).toEqual([1]);
      });
    });

    it('keeps \\r in CRLF lines, as ripgrep does without --crlf', async () => {
      await withTree({ 'w.txt': 'one\r\ntwo\r\n' }, async (tree) => {
        expect(ofType((await grep({ pattern: 'two$' }, options(tree, engine))).output, 'match')).toHaveLength(0);
        const { output } = await grep({ pattern: 'o\\s' }, options(tree, engine));
        expect(ofType(output, 'match').map((m) => [m.data.line_number, m.data.absolute_offset, m.data.lines, m.data.submatches])).toEqual([[2, 5, { text: 'two\r\n' }, [{ match: { text: 'o\r' }, start: 2, end: 4 }]]]);
        // `\s` never takes the line feed: "e\r" matches on line 1, not "e\r\nt".
        const one = await grep({ pattern: 'e\\s+t' }, options(tree, engine));
        expect(ofType(one.output, 'match')).toHaveLength(0);
      });
    });

    it("never lets a match cross a line (JavaScript's \\s would take the \\n)", async () => {
      await withTree({ 'i.ts': 'interface\nFoo {}\ninterface  Bar {}\nINTERFACE\tbaz\n' }, async (tree) => {
        const { output } = await grep({ pattern: 'interface\\s+\\w+', ignoreCase: true, mode: 'count' }, options(tree, engine));
        expect(output.stats.matchedLines).toBe(2);
      });
    });

    it('matches case-insensitively with Unicode simple case folding, and by smart case', async () => {
      await withTree({ 'c.txt': 'Été\nété\nKELVIN \u212Aelvin\nHello\nhello\n' }, async (tree) => {
        const lines = async (input: Parameters<typeof grep>[0]) => ofType((await grep(input, options(tree, engine))).output, 'match').map((m) => m.data.line_number);
        expect(await lines({ pattern: 'ÉTÉ', ignoreCase: true })).toEqual([1, 2]);
        expect(await lines({ pattern: 'kelvin', ignoreCase: true })).toEqual([3]);
        const kelvin = ofType((await grep({ pattern: 'kelvin', ignoreCase: true }, options(tree, engine))).output, 'match')[0]!;
        // The Kelvin sign (3 bytes) folds to k: the second submatch starts after "KELVIN ".
        expect(kelvin.data.submatches.map((s) => [s.start, s.end])).toEqual([
          [0, 6],
          [7, 15],
        ]);
        expect(await lines({ pattern: 'hello', smartCase: true })).toEqual([4, 5]);
        expect(await lines({ pattern: 'Hello', smartCase: true })).toEqual([4]);
        expect(await lines({ pattern: '(?i)HELLO' })).toEqual([4, 5]);
      });
    });

    it('finds whole words only with word, and literals only with fixedStrings', async () => {
      await withTree({ 'w.txt': 'foo foo-foo foobar _foo\na.b axb\n' }, async (tree) => {
        const word = ofType((await grep({ pattern: 'foo', word: true }, options(tree, engine))).output, 'match');
        expect(word[0]!.data.submatches.map((s) => [s.start, s.end])).toEqual([
          [0, 3],
          [4, 7],
          [8, 11],
        ]);
        const fixed = ofType((await grep({ pattern: 'a.b', fixedStrings: true }, options(tree, engine))).output, 'match');
        expect(fixed.map((m) => m.data.submatches.map((s) => s.start))).toEqual([[0]]);
        const regex = ofType((await grep({ pattern: 'a.b' }, options(tree, engine))).output, 'match');
        expect(regex.map((m) => m.data.submatches.map((s) => s.start))).toEqual([[0, 4]]);
        const both = ofType((await grep({ pattern: '(a', fixedStrings: true, word: true }, options(tree, engine))).output, 'match');
        expect(both).toHaveLength(0);
      });
    });

    it('iterates empty matches as ripgrep does (none right after the previous match)', async () => {
      await withTree({ 'e.txt': 'abc\n\nxyz\n' }, async (tree) => {
        const { output } = await grep({ pattern: 'z*' }, options(tree, engine));
        const matches = ofType(output, 'match');
        expect(matches.map((m) => m.data.submatches.map((s) => [s.start, s.end]))).toEqual([
          [
            [0, 0],
            [1, 1],
            [2, 2],
            [3, 3],
          ],
          [[0, 0]],
          [
            [0, 0],
            [1, 1],
            [2, 3],
          ],
        ]);
        expect(output.stats).toMatchObject({ matchedLines: 3, matches: 8 });
      });
    });

    it('prints context lines before and after, merged between close matches, with line numbers', async () => {
      const text = Array.from({ length: 12 }, (_, i) => `line ${i + 1}${[3, 5, 11].includes(i + 1) ? ' hit' : ''}\n`).join('');
      await withTree({ 'ctx.txt': text }, async (tree) => {
        const { output } = await grep({ pattern: 'hit', context: 1 }, options(tree, engine));
        const body = output.messages.filter((m) => m.type === 'match' || m.type === 'context');
        expect(body.map((m) => `${m.type}:${m.type === 'match' || m.type === 'context' ? m.data.line_number : ''}`)).toEqual([
          'context:2',
          'match:3',
          'context:4',
          'match:5',
          'context:6',
          'context:10',
          'match:11',
          'context:12',
        ]);
        for (const message of body) {
          if (message.type !== 'context') continue;
          expect(message.data.submatches).toEqual([]);
          expect(message.data.absolute_offset).toBe(
            Buffer.byteLength(
              text
                .split('\n')
                .slice(0, message.data.line_number - 1)
                .join('\n'),
            ) + (message.data.line_number > 1 ? 1 : 0),
          );
        }
        const asymmetric = await grep({ pattern: '^line 1$', before: 3, after: 0 }, options(tree, engine));
        expect(asymmetric.output.messages.filter((m) => m.type === 'context' || m.type === 'match').map((m) => m.type)).toEqual(['match']);
        const after = await grep({ pattern: 'line 12', after: 5 }, options(tree, engine));
        expect(ofType(after.output, 'context')).toHaveLength(0);
      });
    });

    it('caps matches per file and in total, and says when the total cut the output', async () => {
      const text = 'x\n'.repeat(50);
      await withTree({ 'a.txt': text, 'b.txt': text, 'c.txt': text }, async (tree) => {
        const perFile = await grep({ pattern: 'x', maxCount: 2 }, options(tree, engine));
        expect([...countsOf(perFile.output).values()]).toEqual([2, 2, 2]);
        expect(perFile.output.truncated).toBe(false);

        const total = await grep({ pattern: 'x', maxMatches: 70 }, options(tree, engine));
        expect(total.output.truncated).toBe(true);
        expect(total.output.stats.matchedLines).toBe(70);
        expect(ofType(total.output, 'match')).toHaveLength(70);
        expect([...countsOf(total.output).values()]).toEqual([50, 20]);

        const counted = await grep({ pattern: 'x', maxMatches: 70, mode: 'count' }, options(tree, engine));
        expect([...countsOf(counted.output).values()]).toEqual([50, 20]);
        expect(counted.output.stats).toMatchObject({ matchedLines: 70, matches: 70 });
        expect(counted.output.truncated).toBe(true);

        const exact = await grep({ pattern: 'x', maxMatches: 150, mode: 'count' }, options(tree, engine));
        expect(exact.output.truncated).toBe(false);

        const bytes = await grep({ pattern: 'x', maxOutputBytes: 100 + tree.path('a.txt').length }, options(tree, engine));
        expect(bytes.output.truncated).toBe(true);
        expect(ofType(bytes.output, 'match')).toHaveLength(50);
        expect(ofType(bytes.output, 'begin')).toHaveLength(1);
      });
    });

    it('skips files over maxFileSize and binary files, as ripgrep -c does', async () => {
      const late = Buffer.concat([Buffer.from('needle\n'.repeat(2000)), Buffer.from([0]), Buffer.from('needle\n')]);
      const lateNoMatch = Buffer.concat([Buffer.from('hay\n'.repeat(3000)), Buffer.from([0]), Buffer.from('hay\n')]);
      await withTree(
        {
          'big.txt': 'needle\n'.repeat(100),
          'small.txt': 'needle\n',
          'nul-first.bin': Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]), Buffer.from('needle\n')]),
          'nul-late.txt': late,
          'nul-late-nomatch.txt': lateNoMatch,
        },
        async (tree) => {
          const { output } = await grep({ pattern: 'needle', maxFileSize: 100, mode: 'count' }, options(tree, engine));
          expect(matchedFiles(tree, output.messages)).toEqual(['small.txt']);
          if (!ripgrep) expect(output.stats).toMatchObject({ largeFiles: 3, binaryFiles: 1 });
          const all = await grep({ pattern: 'needle', mode: 'count' }, options(tree, engine));
          expect(matchedFiles(tree, all.output.messages)).toEqual(['big.txt', 'small.txt']);
          // A NUL in ripgrep's first read (64 KiB) makes a walked file binary, matched or not.
          if (!ripgrep) expect(all.output.stats).toMatchObject({ binaryFiles: 3, largeFiles: 0, files: 2 });
          // A binary file named as a search path is searched as text, as ripgrep does: its
          // matches are reported, and `end` says where its first NUL byte is.
          const named = await grep({ pattern: 'needle', paths: ['nul-first.bin', 'nul-late.txt'], mode: 'count' }, options(tree, engine));
          expect([...countsOf(named.output).entries()].map(([path, n]) => [path.slice(tree.dir.length + 1), n])).toEqual([
            ['nul-first.bin', 1],
            ['nul-late.txt', 2001],
          ]);
          expect(ofType(named.output, 'end').map((end) => [end.data.binary_offset, end.data.stats.bytes_searched])).toEqual([
            [4, 12],
            [14000, late.length],
          ]);
        },
      );
    });

    it('counts per file (-c) and lists files (-l) with begin/end messages', async () => {
      await withTree({ 'a.txt': 'x x\nx\n', 'b.txt': 'y\n', 'sub/c.txt': 'x\n' }, async (tree) => {
        const count = await grep({ pattern: 'x', mode: 'count' }, options(tree, engine));
        expect(count.output.messages.map((m) => m.type)).toEqual(['begin', 'end', 'begin', 'end', 'summary']);
        expect(ofType(count.output, 'end').map((e) => [e.data.stats.matched_lines, e.data.stats.matches])).toEqual([
          [2, 3],
          [1, 1],
        ]);
        expect(count.output.stats).toMatchObject({ filesWithMatches: 2, matchedLines: 3, matches: 4, ...(ripgrep ? {} : { files: 3 }) });
        const files = await grep({ pattern: 'x', mode: 'files' }, options(tree, engine));
        expect(matchedFiles(tree, files.output.messages)).toEqual(['a.txt', 'sub/c.txt']);
        expect(ofType(files.output, 'end').map((e) => e.data.stats.matched_lines)).toEqual([1, 1]);
        expect(
          toNdjson(files.output)
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as RipgrepMessage),
        ).toEqual(files.output.messages);
      });
    });

    it('streams results through progress events that add up to the output', async () => {
      const entries = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`d${i % 4}/f${i}.txt`, `match ${i}\nnothing\nmatch again\n`]));
      await withTree(entries, async (tree) => {
        const { output, progress } = await grep({ pattern: 'match' }, options(tree, engine));
        expect(progress.length).toBeGreaterThan(0);
        expect(progress.every((p) => p.type === 'grep-results')).toBe(true);
        expect(progress.flatMap((p) => p.messages)).toEqual(output.messages.slice(0, -1));
        expect(progress.at(-1)!.stats).toEqual(output.stats);
        expect(output.stats.matchedLines).toBe(80);
      });
    });
  });

for (const { name, options: engine, skip } of WALKERS)
  describe.skipIf(skip)(`grep, ${name}: which files it searches`, () => {
    const repo = {
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/config': 'needle in git\n',
      '.git/info/exclude': 'excluded.txt\n',
      '.gitignore': '*.log\nbuild/\n!keep.log\n/rooted.txt\n',
      '.ignore': 'ignored-by-dot-ignore.txt\n',
      'a.txt': 'needle\n',
      'debug.log': 'needle\n',
      'keep.log': 'needle\n',
      'build/out.txt': 'needle\n',
      'excluded.txt': 'needle\n',
      'rooted.txt': 'needle\n',
      'ignored-by-dot-ignore.txt': 'needle\n',
      'sub/.gitignore': 'local.txt\n!debug.log\n',
      'sub/local.txt': 'needle\n',
      'sub/debug.log': 'needle\n',
      'sub/rooted.txt': 'needle\n',
      'sub/deeper/local.txt': 'needle\n',
      '.hidden.txt': 'needle\n',
      '.config/settings.txt': 'needle\n',
      'src/main.ts': 'needle\n',
      'src/main.test.ts': 'needle\n',
    };

    it('honours .gitignore (nested, negated, anchored), .ignore and .git/info/exclude, and skips hidden files and .git', async () => {
      await withTree(repo, async (tree) => {
        const { output } = await grep({ pattern: 'needle', mode: 'files' }, options(tree, engine));
        expect(matchedFiles(tree, output.messages)).toEqual(['a.txt', 'keep.log', 'src/main.test.ts', 'src/main.ts', 'sub/debug.log', 'sub/rooted.txt']);
      });
    });

    it('turns each rule off on request', async () => {
      await withTree(repo, async (tree) => {
        const files = async (input: Record<string, unknown>) => matchedFiles(tree, (await grep({ pattern: 'needle', mode: 'files', ...input }, options(tree, engine))).output.messages);
        expect(await files({ hidden: true })).toEqual(['.config/settings.txt', '.hidden.txt', 'a.txt', 'keep.log', 'src/main.test.ts', 'src/main.ts', 'sub/debug.log', 'sub/rooted.txt']);
        const everything = [
          'a.txt',
          'build/out.txt',
          'debug.log',
          'excluded.txt',
          'ignored-by-dot-ignore.txt',
          'keep.log',
          'rooted.txt',
          'src/main.test.ts',
          'src/main.ts',
          'sub/debug.log',
          'sub/deeper/local.txt',
          'sub/local.txt',
          'sub/rooted.txt',
        ];
        expect(await files({ ignore: false })).toEqual(everything);
        expect(await files({ gitignore: false })).toEqual(everything.filter((f) => f !== 'ignored-by-dot-ignore.txt'));
      });
    });

    it('honours .gitignore only inside a git repository, unless requireGit is off', async () => {
      await withTree({ '.gitignore': 'skip.txt\n', 'skip.txt': 'needle\n', 'a.txt': 'needle\n' }, async (tree) => {
        const files = async (input: Record<string, unknown>) => matchedFiles(tree, (await grep({ pattern: 'needle', mode: 'files', ...input }, options(tree, engine))).output.messages);
        expect(await files({})).toEqual(['a.txt', 'skip.txt']);
        expect(await files({ requireGit: false })).toEqual(['a.txt']);
        await mkdir(tree.path('.git'));
        expect(await files({})).toEqual(['a.txt']);
      });
    });

    it('reads the ignore files of the directories above a search path, inside the roots', async () => {
      await withTree({ '.git/HEAD': 'x', '.gitignore': 'gen/\n', 'pkg/gen/a.txt': 'needle\n', 'pkg/src/a.txt': 'needle\n' }, async (tree) => {
        const { output } = await grep({ pattern: 'needle', paths: ['pkg'], mode: 'files' }, options(tree, engine));
        expect(matchedFiles(tree, output.messages)).toEqual(['pkg/src/a.txt']);
      });
    });

    it('applies include and exclude globs before the other rules, as ripgrep -g does', async () => {
      await withTree(repo, async (tree) => {
        const files = async (input: Record<string, unknown>) => matchedFiles(tree, (await grep({ pattern: 'needle', mode: 'files', ...input }, options(tree, engine))).output.messages);
        expect(await files({ include: ['*.ts'] })).toEqual(['src/main.test.ts', 'src/main.ts']);
        expect(await files({ include: ['*.ts'], exclude: ['*.test.ts'] })).toEqual(['src/main.ts']);
        expect(await files({ exclude: ['sub/', 'src'] })).toEqual(['a.txt', 'keep.log']);
        // An include glob whitelists a hidden or ignored file (ripgrep: `-g '*.txt'` finds .hidden.txt).
        // Directories still follow the rules: build/ stays ignored, .config stays hidden.
        expect(await files({ include: ['*.txt'] })).toEqual(['.hidden.txt', 'a.txt', 'excluded.txt', 'ignored-by-dot-ignore.txt', 'rooted.txt', 'sub/deeper/local.txt', 'sub/local.txt', 'sub/rooted.txt']);
        expect(await files({ include: ['/a.txt'] })).toEqual(['a.txt']);
      });
    });

    it('searches named files even when a rule would skip them, and each file once', async () => {
      await withTree(repo, async (tree) => {
        const { output } = await grep({ pattern: 'needle', paths: ['debug.log', '.hidden.txt', 'a.txt', '.', 'a.txt'], mode: 'files' }, options(tree, engine));
        const found = matchedFiles(tree, output.messages);
        expect(found.slice(0, 3)).toEqual(['.hidden.txt', 'a.txt', 'debug.log']);
        expect(found.filter((f) => f === 'a.txt')).toHaveLength(1);
      });
    });

    it('does not follow symlinks unless asked, and then only inside the roots', async () => {
      const outside = await makeTree({ 'secret.txt': 'needle\n' });
      try {
        await withTree(
          {
            'real/a.txt': 'needle\n',
            'link-file.txt': { link: 'real/a.txt' },
            'link-dir': { link: 'real' },
            escape: { link: outside.dir },
            'real/loop': { link: '.' },
          },
          async (tree) => {
            const plain = await grep({ pattern: 'needle', mode: 'files' }, options(tree, engine));
            expect(matchedFiles(tree, plain.output.messages)).toEqual(['real/a.txt']);
            const follow = await grep({ pattern: 'needle', mode: 'files', followSymlinks: true }, options(tree, engine));
            expect(matchedFiles(tree, follow.output.messages)).toEqual(['link-dir/a.txt', 'link-file.txt', 'real/a.txt']);
            expect(follow.output.errors.map((e) => [e.path.slice(tree.dir.length + 1), e.code]).sort()).toEqual([
              ['escape', 'FANOUT_PATH_OUTSIDE_ROOT'],
              ['link-dir/loop', 'ELOOP'],
              ['real/loop', 'ELOOP'],
            ]);
          },
        );
      } finally {
        await outside.cleanup();
      }
    });

    it('skips a FIFO without blocking on it, and refuses one named as a path', async () => {
      await withTree({ 'a.txt': 'needle\n' }, async (tree) => {
        execFileSync('mkfifo', [tree.path('pipe')]);
        const { state, output } = await grep({ pattern: 'needle', mode: 'files' }, options(tree, engine));
        expect(state).toBe('succeeded');
        expect(matchedFiles(tree, output.messages)).toEqual(['a.txt']);
        const named = await grep({ pattern: 'needle', paths: ['pipe'] }, options(tree, engine));
        expect(named.error).toMatchObject({ code: 'FANOUT_PATH_INVALID', path: 'paths[0]' });
      });
    });

    it('refuses paths outside the roots and paths that do not exist, naming the field', async () => {
      await withTree({ 'a.txt': 'needle\n' }, async (tree) => {
        const outside = await grep({ pattern: 'needle', paths: ['a.txt', '../'] }, options(tree, engine));
        expect(outside.state).toBe('failed');
        expect(outside.error).toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'paths[1]' });
        const missing = await grep({ pattern: 'needle', paths: ['nope'] }, options(tree, engine));
        expect(missing.error).toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'paths[0]' });
        expect(missing.error!.message).toContain('nope');
        const relative = await grep({ pattern: 'needle', paths: [join(tree.dir, 'a.txt')] }, options(tree, engine));
        expect(relative.state).toBe('succeeded');
      });
    });

    it('refuses a bad pattern with FANOUT_PATTERN_INVALID naming pattern', async () => {
      await withTree({ 'a.txt': 'x\n' }, async (tree) => {
        for (const pattern of ['(unclosed', 'a\\nb', '[z-a]', '(?x)a', 'a{2', '\\q']) {
          const { state, error } = await grep({ pattern }, options(tree, engine));
          expect(state, pattern).toBe('failed');
          expect(error, pattern).toMatchObject({ code: 'FANOUT_PATTERN_INVALID', path: 'pattern' });
          expect(error!.message, pattern).toContain(JSON.stringify(pattern));
        }
      });
    });
  });

describe('grep, builtin engine: its worker threads', () => {
  it('gives the same output when a literal search starts on the main thread and calls in worker threads', async () => {
    const entries = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`d${i % 7}/f${String(i).padStart(3, '0')}.txt`, `x\nneedle ${i}\n`.repeat(50)]));
    await withTree(entries, async (tree) => {
      const reference = await grep({ pattern: 'needle', mode: 'count' }, options(tree, { engine: 'builtin', threads: 0 }));
      await endIdleGrepWorkers();
      expect(grepWorkerCounts().idle).toBe(0);
      // A budget of 0.01 ms, and threads taken to start at no cost: the first files on the main
      // thread, then workers are started and take whatever is left when they come online.
      const scan = fsScan({ roots: [tree.dir], workerScript: worker.script, inlineBudgetMs: 0.01, threadStartMs: 0 });
      const handed = await grep({ pattern: 'needle', mode: 'count' }, { engine: 'builtin', scan });
      expect(handed.output.messages.slice(0, -1)).toEqual(reference.output.messages.slice(0, -1).map((m) => (m.type === 'end' ? expect.objectContaining({ type: 'end' }) : m)));
      expect(handed.output.stats).toEqual(reference.output.stats);
      expect(handed.output.stats.matchedLines).toBe(300 * 50);
      // The workers did part of it: they are back in the pool (released right after the result).
      await expect.poll(() => grepWorkerCounts().idle, { timeout: 5000 }).toBeGreaterThan(0);
    });
  });

  it('returns its worker threads to the pool when done', async () => {
    await withTree({ 'a.txt': 'needle\n' }, async (tree) => {
      const { state } = await grep({ pattern: 'ne+dle' }, options(tree, { engine: 'builtin' }));
      expect(state).toBe('succeeded');
      await expect.poll(() => grepWorkerCounts().busy, { timeout: 5000 }).toBe(0);
      expect(grepWorkerCounts().live).toBe(grepWorkerCounts().idle);
    });
  });
});
