import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, fanout } from './helpers.js';

let dir: string;
const RG = spawnSync('rg', ['--version']).status === 0;
if (!RG) console.warn('ripgrep (rg) is not installed: fanout grep is checked against fixed expectations only, not side by side with rg');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-grep-'));
  await mkdir(join(dir, 'src/util'), { recursive: true });
  await mkdir(join(dir, 'build'), { recursive: true });
  await mkdir(join(dir, '.git')); // ripgrep honours .gitignore only inside a repository; so does fanout
  await writeFile(join(dir, '.gitignore'), 'build/\n');
  await writeFile(join(dir, 'src/app.ts'), 'import { helper } from "./util/helper";\n// TODO: wire the Helper\nexport const app = helper(1);\nconst helperish = 2;\n');
  await writeFile(join(dir, 'src/util/helper.ts'), 'export function helper(n: number) {\n  return n + 1;\n}\n// todo later\n');
  await writeFile(join(dir, 'src/notes.md'), 'a helper line\nplain\nplain\nplain\nanother helper\n(regex) chars [here]\n');
  await writeFile(join(dir, 'build/out.js'), 'helper();\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sorted = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .sort();

/** The same search with ripgrep, for a side-by-side check. */
function rg(args: string[], cwd = dir): { code: number | null; stdout: string } {
  // Standard input closed: ripgrep would search a piped stdin instead of the directory.
  const out = spawnSync('rg', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: out.status, stdout: out.stdout };
}

/** ripgrep's raw output (bytes as printed), sorted by path for a file-by-file comparison. */
function rgBytes(args: string[], cwd: string): { code: number | null; stdout: Buffer } {
  const out = spawnSync('rg', ['--sort', 'path', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  return { code: out.status, stdout: out.stdout };
}

/** Both engines, side by side with rg; the ripgrep engine's suite is skipped, visibly, without rg. */
const ENGINES = [
  { engine: 'builtin', skip: false, name: 'builtin engine' },
  { engine: 'ripgrep', skip: !RG, name: `ripgrep engine${RG ? '' : ' (skipped: ripgrep is not installed)'}` },
];

for (const { engine, skip, name } of ENGINES)
  describe.skipIf(skip)(`fanout grep, ${name}`, () => {
    const grep = (args: string[], options: Parameters<typeof fanout>[1] = {}) => fanout(['grep', '--engine', engine, ...args], { cwd: dir, ...options });

    const cases: Array<[string, string[], string[]]> = [
      [
        'plain, with line numbers',
        ['-n', 'helper'],
        [
          'src/app.ts:1:import { helper } from "./util/helper";',
          'src/app.ts:3:export const app = helper(1);',
          'src/app.ts:4:const helperish = 2;',
          'src/notes.md:1:a helper line',
          'src/notes.md:5:another helper',
          'src/util/helper.ts:1:export function helper(n: number) {',
        ],
      ],
      ['-i', ['-n', '-i', 'todo'], ['src/app.ts:2:// TODO: wire the Helper', 'src/util/helper.ts:4:// todo later']],
      ['-w', ['-w', '-c', 'helper'], ['src/app.ts:2', 'src/notes.md:2', 'src/util/helper.ts:1']],
      ['-F', ['-F', '-n', '(regex) chars [here]'], ['src/notes.md:6:(regex) chars [here]']],
      ['-l', ['-l', 'helper', 'src'], ['src/app.ts', 'src/notes.md', 'src/util/helper.ts']],
      ['--glob', ['-l', '--glob', '*.ts', 'helper'], ['src/app.ts', 'src/util/helper.ts']],
      ['--glob !', ['-l', '-g', '!*.md', 'helper'], ['src/app.ts', 'src/util/helper.ts']],
      ['one file, no name', ['-n', 'return', 'src/util/helper.ts'], ['2:  return n + 1;']],
      ['./ as typed', ['-l', 'later', './src'], ['./src/util/helper.ts']],
    ];
    for (const [name, args, expected] of cases) {
      it(`${name}: ${args.join(' ')}`, async () => {
        const out = await grep(args);
        expect(out.code).toBe(0);
        expect(sorted(out.stdout)).toEqual(expected);
        if (RG) expect(sorted(rg(args).stdout)).toEqual(expected); // ripgrep prints the same lines
      });
    }

    it('-C N prints context lines and "--" between groups that do not touch, like ripgrep', async () => {
      const args = ['-n', '-C', '1', 'helper', 'src/notes.md'];
      const out = await grep(args);
      expect(out.stdout).toBe('1:a helper line\n2-plain\n--\n4-plain\n5:another helper\n6-(regex) chars [here]\n');
      if (RG) expect(rg(args).stdout).toBe(out.stdout);
    });

    it('--json prints ripgrep’s messages: begin, match, end per file, then a summary', async () => {
      const out = await grep(['--json', 'return', 'src/util/helper.ts']);
      expect(out.code).toBe(0);
      const messages = out.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
      expect(messages.map((m) => m.type)).toEqual(['begin', 'match', 'end', 'summary']);
      expect(messages[1]!.data).toEqual({
        path: { text: 'src/util/helper.ts' },
        lines: { text: '  return n + 1;\n' },
        line_number: 2,
        absolute_offset: 36,
        submatches: [{ match: { text: 'return' }, start: 2, end: 8 }],
      });
      if (RG) {
        const theirs = rg(['--json', 'return', 'src/util/helper.ts'])
          .stdout.trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
        expect(theirs.map((m) => m.type)).toEqual(messages.map((m) => m.type));
        expect(theirs[0]).toEqual(messages[0]);
        expect(theirs[1]).toEqual(messages[1]);
      }
    });

    it('exits 1 when nothing matched, 2 on a bad pattern or flag, with the reason', async () => {
      const none = await grep(['no-such-text-anywhere']);
      expect(none).toMatchObject({ code: 1, stdout: '' });
      const bad = await grep(['(unclosed']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/expected pattern to be a valid regular expression, got "\(unclosed"/);
      const flag = await grep(['-C', 'two', 'x']);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toMatch(/expected --context to be an integer ≥ 0, got "two"/);
      const missing = await grep([]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/expected a pattern/);
    });

    it('honours .gitignore unless --no-ignore', async () => {
      expect(sorted((await grep(['-l', 'helper\\(\\)'])).stdout)).toEqual([]);
      expect(sorted((await grep(['-l', '--no-ignore', 'helper\\(\\)'])).stdout)).toEqual(['build/out.js']);
    });

    describe('what ripgrep prints, byte for byte', () => {
      let files: string;
      beforeAll(async () => {
        files = await mkdtemp(join(tmpdir(), 'fanout-grep-bytes-'));
        await mkdir(join(files, 'build'));
        await mkdir(join(files, '.git'));
        await writeFile(join(files, '.gitignore'), 'build/\n');
        await writeFile(join(files, 'build/out.js'), 'needle built\n');
        await writeFile(join(files, 'crlf.txt'), 'one needle\r\ntwo\r\nthree needle\r\n');
        await writeFile(join(files, 'latin1.txt'), Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' needle\n')]));
        await writeFile(join(files, 'bin.dat'), Buffer.concat([Buffer.from('needle'), Buffer.from([0]), Buffer.from('world\nneedle again\n')]));
        await writeFile(join(files, 'catastrophic.txt'), `${'a'.repeat(40)}b\n`);
        // A 10 MB line, and a 10 MB file without a line feed.
        await writeFile(join(files, 'long.txt'), `${'x'.repeat(10 * 1024 * 1024)}needle\nshort needle\n`);
        await writeFile(join(files, 'no-newline.txt'), `${'y'.repeat(10 * 1024 * 1024)}needle`);
      });
      afterAll(async () => {
        await rm(files, { recursive: true, force: true });
      });

      /** fanout's output as bytes, with the paths of ripgrep's order (`--sort path`). */
      async function bytesOf(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
        return new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, 'grep', '--engine', engine, ...args], { cwd: files, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
          const out: Buffer[] = [];
          let stderr = '';
          child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
          child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
        });
      }

      it('keeps the \\r of CRLF lines and bytes that are not UTF-8, and names a binary file instead of printing it', async () => {
        const args = ['needle', 'bin.dat', 'crlf.txt', 'latin1.txt'];
        const out = await bytesOf(args);
        expect(out.code).toBe(0);
        expect(out.stdout).toEqual(
          Buffer.concat([Buffer.from('bin.dat: binary file matches (found "\\0" byte around offset 6)\ncrlf.txt:one needle\r\ncrlf.txt:three needle\r\nlatin1.txt:caf'), Buffer.from([0xe9]), Buffer.from(' needle\n')]),
        );
        if (RG) expect(out.stdout).toEqual(rgBytes(args, files).stdout);
        // Counts and --json search the binary file as text, as ripgrep does.
        const count = await bytesOf(['-c', 'needle', 'bin.dat']);
        expect(count.stdout.toString()).toBe('2\n');
        if (RG) expect(count.stdout).toEqual(rgBytes(['-c', 'needle', 'bin.dat'], files).stdout);
      });

      it('searches an ignored directory named on the command line, as ripgrep does', async () => {
        const out = await bytesOf(['-l', 'needle', 'build']);
        expect(out.stdout.toString()).toBe('build/out.js\n');
        if (RG) expect(out.stdout).toEqual(rgBytes(['-l', 'needle', 'build'], files).stdout);
        const walked = await bytesOf(['-l', 'needle']);
        expect(walked.stdout.toString()).not.toContain('build/');
      });

      it('ends at once on a catastrophic pattern (forty a and a b, (a+)+$)', async () => {
        // Unbounded backtracking would run into the helper's 60 s bound (the grep timeout is 2 min).
        const out = await bytesOf(['(a+)+$', 'catastrophic.txt']);
        expect(out).toMatchObject({ code: 1, stderr: '' });
        expect(out.stdout.length).toBe(0);
        const found = await bytesOf(['-c', '(a+)+b$', 'catastrophic.txt']);
        expect(found.stdout.toString()).toBe('1\n');
      });

      it('prints a 10 MB line and a 10 MB file without a line feed as ripgrep does, within a bounded heap', async () => {
        // 256 MB of heap: ten million matches of x on one line must not be held as objects.
        const bounded = { NODE_OPTIONS: '--max-old-space-size=256' };
        for (const args of [
          ['needle', 'long.txt', 'no-newline.txt'],
          ['-c', 'x', 'long.txt'],
          ['x', 'long.txt'],
        ]) {
          const out = await bytesOf(args, bounded);
          expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(0);
          expect(out.stderr).toBe('');
          if (RG) expect(out.stdout.equals(rgBytes(args, files).stdout), args.join(' ')).toBe(true);
        }
        const line = await bytesOf(['-n', 'short', 'long.txt'], bounded);
        expect(line.stdout.toString()).toBe('2:short needle\n');
      }, 120_000);
    });
  });

