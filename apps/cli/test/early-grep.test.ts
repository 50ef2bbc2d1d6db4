import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GrepOutput } from '@fanout/adapters/grep';
import { grepAdapterFromConfig } from '@fanout/profiles';
import { createScheduler } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEarlyRipgrep } from '../src/early-grep.js';
import { fanout } from './helpers.js';
import { GREP_FLAGS, grepInput } from '../src/grep-input.js';

const RG = spawnSync('rg', ['--version']).status === 0;

let dir: string;
let outside: string;
let home: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fanout-early-')));
  outside = await realpath(await mkdtemp(join(tmpdir(), 'fanout-early-outside-')));
  home = await realpath(await mkdtemp(join(tmpdir(), 'fanout-early-home-')));
  await mkdir(join(dir, '.git'));
  await mkdir(join(dir, 'src/deep'), { recursive: true });
  await mkdir(join(dir, 'build'));
  await writeFile(join(dir, '.gitignore'), 'build/\n');
  await writeFile(join(dir, 'src/a.ts'), 'export const a = 1;\n// Export later\nconst b = 2;\n');
  await writeFile(join(dir, 'src/deep/b.ts'), 'export function b() {\n  return 2;\n}\n');
  await writeFile(join(dir, 'src/.hidden.ts'), 'export const hidden = true;\n');
  await writeFile(join(dir, 'build/out.js'), 'export default 1;\n');
  await writeFile(join(outside, 'x.ts'), 'export const x = 1;\n');
  await symlink(outside, join(dir, 'out-link'));
});
afterAll(async () => {
  for (const path of [dir, outside, home]) await rm(path, { recursive: true, force: true });
});

/** An environment without configuration: no FANOUT_ variables, a home of its own. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('FANOUT_') && name !== 'XDG_CONFIG_HOME') env[name] = value;
  return { ...env, HOME: home, ...extra };
}

/** Runs `fanout grep argv` as the command does (its input, its adapter), with the spawner of `early` when given. */
async function search(argv: string[], early?: ReturnType<typeof startEarlyRipgrep>): Promise<GrepOutput> {
  const { values, positionals } = parseArgs({ args: argv, options: GREP_FLAGS, allowPositionals: true, strict: true });
  const [pattern, ...paths] = positionals;
  const input = grepInput(values, pattern!, paths);
  const adapter = await grepAdapterFromConfig({ roots: [dir], grep: { engine: 'auto' } }, undefined, early === undefined ? {} : { spawnRipgrep: early.spawner() });
  try {
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'grep', kind: 'grep', input, retry: false }] });
    const op = result.get('grep')!;
    expect(op.state).toBe('succeeded');
    return op.output as GrepOutput;
  } finally {
    await adapter.close?.();
  }
}

/** The messages without the times measured. */
const timeless = (output: GrepOutput) => output.messages.filter((message) => message.type !== 'summary').map((message) => JSON.stringify(message).replace(/"elapsed":\{[^}]*\}/g, ''));

