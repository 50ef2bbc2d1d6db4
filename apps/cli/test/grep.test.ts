import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

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

const grep = (args: string[]) => fanout(['grep', ...args], { cwd: dir });
const sorted = (text: string) => text.split('\n').filter((l) => l !== '').sort();

/** The same search with ripgrep, for a side-by-side check. */
function rg(args: string[]): { code: number | null; stdout: string } {
  // Standard input closed: ripgrep would search a piped stdin instead of the directory.
  const out = spawnSync('rg', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: out.status, stdout: out.stdout };
}

describe('fanout grep', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['plain, with line numbers', ['-n', 'helper'], ['src/app.ts:1:import { helper } from "./util/helper";', 'src/app.ts:3:export const app = helper(1);', 'src/app.ts:4:const helperish = 2;', 'src/notes.md:1:a helper line', 'src/notes.md:5:another helper', 'src/util/helper.ts:1:export function helper(n: number) {']],
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
    const messages = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
    expect(messages.map((m) => m.type)).toEqual(['begin', 'match', 'end', 'summary']);
    expect(messages[1]!.data).toEqual({
      path: { text: 'src/util/helper.ts' },
      lines: { text: '  return n + 1;\n' },
      line_number: 2,
      absolute_offset: 36,
      submatches: [{ match: { text: 'return' }, start: 2, end: 8 }],
    });
    if (RG) {
      const theirs = rg(['--json', 'return', 'src/util/helper.ts']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
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
    expect(flag.stderr).toMatch(/expected --context to be a whole number, got "two"/);
    const missing = await grep([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/expected a pattern/);
  });

  it('honours .gitignore unless --no-ignore', async () => {
    expect(sorted((await grep(['-l', 'helper\\(\\)'])).stdout)).toEqual([]);
    expect(sorted((await grep(['-l', '--no-ignore', 'helper\\(\\)'])).stdout)).toEqual(['build/out.js']);
  });
});
