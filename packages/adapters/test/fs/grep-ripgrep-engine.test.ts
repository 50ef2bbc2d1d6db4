import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grepAdapter, grepInputSchema, ripgrepProcessCount } from '../../src/fs/grep/index.js';
import { spawnRipgrep } from '../../src/fs/grep/early.js';
import { ripgrepArgs } from '../../src/fs/grep/ripgrep-args.js';
import { unusableReason } from '../../src/fs/grep/engine.js';
import { printedBytes, type RipgrepMessage } from '../../src/fs/grep/messages.js';
import { END_LINE, LineSplitter, parseBegin, parseEnd } from '../../src/fs/grep/ripgrep-stream.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { grep, makeTree, ofType, RG, RG_MISSING, type Tree } from './grep/fixtures.js';

describe('ripgrep engine: reading rg --json', () => {
  function split(chunks: string[], limit = 1000): { lines: string[]; tooLong: number } {
    const lines: string[] = [];
    let tooLong = 0;
    const splitter = new LineSplitter(
      limit,
      (line, start, end) => lines.push(line.toString('utf8', start, end)),
      () => tooLong++,
    );
    for (const chunk of chunks) splitter.push(Buffer.from(chunk));
    return { lines, tooLong };
  }

  it('splits lines however the stream cuts them', () => {
    expect(split(['{"a":1}\n{"b"', ':2}\n', '{"c":', '3', '}\n'])).toEqual({ lines: ['{"a":1}', '{"b":2}', '{"c":3}'], tooLong: 0 });
  });

  it('skips the lines keep refuses up to the next one resume starts, however the stream cuts them', () => {
    const output = [
      '{"type":"begin","data":{"path":{"text":"/a"}}}',
      '{"type":"match","data":{"n":1}}',
      '{"type":"match","data":{"n":2}}',
      '{"type":"end","data":{"path":{"text":"/a"}}}',
      '{"type":"begin","data":{"path":{"text":"/b"}}}',
      '{"type":"match","data":{"n":3}}',
      '{"type":"end","data":{"path":{"text":"/b"}}}',
      '{"data":{"elapsed_total":{}}}',
      '',
    ].join('\n');
    const wanted = output.split('\n').filter((line) => line.startsWith('{"type":"begin"') || line.startsWith('{"type":"end"'));
    const read = (cuts: number[]): string[] => {
      const lines: string[] = [];
      const splitter = new LineSplitter(
        1000,
        (line, start, end) => lines.push(line.toString('utf8', start, end)),
        () => lines.push('too long'),
        (type) => type === 0x62 || type === 0x65,
        END_LINE,
      );
      let from = 0;
      for (const cut of [...cuts, output.length]) {
        splitter.push(Buffer.from(output.slice(from, cut)));
        from = cut;
      }
      return lines;
    };
    expect(read([])).toEqual(wanted);
    for (let first = 1; first < output.length; first++) {
      expect(read([first])).toEqual(wanted);
      for (let second = first + 1; second < Math.min(output.length, first + 20); second++) expect(read([first, second])).toEqual(wanted);
    }
  });

  it('never holds a line over its limit: it reports it and drops it as it comes', () => {
    const long = 'x'.repeat(30);
    expect(split([`first\n${long.slice(0, 10)}`, long.slice(10, 25), `${long.slice(25)}\nafter\n`], 20)).toEqual({ lines: ['first', 'after'], tooLong: 1 });
    expect(split([`${long}\nafter\n`], 20)).toEqual({ lines: ['after'], tooLong: 1 });
  });
});