describe.skipIf(!RG)(`fanout grep prints each result once, even when the search fails halfway${RG ? '' : ' (skipped: ripgrep is not installed)'}`, () => {
  let tree: string;
  beforeAll(async () => {
    tree = await mkdtemp(join(tmpdir(), 'fanout-grep-once-'));
    // Enough matching lines first that ripgrep, which writes to a pipe in 8 KiB blocks, has
    // sent some before it reaches the big file.
    const word = 'w'.repeat(95);
    for (let i = 0; i < 5; i++) await writeFile(join(tree, `a${i}.txt`), Array.from({ length: 200 }, (_, n) => `line ${n} one two three four ${word}\n`).join(''));
    // What comes after them in the walk keeps ripgrep busy for seconds (a Unicode \\b before
    // long repetitions, over non-ASCII text), long enough to end it from outside.
    const words = ['alpha', 'beta', 'épsilon', 'ηta', 'theta'];
    const lines = Array.from({ length: 4096 }, (_, i) => Array.from({ length: 10 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ')).join('\n');
    await writeFile(join(tree, 'z-words.txt'), `${lines}\n`.repeat(64));
  });
  afterAll(async () => {
    await rm(tree, { recursive: true, force: true });
  });

  /** The pids of `pid`'s child processes (Linux /proc). */
  function children(pid: number): number[] {
    const found: number[] = [];
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        found.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
      } catch {
        // The thread ended meanwhile.
      }
    }
    return found;
  }

  it('reports a failed attempt once, with its error, and never prints its lines again', async () => {
    const child = spawn(process.execPath, [BIN, 'grep', '--engine', 'ripgrep', '-n', '\\b\\w{3,}\\s\\w{3,}\\s\\w{3,}\\s\\w{3,}\\s\\w{90}'], {
      cwd: tree,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        if (stdout.split('\n').length > 100) resolve();
      });
    });
    // Lines of the small files are printed; ripgrep is in the big one. End it as a crash would.
    const rgs = children(child.pid!);
    expect(rgs.length).toBe(1);
    process.kill(rgs[0]!, 'SIGKILL');
    const code = await closed;
    expect(code).toBe(2);
    expect(stderr).toMatch(/FANOUT_RIPGREP_FAILED/);
    // Each line once, in order: what was printed is a prefix of the whole result.
    const printed = stdout.split('\n').filter((line) => line !== '');
    const all = Array.from({ length: 5 }, (_, i) => Array.from({ length: 200 }, (_, n) => `a${i}.txt:${n + 1}:line ${n} one two three four ${'w'.repeat(95)}`)).flat();
    expect(printed.length).toBeGreaterThan(100);
    expect(printed).toEqual(all.slice(0, printed.length));
  });
});
