import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../src/testing/helpers.js';
import { EarlyRipgrep, GREP_INPUT_DEFAULTS, grepInputSchema, ripgrepArgs, spawnRipgrep, type RipgrepProcess, type RipgrepSpawn } from '../../src/fs/grep/index.js';
import { grep, makeTree, RG, RG_MISSING, type Tree } from './grep/fixtures.js';
import { isRunning } from '../shell/procs.js';

it('the defaults of a grep input without zod are the schema’s', () => {
  expect(grepInputSchema.parse({ pattern: 'x' })).toEqual({ pattern: 'x', ...GREP_INPUT_DEFAULTS });
});

/** Everything a process reported, in order, as the ripgrep engine reads it. */
function collect(child: RipgrepProcess): Promise<{ stdout: Buffer; stderr: string; code: number | null; order: string[] }> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    let stderr = '';
    const order: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => {
      out.push(chunk);
      order.push('out');
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      order.push('err');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      order.push('close');
      resolve({ stdout: Buffer.concat(out), stderr, code, order });
    });
  });
}

describe.skipIf(RG === undefined)(`an rg started early${RG_MISSING}`, () => {
  let tree: Tree;
  const rg = RG!;
  beforeAll(async () => {
    const files: Record<string, string> = { '.git/': '' };
    for (let i = 0; i < 40; i++) files[`src/f${String(i).padStart(2, '0')}.ts`] = `export const a${i} = ${i};\n`.repeat(200);
    tree = await makeTree(files);
  });
  afterAll(async () => {
    await tree.cleanup();
  });

  // A content search: its rg runs with --sort path, so that two processes' outputs can be
  // compared byte for byte (a count search of one directory runs unsorted, see unsortedRun).
  const args = (pattern: string) => ripgrepArgs(grepInputSchema.parse({ pattern, mode: 'content' }), false, { kind: 'directories', paths: [tree.dir] });
  const env = (): NodeJS.ProcessEnv => {
    const { RIPGREP_CONFIG_PATH: _, ...rest } = process.env;
    return rest;
  };

  it('is adopted by the same command, and gives what a fresh rg gives, also when it ended before', async () => {
    const fresh = await collect(spawnRipgrep(rg, args('export'), { cwd: tree.dir, env: env() }));
    const early = EarlyRipgrep.start(rg, args('export'), tree.dir);
    // rg is done (its output held) before the engine asks for it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const fallback: RipgrepSpawn = () => {
      throw new Error('expected the early rg to be adopted, got a new spawn');
    };
    const adopted = await collect(early.spawner(fallback)(rg, args('export'), { cwd: tree.dir, env: env() }));
    expect(early.state).toBe('adopted');
    expect(adopted.code).toBe(fresh.code);
    // The same bytes but the times rg measured.
    const timeless = (out: Buffer) => out.toString('utf8').replace(/"elapsed(_total)?":\{[^}]*\}/g, '');
    expect(timeless(adopted.stdout)).toBe(timeless(fresh.stdout));
    expect(adopted.stdout.length).toBeGreaterThan(100_000);
    expect(adopted.order.at(-1)).toBe('close');
    expect(adopted.order.filter((what) => what === 'close')).toHaveLength(1);
  });

  it('is adopted while it still runs: its standard error and exit come after its output', async () => {
    const early = EarlyRipgrep.start(rg, [...args('export').slice(0, -1), tree.path('missing')], tree.dir);
    const fresh = await collect(spawnRipgrep(rg, [...args('export').slice(0, -1), tree.path('missing')], { cwd: tree.dir, env: env() }));
    const adopted = await collect(early.spawner()(rg, [...args('export').slice(0, -1), tree.path('missing')], { cwd: tree.dir, env: env() }));
    expect(early.state).toBe('adopted');
    expect(adopted).toMatchObject({ code: 2, stderr: fresh.stderr });
    expect(adopted.stderr).toMatch(/missing/);
  });

  it('is killed when the engine starts another command, which then runs as it would have', async () => {
    const early = EarlyRipgrep.start(rg, args('export'), tree.dir);
    let started = 0;
    const fallback: RipgrepSpawn = (file, list, options) => {
      started++;
      return spawnRipgrep(file, list, options);
    };
    for (const [file, list, cwd, environment] of [
      [rg, args('other'), tree.dir, env()],
      [rg, args('export'), '/', env()],
      [rg, args('export'), tree.dir, { ...env(), EXTRA: '1' }],
    ] as const) {
      const again = EarlyRipgrep.start(rg, args('export'), tree.dir);
      const out = await collect(again.spawner(fallback)(file, list, { cwd, env: environment }));
      expect(again.state).toBe('discarded');
      expect(out.code === 0 || out.code === 1 || out.code === 2).toBe(true);
    }
    expect(started).toBe(3);
    early.discard();
    expect(early.state).toBe('discarded');
  });

  it('discard kills a process nobody adopted', async () => {
    const early = EarlyRipgrep.start('/bin/sh', ['-c', 'exec sleep 30'], tree.dir);
    const pid = early.pid!;
    expect(isRunning(pid)).toBe(true);
    expect(early.state).toBe('waiting');
    early.discard();
    early.discard();
    expect(early.state).toBe('discarded');
    expect(await eventually(() => !isRunning(pid), 5000)).toBe(true);
  });

  it('a spawn that failed is never adopted: the engine starts its own, which reports the failure', async () => {
    const missing = EarlyRipgrep.start('/nonexistent/rg', args('export'), tree.dir);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let fellBack = false;
    const child = missing.spawner((file, list, options) => {
      fellBack = true;
      return spawnRipgrep(file, list, options);
    })('/nonexistent/rg', args('export'), { cwd: tree.dir, env: env() });
    expect(fellBack).toBe(true);
    expect(missing.state).toBe('discarded');
    await expect(collect(child)).rejects.toThrow(/ENOENT/);
  });

  it('writes its output to a file nobody else can open, and the process it hands over reads it to the end', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith(`fanout-rg-${process.pid}-`));
    const early = EarlyRipgrep.start(rg, args('export'), tree.dir);
    // Unlinked at once: no file of this process is left in the temporary directory.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`fanout-rg-${process.pid}-`))).toEqual(before);
    const fresh = await collect(spawnRipgrep(rg, args('export'), { cwd: tree.dir, env: env() }));
    // Adopted at once, while rg may still be writing: what comes later is read as it comes.
    const adopted = await collect(early.spawner()(rg, args('export'), { cwd: tree.dir, env: env() }));
    const timeless = (out: Buffer) => out.toString('utf8').replace(/"elapsed(_total)?":\{[^}]*\}/g, '');
    expect(timeless(adopted.stdout)).toBe(timeless(fresh.stdout));
    expect(adopted.code).toBe(0);
  });

  it.each(['content', 'count'] as const)('an output past its cap gives the process up, and the engine runs it again without reporting anything twice (%s: rg sorted, unsorted)', async (mode) => {
    const input = { pattern: 'export', mode, paths: ['src'] };
    const plain = await grep(input, { roots: [tree.dir], engine: 'ripgrep' });
    const list = ripgrepArgs(grepInputSchema.parse(input), false, { kind: 'directories', paths: [tree.path('src')] });
    const error = `rg: ${tree.path('src/locked')}: Permission denied (os error 13)`;
    // The early process: a file error, the first 50 KB of rg's output (cut inside a file), then
    // it keeps running without writing; the next process says the same error, then all of it.
    const script = (first: boolean) => `echo '${error}' >&2; ${first ? `"$0" "$@" | head -c 50000; exec sleep 30` : 'exec "$0" "$@"'}`;
    const early = EarlyRipgrep.start('/bin/sh', ['-c', script(true), rg, ...list], tree.dir, { spillBytes: 10_000 });
    const spawned: string[] = [];
    // The engine's command goes through the early process's shell; once it is adopted, a new one is the second script's.
    const spawner = early.spawner((_file, shell, options) => {
      spawned.push('again');
      return spawnRipgrep('/bin/sh', ['-c', script(false), ...shell.slice(2)], options);
    });
    const through = await grep(input, { roots: [tree.dir], engine: 'ripgrep', spawnRipgrep: (_file, rest, options) => spawner('/bin/sh', ['-c', script(true), rg, ...rest], options) });
    expect(early.state).toBe('adopted');
    expect(spawned).toEqual(['again']);
    expect(through.state).toBe('succeeded');
    const strip = (run: typeof plain) => run.output.messages.filter((message) => message.type !== 'summary').map((message) => JSON.stringify(message).replace(/"elapsed":\{[^}]*\}/g, ''));
    expect(strip(through)).toEqual(strip(plain));
    expect(through.output.stats).toEqual(plain.output.stats);
    expect(through.output.errors).toEqual([{ path: tree.path('src/locked'), code: 'EACCES', message: 'Permission denied (os error 13)' }]);
    // What was streamed was each file once.
    const begins = through.progress.flatMap((report) => report.messages.filter((message) => message.type === 'begin'));
    expect(begins).toHaveLength(plain.output.stats.filesWithMatches);
  });

  it('an rg that ended before it was adopted, stopped at a cap, still ends the search', async () => {
    const input = { pattern: 'export', mode: 'content' as const, paths: ['src'], maxMatches: 5 };
    const plain = await grep(input, { roots: [tree.dir], engine: 'ripgrep' });
    const early = EarlyRipgrep.start(rg, ripgrepArgs(grepInputSchema.parse(input), false, { kind: 'directories', paths: [tree.path('src')] }), tree.dir);
    // Its exit is held before the engine adopts it (what it wrote waits in its file).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const through = await grep(input, { roots: [tree.dir], engine: 'ripgrep', spawnRipgrep: early.spawner() });
    expect(early.state).toBe('adopted');
    expect(through.state).toBe('succeeded');
    expect(through.output.truncated).toBe(true);
    expect(through.output.stats).toEqual(plain.output.stats);
  });

  it('the grep adapter runs through the spawner it is given and its output is unchanged', async () => {
    const input = { pattern: 'export', mode: 'count' as const, paths: ['src'] };
    const plain = await grep(input, { roots: [tree.dir], engine: 'ripgrep' });
    const early = EarlyRipgrep.start(rg, ripgrepArgs(grepInputSchema.parse(input), false, { kind: 'directories', paths: [tree.path('src')] }), tree.dir);
    const through = await grep(input, { roots: [tree.dir], engine: 'ripgrep', spawnRipgrep: early.spawner() });
    expect(early.state).toBe('adopted');
    expect(through.state).toBe('succeeded');
    const strip = (run: typeof plain) => run.output.messages.filter((message) => message.type !== 'summary').map((message) => JSON.stringify(message).replace(/"elapsed":\{[^}]*\}/g, ''));
    expect(strip(through)).toEqual(strip(plain));
    expect(through.output.stats).toEqual(plain.output.stats);
  });
});