describe.skipIf(RG === undefined)(`ripgrep engine: begin and end lines read without JSON.parse${RG_MISSING}`, () => {
  let tree: Tree;
  beforeAll(async () => {
    // Names whose JSON needs escapes (quote, backslash, tab), one that is not UTF-8 (base64
    // "bytes"), non-ASCII text, and a binary file named on the command line (a binary_offset).
    tree = await makeTree({
      'plain.txt': 'needle\n',
      'quo"te.txt': 'needle\n',
      'back\\slash.txt': 'needle\n',
      'tab\there.txt': 'needle\n',
      'é-ü.txt': 'needle needle\nneedle\n',
      'bin.dat': Buffer.from('needle\n\0needle\n'),
    });
    await writeFile(Buffer.from(`${tree.dir}/latin1-\xe9.txt`, 'latin1'), 'needle\n');
  });
  afterAll(() => tree.cleanup());

  it('gives what JSON.parse gives, and the size JSON.stringify writes, for every begin and end rg writes', () => {
    const out = execFileSync(RG!, ['--json', '--no-config', '--sort=path', '--regexp=needle', '--', tree.dir, tree.path('bin.dat')]);
    const lines = out
      .toString('latin1')
      .split('\n')
      .filter((line) => line !== '');
    let begins = 0;
    let ends = 0;
    let offset = 0;
    for (const line of out.toString('latin1').split('\n')) {
      const start = offset;
      const end = offset + line.length;
      offset = end + 1;
      if (line === '') continue;
      const parsed = JSON.parse(out.toString('utf8', start, end)) as RipgrepMessage;
      if (parsed.type === 'begin') {
        begins++;
        expect(parseBegin(out, start, end)).toEqual({ begin: parsed, printed: printedBytes(parsed) });
        expect(JSON.stringify(parseBegin(out, start, end).begin)).toBe(JSON.stringify(parsed));
      } else if (parsed.type === 'end') {
        ends++;
        const { binary_offset, stats } = parseEnd(out, start, end);
        expect({ binary_offset, stats }).toEqual({ binary_offset: parsed.data.binary_offset, stats: parsed.data.stats });
        expect(JSON.stringify(stats)).toBe(JSON.stringify(parsed.data.stats));
      }
    }
    // The six text files, and bin.dat once: named, with its binary offset (found by the walk, rg reports nothing of it).
    expect({ begins, ends }).toEqual({ begins: 7, ends: 7 });
    expect(lines.some((line) => /"binary_offset":\d/.test(line))).toBe(true);
    expect(lines.some((line) => line.includes('"bytes":'))).toBe(true);
  });

  it('parses a line in another form (spaces, another field order) as JSON', () => {
    const begin = Buffer.from('{ "type": "begin", "data": { "path": { "text": "/a" } } }');
    expect(parseBegin(begin, 0, begin.length)).toEqual({ begin: { type: 'begin', data: { path: { text: '/a' } } }, printed: printedBytes({ type: 'begin', data: { path: { text: '/a' } } }) });
    const stats = { elapsed: { secs: 0, nanos: 5, human: '0.000000s' }, searches: 1, searches_with_match: 1, bytes_searched: 9, bytes_printed: 3, matched_lines: 2, matches: 7 };
    const end = Buffer.from(JSON.stringify({ type: 'end', data: { binary_offset: null, path: { text: '/a' }, stats } }));
    expect(parseEnd(end, 0, end.length)).toEqual({ binary_offset: null, path: { text: '/a' }, stats });
  });
});

describe('ripgrep engine: the command line', () => {
  const input = (spec: Record<string, unknown>) => grepInputSchema.parse({ pattern: 'x', ...spec });

  it('carries every value in --flag=value form or after --, never a user flag, never --pre, never a config file', () => {
    const args = ripgrepArgs(input({ pattern: '--pre=/bin/sh', include: ['--pre=x'], exclude: ['-y'] }), false, { kind: 'directory', path: '/r' });
    expect(args).toContain('--no-config');
    expect(args).toContain('--regexp=--pre=/bin/sh');
    expect(args).toContain('--glob=--pre=x');
    expect(args).toContain('--glob=!-y');
    expect(args.filter((arg) => arg.startsWith('--pre'))).toEqual([]);
    expect(args.slice(args.indexOf('--') + 1)).toEqual(['/r']);
    expect(args).toContain('--sort=path');
  });

  it('passes the engine’s own case decision and each option by name', () => {
    const args = ripgrepArgs(input({ smartCase: true, word: true, fixedStrings: true, hidden: true, ignore: false, requireGit: false, maxCount: 3, context: 2, mode: 'content' }), true, {
      kind: 'files',
      paths: ['/r/a', '/r/b'],
    });
    expect(args).toEqual(expect.arrayContaining(['--ignore-case', '--word-regexp', '--fixed-strings', '--hidden', '--no-ignore', '--no-require-git', '--max-count=3', '--before-context=2', '--after-context=2']));
    expect(args.slice(-2)).toEqual(['/r/a', '/r/b']);
    expect(ripgrepArgs(input({ mode: 'files', maxCount: 9 }), false, { kind: 'directory', path: '/r' })).toContain('--max-count=1');
  });
});