describe.skipIf(!RG)(`fanout grep's early rg${RG ? '' : ' (skipped: ripgrep is not installed)'}`, () => {
  const adopted: string[][] = [
    ['-c', 'export'],
    ['-c', 'export', '.'],
    ['export', 'src'],
    ['-n', '-i', 'export', 'src/deep', 'build'],
    ['-l', '-w', 'export'],
    ['-F', '-c', 'b()'],
    ['--no-ignore', '-c', 'export'],
    ['--hidden', '--json', 'export'],
    ['-C', '1', '-m', '1', 'export'],
    ['-A', '2', '-B', '0', 'return'],
    ['-g', '*.ts', '-c', 'export', 'src'],
    ['-g', '!deep', '-l', 'export'],
    ['--engine', 'ripgrep', '-c', 'export'],
  ];
  for (const argv of adopted) {
    it(`is the rg the engine runs for: grep ${argv.join(' ')}`, async () => {
      const early = startEarlyRipgrep(argv, dir, cleanEnv());
      expect(early).toBeDefined();
      const through = await search(argv, early);
      expect(early!.state).toBe('adopted');
      expect(timeless(through)).toEqual(timeless(await search(argv)));
    });
  }

  const refused: Array<[string, string[], Record<string, string>]> = [
    ['--smart-case (the case is the pattern’s)', ['-S', 'export'], {}],
    ['inline flags', ['(?i)export'], {}],
    ['--follow', ['-L', 'export'], {}],
    ['--config', ['--config', 'fanout.json', 'export'], {}],
    ['the built-in engine', ['--engine', 'builtin', 'export'], {}],
    ['the built-in engine from the environment', ['export'], { FANOUT_GREP__ENGINE: 'builtin' }],
    ['another FANOUT_ variable (it may set the roots)', ['export'], { FANOUT_ROOTS: dir }],
    ['a file named (not a directory)', ['export', 'src/a.ts'], {}],
    ['a path outside the working directory', ['export', '..'], {}],
    ['a symlink out of the working directory', ['export', 'out-link'], {}],
    ['a path that is not there', ['export', 'missing'], {}],
    ['directories one inside another', ['export', 'src', 'src/deep'], {}],
    ['globs over two directories', ['-g', '*.ts', 'export', 'src', 'build'], {}],
    ['a bad flag', ['-C', 'two', 'export'], {}],
    ['--help', ['--help'], {}],
    ['no pattern', [], {}],
  ];
  for (const [why, argv, env] of refused) {
    it(`is not started with ${why}`, () => {
      const early = startEarlyRipgrep(argv, dir, cleanEnv(env));
      early?.discard();
      expect(early).toBeUndefined();
    });
  }

  it('is what the command runs: one rg, started before the grep bundle is compiled, and the same output as the built-in engine', async () => {
    // A preload that sees every spawn and every vm.Script (the launcher compiles the bundle with one).
    const preload = join(home, 'trace.cjs');
    await writeFile(
      preload,
      `const cp = require('node:child_process'); const vm = require('node:vm'); const seen = [];
const spawn = cp.spawn; cp.spawn = function (file, ...rest) { seen.push('spawn ' + require('node:path').basename(file)); return spawn.call(this, file, ...rest); };
const Script = vm.Script; vm.Script = function (...args) { seen.push('compile'); return new Script(...args); };
process.on('exit', () => process.stderr.write('trace: ' + seen.join(',') + '\\n'));`,
    );
    const env = { ...cleanEnv(), NODE_OPTIONS: `--require ${preload}` };
    const early = await fanout(['grep', '-c', 'export', '.'], { cwd: dir, env });
    expect(early.code).toBe(0);
    expect(early.stderr).toBe('trace: spawn rg,compile\n');
    const builtin = await fanout(['grep', '--engine', 'builtin', '-c', 'export', '.'], { cwd: dir, env: cleanEnv() });
    expect(early.stdout).toBe(builtin.stdout);
    expect(early.stdout).toContain('src/a.ts:1');
    // Not started early (a file named): one rg still, after the bundle.
    const late = await fanout(['grep', '-c', 'export', 'src/a.ts'], { cwd: dir, env });
    expect(late).toMatchObject({ code: 0, stdout: '1\n', stderr: 'trace: compile,spawn rg\n' });
  });

  it('starts before node:v8 loads (the launcher sets V8 flags after it), and --version and --help load neither node:v8 nor node:child_process', async () => {
    const preload = join(home, 'modules.cjs');
    await writeFile(
      preload,
      `const cp = require('node:child_process'); const seen = [];
const loaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);
const spawn = cp.spawn; cp.spawn = function (file, ...rest) { seen.push('spawn ' + require('node:path').basename(file) + (loaded('v8') ? ' after v8' : ' before v8')); return spawn.call(this, file, ...rest); };
process.on('exit', () => { if (loaded('v8')) seen.push('v8'); process.stderr.write('trace: ' + seen.join(',') + '\\n'); });`,
    );
    const env = { ...cleanEnv(), NODE_OPTIONS: `--require ${preload}` };
    const grep = await fanout(['grep', '-c', 'export', '.'], { cwd: dir, env });
    expect(grep).toMatchObject({ code: 0, stderr: 'trace: spawn rg before v8,v8\n' });
    // The preload itself loads node:child_process; a launcher that needs none leaves node:v8 alone.
    for (const argv of [['--version'], ['--help']]) expect(await fanout(argv, { cwd: dir, env })).toMatchObject({ code: 0, stderr: 'trace: \n' });
    const bare = join(home, 'bare.cjs');
    await writeFile(bare, `process.on('exit', () => process.stderr.write(process.moduleLoadList.filter((m) => m === 'NativeModule v8' || m === 'NativeModule child_process').join(',') + '\\n'));`);
    expect(await fanout(['--version'], { cwd: dir, env: { ...cleanEnv(), NODE_OPTIONS: `--require ${bare}` } })).toMatchObject({ code: 0, stderr: '\n' });
  });
  it('is not started when configuration could change the roots: a project file upward, a package.json with a "fanout" key (escaped too) or one loadConfig would refuse, the user’s file; a "fanout" dependency does not count', async () => {
    const nested = join(dir, 'src');
    await writeFile(join(dir, 'fanout.config.json'), '{}');
    expect(startEarlyRipgrep(['export'], nested, cleanEnv())).toBeUndefined();
    await rm(join(dir, 'fanout.config.json'));
    await writeFile(join(dir, 'package.json'), '{"name":"x","fanout":{"roots":["src"]}}');
    expect(startEarlyRipgrep(['export'], nested, cleanEnv())).toBeUndefined();
    // The key as loadConfig parses it, however its name is escaped; a package.json it would refuse.
    await writeFile(join(dir, 'package.json'), '{"fan\\u006fut":{"roots":["src"]}}');
    expect(startEarlyRipgrep(['export'], nested, cleanEnv())).toBeUndefined();
    await writeFile(join(dir, 'package.json'), '{"name":');
    expect(startEarlyRipgrep(['export'], nested, cleanEnv())).toBeUndefined();
    // A dependency or a package named "fanout" holds no configuration: started early.
    await writeFile(join(dir, 'package.json'), '{"name":"fanout","dependencies":{"fanout":"^0.1.0"}}');
    const withDependency = startEarlyRipgrep(['export'], nested, cleanEnv());
    expect(withDependency).toBeDefined();
    withDependency!.discard();
    await rm(join(dir, 'package.json'));
    await mkdir(join(home, '.config/fanout'), { recursive: true });
    await writeFile(join(home, '.config/fanout/config.json'), '{}');
    expect(startEarlyRipgrep(['export'], nested, cleanEnv())).toBeUndefined();
    await rm(join(home, '.config'), { recursive: true });
    const early = startEarlyRipgrep(['export'], nested, cleanEnv());
    expect(early).toBeDefined();
    early!.discard();
  });
});
