import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fanout', () => {
  it('prints its commands with --help, and its version', async () => {
    const help = await fanout(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['run', 'validate', 'explore-codebase', 'explore-web', 'start', 'grep', 'exec', 'profiles', 'schema']) expect(help.stdout).toContain(command);
    const version = await fanout(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 with a clear message for an unknown command or flag', async () => {
    const unknown = await fanout(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"; expected one of: run, validate');
    const badFlag = await fanout(['schema', '--frob']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('fanout schema: expected one of this command\'s flags, got "--frob"\n');
    expect(badFlag.stderr).toContain('Usage: fanout schema');
    const typo = await fanout(['run', '--concurency', '4', 'plan.json']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('expected one of this command\'s flags, got "--concurency" (did you mean --concurrency?)');
    const missing = await fanout(['run', 'plan.json', '-j']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('expected a value after --concurrency, got none');
    const valued = await fanout(['schema', '--help=yes']);
    expect(valued.code).toBe(2);
    expect(valued.stderr).toContain('expected --help without a value (it is a switch), got a value for it');
    const positional = await fanout(['agents', 'clean', 'extra']);
    expect(positional.code).toBe(2);
    expect(positional.stderr).toContain('expected only flags, got the argument "extra"');
  });

  it('prints the JSON Schemas of plans and configuration', async () => {
    const plan = JSON.parse((await fanout(['schema', 'plan'])).stdout) as { title: string };
    expect(plan.title).toBe('fanout plan');
    const both = JSON.parse((await fanout(['schema'])).stdout) as Record<string, { title: string }>;
    expect(both.config!.title).toBe('fanout configuration');
    expect((await fanout(['schema', 'nope'])).code).toBe(2);
  });

  it('lists the profiles and shows one with the original numbers', async () => {
    const list = await fanout(['profiles']);
    expect(list.stdout).toMatch(/^explore-codebase /m);
    const one = await fanout(['profiles', 'explore-web']);
    expect(one.stdout).toContain('comprehensive  32 searches in 8 batches: 32 search (original target < 10 min)');
    expect(one.stdout).toContain('primary 8, technical documentation 6');
    expect((await fanout(['profiles', 'fastest'])).stderr).toContain('unknown profile "fastest"');
  });

  it('validates a plan: every problem with its path, exit 2; a valid plan, exit 0', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        operations: [
          { id: 'a', kind: 'grep', input: {} },
          { id: 'a', kind: 'nope' },
          { id: 'c', kind: 'glob', input: { patterns: ['*'] }, after: ['z'] },
        ],
      }),
    );
    const result = await fanout(['validate', bad]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('operations[1].id: duplicate id "a"');
    expect(result.stderr).toContain('operations[1].kind: unknown kind "nope"');
    expect(result.stderr).toContain('operations[2].after[0]: expected the id of an operation in this plan, got "z"');
    expect(result.stderr).toMatch(/operations\[0\]\.input/);
    const notJson = await fanout(['validate', '-'], { input: '{ nope' });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('expected the plan on standard input to be JSON');
  });

  it('reports a bad configuration with its file and key, exit 2', async () => {
    await writeFile(join(dir, 'fanout.config.json'), JSON.stringify({ concurrency: 'many' }));
    const result = await fanout(['validate', '-'], { cwd: dir, input: '{"operations":[]}' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${join(dir, 'fanout.config.json')}: concurrency: expected number, got the string "many"`);
  });
});