describe.skipIf(RG === undefined)(`ripgrep engine: the rg process${RG_MISSING}`, () => {
  let worker: CompiledGrepWorker;
  let tree: Tree;
  beforeAll(async () => {
    worker = await compileGrepWorker();
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`many/f${String(i).padStart(2, '0')}.txt`, 'needle\n'.repeat(500)]));
    tree = await makeTree({ 'a.txt': '-dash needle\nplain\n', ...many, 'config/ripgreprc': '--invert-match\n--files\n' });
  });
  afterAll(async () => {
    await tree.cleanup();
    await worker.cleanup();
  });
  const options = (extra: Record<string, unknown> = {}) => ({ roots: [tree.dir], workerScript: worker.script, engine: 'ripgrep' as const, rgPath: RG!, ...extra });

  it('takes a pattern that starts with a dash as a pattern, and ignores RIPGREP_CONFIG_PATH', async () => {
    const saved = process.env.RIPGREP_CONFIG_PATH;
    process.env.RIPGREP_CONFIG_PATH = tree.path('config/ripgreprc');
    try {
      const { state, output } = await grep({ pattern: '-dash', paths: ['a.txt'] }, options());
      expect(state).toBe('succeeded');
      expect(ofType(output, 'match').map((m) => m.data.lines)).toEqual([{ text: '-dash needle\n' }]);
    } finally {
      if (saved === undefined) delete process.env.RIPGREP_CONFIG_PATH;
      else process.env.RIPGREP_CONFIG_PATH = saved;
    }
  });

  it('ends rg as soon as a cap is reached, before the operation settles', async () => {
    const { state, output } = await grep({ pattern: 'needle', paths: ['many'], maxMatches: 600 }, options());
    expect(state).toBe('succeeded');
    expect(output.truncated).toBe(true);
    expect(output.stats.matchedLines).toBe(600);
    expect(ofType(output, 'begin').map((m) => (m.data.path as { text: string }).text)).toEqual([tree.path('many/f00.txt'), tree.path('many/f01.txt')]);
    expect(ripgrepProcessCount()).toBe(0);
  });

  it('a count search of one directory runs rg unsorted; when a cap will cut it, it runs again sorted and stops at the cap', async () => {
    const spawned: string[][] = [];
    const spawn: typeof spawnRipgrep = (file, args, opts) => {
      spawned.push([...args]);
      return spawnRipgrep(file, args, opts);
    };
    const whole = await grep({ pattern: 'needle', paths: ['many'], mode: 'count' }, options({ spawnRipgrep: spawn }));
    expect(whole.state).toBe('succeeded');
    expect(spawned.map((args) => args.includes('--sort=path'))).toEqual([false]);
    // In the walk's order all the same.
    expect(ofType(whole.output, 'begin').map((m) => (m.data.path as { text: string }).text)).toEqual(Array.from({ length: 60 }, (_, i) => tree.path(`many/f${String(i).padStart(2, '0')}.txt`)));
    spawned.length = 0;
    const capped = await grep({ pattern: 'needle', paths: ['many'], mode: 'count', maxMatches: 600 }, options({ spawnRipgrep: spawn }));
    expect(capped.state).toBe('succeeded');
    expect(spawned.map((args) => args.includes('--sort=path'))).toEqual([false, true]);
    expect(capped.output.truncated).toBe(true);
    expect(capped.output.stats.matchedLines).toBe(600);
    expect(ofType(capped.output, 'begin').map((m) => (m.data.path as { text: string }).text)).toEqual([tree.path('many/f00.txt'), tree.path('many/f01.txt')]);
    // Each file streamed once, though the first process had found some before it was stopped.
    const begins = capped.progress.flatMap((report) => report.messages.filter((message) => message.type === 'begin'));
    expect(begins).toHaveLength(2);
    expect(ripgrepProcessCount()).toBe(0);
    // The built-in engine's answer, message by message (times aside).
    const builtin = await grep({ pattern: 'needle', paths: ['many'], mode: 'count', maxMatches: 600 }, options({ engine: 'builtin' }));
    const strip = (output: typeof capped.output) => output.messages.filter((m) => m.type !== 'summary').map((m) => JSON.stringify(m).replace(/"elapsed":\{[^}]*\}/g, ''));
    expect(strip(capped.output)).toEqual(strip(builtin.output));
  });

  it("an unsorted run's file errors take their places in the walk's order, whatever order rg said them in", async () => {
    // rg's threads report errors in the order they meet them: here z, d1, d3, d2.
    const rg = tree.path('rg-errors-scrambled');
    const lines = ['z', 'd1', 'd3', 'd2'].map((name) => `${tree.path(`many/${name}`)}: Permission denied (os error 13)`);
    await writeFile(rg, `#!/bin/sh\nprintf '%s\\n' ${lines.map((line) => `'${line}'`).join(' ')} >&2\n'${RG!}' "$@"\n`);
    await chmod(rg, 0o755);
    for (const mode of ['count', 'files'] as const) {
      const { state, output } = await grep({ pattern: 'needle', paths: ['many'], mode }, options({ rgPath: rg }));
      expect(state).toBe('succeeded');
      expect(output.errors.map((error) => error.path)).toEqual(['d1', 'd2', 'd3', 'z'].map((name) => tree.path(`many/${name}`)));
    }
  });

  it('refuses an rgPath that is not an executable program, naming it', () => {
    expect(() => grepAdapter(options({ rgPath: tree.path('a.txt') }))).toThrow(expect.objectContaining({ code: 'FANOUT_RIPGREP_NOT_FOUND', path: 'rgPath' }));
  });

  it.each(['rg: ', ''])('reads a file error rg reports on standard error, with or without the "rg: " prefix ("%s"; ripgrep 13 writes none)', async (prefix) => {
    // ripgrep as it would report a directory it may not read: the line on standard error, the
    // search going on, and exit 2 when nothing matched (an error and no match).
    const rg = tree.path(`rg-errors-${prefix === '' ? 'bare' : 'prefixed'}`);
    const locked = tree.path('many/locked');
    await writeFile(rg, `#!/bin/sh\necho '${prefix}${locked}: Permission denied (os error 13)' >&2\n'${RG!}' "$@"\ncode=$?\n[ $code -eq 1 ] && exit 2\nexit $code\n`);
    await chmod(rg, 0o755);
    const error = { path: locked, code: 'EACCES', message: 'Permission denied (os error 13)' };
    const matched = await grep({ pattern: 'dash', paths: ['a.txt'] }, options({ rgPath: rg }));
    expect(matched.state).toBe('succeeded');
    expect(matched.output.stats.matchedLines).toBe(1);
    expect(matched.output.errors).toEqual([error]);
    // Nothing matched: exit 2 with only file errors is a search that had errors, not a failure.
    const none = await grep({ pattern: 'absent-everywhere', paths: ['a.txt'] }, options({ rgPath: rg }));
    expect(none.state).toBe('succeeded');
    expect(none.output.stats.matchedLines).toBe(0);
    expect(none.output.errors).toEqual([error]);
  });

  describe('an rg that is too old', () => {
    /** A program standing in for ripgrep 11, which knows neither --no-config's neighbours nor our flags. */
    async function oldRipgrep(name: string): Promise<string> {
      const path = tree.path(name);
      await writeFile(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "ripgrep 11.0.2"; exit 0; fi\necho "error: Found argument '--no-ignore-global' which wasn't expected" >&2\nexit 2\n`);
      await chmod(path, 0o755);
      return path;
    }

    it('fails with engine "ripgrep", saying which version it found', async () => {
      const rg = await oldRipgrep('rg-old-1');
      const { state, error } = await grep({ pattern: 'needle', paths: ['a.txt'] }, options({ rgPath: rg }));
      expect(state).toBe('failed');
      expect(error).toMatchObject({ code: 'FANOUT_RIPGREP_FAILED', path: 'grep.engine' });
      expect(error!.message).toContain('ripgrep 11.0.2, older than 13');
    });

    it('is replaced by the built-in engine with engine "auto", for the rest of the process', async () => {
      const rg = await oldRipgrep('rg-old-2');
      for (let i = 0; i < 2; i++) {
        const { state, output } = await grep({ pattern: 'needle', paths: ['a.txt'] }, options({ engine: 'auto', rgPath: rg }));
        expect(state).toBe('succeeded');
        // The built-in engine answered, with the stats both engines know (an auto grep's).
        expect(output.stats).toEqual({ filesWithMatches: 1, matches: 1, matchedLines: 1 });
        expect(unusableReason(rg)).toContain('older than 13');
      }
    });
  });
});
