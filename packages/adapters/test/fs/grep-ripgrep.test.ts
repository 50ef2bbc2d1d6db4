import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUBMATCH_LIMIT, type GrepInputSpec, type RipgrepMessage } from '../../src/fs/grep/index.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { countsOf, findRipgrep, grep, makeTree, ofType, RG, ripgrep, type Entry, type Tree } from './grep/fixtures.js';

/**
 * Side by side with ripgrep on a generated corpus: the same files, the same counts, the same
 * JSON messages. Skipped, visibly, where ripgrep is not installed.
 */
const rg = await findRipgrep();
if (rg === undefined) console.warn('grep-ripgrep.test.ts: ripgrep (rg) is not installed; the side-by-side comparison is skipped (apt-get install ripgrep)');

/** A small deterministic generator (a 32-bit LCG, Numerical Recipes' constants). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const WORDS = [
  'function',
  'interface',
  'Interface',
  'INTERFACE',
  'foo',
  'foobar',
  'the',
  'The',
  'a.b',
  'axb',
  'été',
  'Été',
  'naïve',
  'straße',
  '\u212Aelvin',
  'kelvin',
  '東京',
  '😀',
  'x',
  'return',
  'const',
  '_foo',
  'foo_bar',
  'AB',
  'ABC',
  'déjà',
];
const SPACES = [' ', ' ', ' ', '  ', '\t', '\u00a0', '\u3000'];

function corpus(seed: number): Record<string, Entry> {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const line = (): string => {
    const words = Array.from({ length: Math.floor(next() * 12) }, () => pick(WORDS));
    let text = '';
    for (const word of words) text += word + pick(SPACES);
    return text;
  };
  const file = (lines: number): string => {
    let text = '';
    for (let i = 0; i < lines; i++) text += line() + (next() < 0.1 ? '\r\n' : '\n');
    return next() < 0.2 ? text.slice(0, -1) : text;
  };
  const entries: Record<string, Entry> = {
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.gitignore': 'ignored/\n*.tmp\n',
    'ignored/a.txt': file(20),
    'x.tmp': file(20),
    '.hidden/h.txt': file(20),
    'sub/.gitignore': '!keep.tmp\n',
    'sub/keep.tmp': file(20),
    'bin/early.bin': Buffer.concat([Buffer.from('function\0'), Buffer.from(file(10))]),
    'bin/late.txt': Buffer.concat([Buffer.from(file(3000)), Buffer.from([0]), Buffer.from(file(5))]),
    'latin1.txt': Buffer.concat([Buffer.from(file(5)), Buffer.from([0x66, 0x6f, 0x6f, 0xe9, 0x20, 0x74, 0x68, 0x65, 0x0a]), Buffer.from(file(5))]),
    'long.txt': `${line().repeat(3000)}\n${file(10)}`,
  };
  for (let i = 0; i < 40; i++) entries[`d${i % 5}/e${i % 3}/f${i}.txt`] = file(Math.floor(next() * 400));
  return entries;
}

const CASES: { name: string; args: string[]; input: GrepInputSpec }[] = [
  { name: 'a literal', args: ['function'], input: { pattern: 'function' } },
  { name: 'interface\\s+\\w+, case-insensitive', args: ['-i', 'interface\\s+\\w+'], input: { pattern: 'interface\\s+\\w+', ignoreCase: true } },
  { name: 'a word boundary and \\w', args: ['\\bfoo\\w*'], input: { pattern: '\\bfoo\\w*' } },
  { name: 'Unicode and .', args: ['é.'], input: { pattern: 'é.' } },
  { name: 'Unicode case folding', args: ['-i', 'kelvin|ÉTÉ|STRASSE'], input: { pattern: 'kelvin|ÉTÉ|STRASSE', ignoreCase: true } },
  { name: 'smart case', args: ['-S', 'the'], input: { pattern: 'the', smartCase: true } },
  { name: 'POSIX classes and repetition', args: ['[[:upper:]]{2,}'], input: { pattern: '[[:upper:]]{2,}' } },
  { name: 'whole words', args: ['-w', 'foo'], input: { pattern: 'foo', word: true } },
  { name: 'a fixed string', args: ['-F', 'a.b'], input: { pattern: 'a.b', fixedStrings: true } },
  { name: 'anchors', args: ['^(the|foo)|x$'], input: { pattern: '^(the|foo)|x$' } },
  { name: 'a negated class', args: ['o[^o\\s]+'], input: { pattern: 'o[^o\\s]+' } },
  { name: 'hidden files too', args: ['--hidden', 'function'], input: { pattern: 'function', hidden: true } },
  { name: 'no ignore files', args: ['--no-ignore', 'function'], input: { pattern: 'function', ignore: false } },
  { name: 'globs', args: ['-g', '*.tmp', '-g', '!sub/', 'function'], input: { pattern: 'function', include: ['*.tmp'], exclude: ['sub/'] } },
];

const ENGINES = [
  { name: 'builtin engine', options: { engine: 'builtin' as const } },
  { name: 'ripgrep engine', options: { engine: 'ripgrep' as const, ...(RG === undefined ? {} : { rgPath: RG }) } },
];

for (const engine of ENGINES)
  describe.skipIf(rg === undefined)(`grep against ripgrep on a generated corpus, ${engine.name}`, () => {
    let tree: Tree;
    let worker: CompiledGrepWorker;
    beforeAll(async () => {
      tree = await makeTree(corpus(20260704));
      worker = await compileGrepWorker();
    });
    afterAll(async () => {
      await tree?.cleanup();
      await worker?.cleanup();
    });

    const relative = (path: string) => path.slice(tree.dir.length + 1);

    it.each(CASES)('counts the same lines and matches per file: $name', async ({ args, input }) => {
      const lines = await ripgrep(['-c', ...args], tree.dir);
      const matches = await ripgrep(['--count-matches', ...args], tree.dir);
      const parse = (text: string) =>
        new Map(
          text
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((row) => [row.slice(0, row.lastIndexOf(':')), Number(row.slice(row.lastIndexOf(':') + 1))]),
        );
      const { output, state } = await grep({ ...input, mode: 'count' }, { roots: [tree.dir], workerScript: worker.script, ...engine.options });
      expect(state).toBe('succeeded');
      const ours = new Map([...countsOf(output)].map(([path, n]) => [relative(path), n]));
      expect(ours).toEqual(parse(lines));
      const oursMatches = new Map(ofType(output, 'end').map((end) => [relative((end.data.path as { text: string }).text), end.data.stats.matches]));
      expect(oursMatches).toEqual(parse(matches));
    });

    it.each(CASES.slice(0, 11))('prints the same JSON match and context lines: $name', async ({ args, input }) => {
      // Text files only: on a file with a late NUL byte ripgrep prints what it matched before
      // the buffer that holds it, where we (like `rg -c`) drop the file.
      const scope = ['-g', '!bin/'];
      const theirs = (await ripgrep(['--json', '--sort', 'path', '-C', '1', ...scope, ...args], tree.dir))
        .trim()
        .split('\n')
        .map((row) => JSON.parse(row) as RipgrepMessage);
      const { output } = await grep({ ...input, context: 1, exclude: ['bin/'], maxMatches: 1_000_000, maxOutputBytes: 1e9 }, { roots: [tree.dir], workerScript: worker.script, ...engine.options });
      const byFile = (messages: readonly RipgrepMessage[], path: (text: string) => string) => {
        const files = new Map<string, unknown[]>();
        for (const message of messages) {
          if (message.type !== 'match' && message.type !== 'context') continue;
          const file = path((message.data.path as { text: string }).text);
          const { lines, line_number, absolute_offset, submatches } = message.data;
          // ripgrep lists every submatch; fanout the first SUBMATCH_LIMIT (long.txt has more).
          files.set(file, [...(files.get(file) ?? []), { type: message.type, lines, line_number, absolute_offset, submatches: submatches.slice(0, SUBMATCH_LIMIT) }]);
        }
        return files;
      };
      expect(byFile(output.messages, relative)).toEqual(byFile(theirs, (path) => path));
      // In the same order as `rg --sort path`: the walk order of both engines.
      const order = (messages: readonly RipgrepMessage[], path: (text: string) => string) => messages.filter((m) => m.type === 'begin').map((m) => path((m.data.path as { text: string }).text));
      expect(order(output.messages, relative)).toEqual(order(theirs, (path) => path));
    });
  });
