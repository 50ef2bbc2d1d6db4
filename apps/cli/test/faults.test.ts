/*
 * Hostile input and faults, end to end through the built `fanout` command: output paths
 * checked before anything runs, torn and foreign journals, plans nested too deep or cycling
 * through 100,000 operations, configuration found upward that tries to widen the sandbox, and
 * a FIFO where a file was expected. Every case exits with a coded message, 2 for bad input.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@fanout/adapters/testing';
import { BIN, fanout } from './helpers.js';

let dir: string;
/** A plan with a side effect: it writes `written.txt`. */
const WRITING = { operations: [{ id: 'w', kind: 'write', input: { path: 'written.txt', content: 'side effect\n' } }] };

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fanout-cli-faults-')));
  await writeFile(join(dir, 'writing.json'), JSON.stringify(WRITING));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Characters that must never reach a terminal from a file fanout was given. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f\u202e]/;

describe('output paths are checked before anything runs', () => {
  it.each(['--journal', '--report', '--trace'])('%s into a missing directory: exit 2 naming the flag, and the plan never ran', async (flag) => {
    await rm(join(dir, 'written.txt'), { force: true });
    const result = await fanout(['run', 'writing.json', flag, join('missing', 'dir', 'out.file')], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`expected the directory of ${flag} missing/dir/out.file (${join(dir, 'missing', 'dir')}) to exist`);
    expect(existsSync(join(dir, 'written.txt'))).toBe(false);
  });

  it('a directory where a file is expected, or one file for two flags: exit 2', async () => {
    await mkdir(join(dir, 'a-directory'), { recursive: true });
    const directory = await fanout(['run', 'writing.json', '--report', 'a-directory'], { cwd: dir });
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain('expected --report a-directory to be a file, got a directory');
    const twice = await fanout(['run', 'writing.json', '--trace', 'same.json', '--report', 'same.json'], { cwd: dir });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('expected --report and --trace to name different files');
    expect(existsSync(join(dir, 'written.txt'))).toBe(false);
  });
});

describe('journals', () => {
  it('after a crash tore the last line, --resume works every time and reruns nothing that succeeded', async () => {
    const work = join(dir, 'torn');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'a.txt'), 'a\n');
    const plan = {
      operations: [
        { id: 'ok', kind: 'read', input: { path: 'a.txt' } },
        { id: 'missing', kind: 'read', input: { path: 'b.txt' } },
      ],
    };
    await writeFile(join(work, 'plan.json'), JSON.stringify(plan));
    expect((await fanout(['run', 'plan.json', '--journal', 'j.ndjson', '-q'], { cwd: work })).code).toBe(1);
    await appendFile(join(work, 'j.ndjson'), '{"type":"op","runId":"x","id":"missing","kind":"read","sta');
    for (let round = 1; round <= 2; round++) {
      const result = await fanout(['run', 'plan.json', '--journal', 'j.ndjson', '--resume', '--ndjson'], { cwd: work });
      expect(result.stderr).not.toContain('FANOUT_JOURNAL_INVALID');
      expect(result.code, `round ${round}: ${result.stderr}`).toBe(1); // b.txt is still missing
      const started = JSON.parse(result.stdout.split('\n')[0]!) as { type: string; resumed: number };
      expect(started).toMatchObject({ type: 'run-started', resumed: 1 });
      expect(result.stdout).not.toContain('"id":"ok","kind":"read","attempt"');
    }
    await writeFile(join(work, 'b.txt'), 'b\n');
    const last = await fanout(['run', 'plan.json', '--journal', 'j.ndjson', '--resume', '-q'], { cwd: work });
    expect(last.code).toBe(0);
  });

  it('after kill -9 mid-run, --resume carries over what finished and runs the rest', async () => {
    const work = join(dir, 'killed');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'a.txt'), 'a\n');
    // The slow ones wait for a file named "go": the killed run's orphans end once it appears too.
    const wait = { script: 'while [ ! -f go ]; do sleep 0.05; done', shell: true };
    const plan = {
      operations: [{ id: 'quick', kind: 'read', input: { path: 'a.txt' } }, ...Array.from({ length: 3 }, (_, i) => ({ id: `slow-${i}`, kind: 'bash', input: wait, after: ['quick'] }))],
    };
    await writeFile(join(work, 'plan.json'), JSON.stringify(plan));
    const child = spawn(process.execPath, [BIN, 'run', 'plan.json', '--journal', 'j.ndjson', '-q'], { cwd: work, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const exited = once(child, 'exit');
    expect(await eventually(async () => (await readFile(join(work, 'j.ndjson'), 'utf8').catch(() => '')).includes('"id":"quick"'), 20_000)).toBe(true);
    child.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');
    await writeFile(join(work, 'go'), '');
    const resumed = await fanout(['run', 'plan.json', '--journal', 'j.ndjson', '--resume', '--ndjson'], { cwd: work });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.split('\n')[0]!)).toMatchObject({ type: 'run-started', resumed: 1 });
    const finished = resumed.stdout
      .split('\n')
      .filter((line) => line.includes('"op-finished"'))
      .map((line) => JSON.parse(line) as { id: string; state: string });
    expect(finished.map((event) => `${event.id}:${event.state}`).sort()).toEqual(['quick:succeeded', 'slow-0:succeeded', 'slow-1:succeeded', 'slow-2:succeeded']);
  }, 60_000);

  it('a binary journal given to --resume: exit 2, coded, an escaped excerpt, and nothing ran', async () => {
    await rm(join(dir, 'written.txt'), { force: true });
    await writeFile(join(dir, 'binary.ndjson'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x1b, 0x5b, 0x32, 0x4a, 0x00, 0xe2, 0x80, 0xae, 0xff, 0xfe, 0x0a]));
    const result = await fanout(['run', 'writing.json', '--journal', 'binary.ndjson', '--resume'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('(FANOUT_JOURNAL_INVALID)');
    expect(result.stderr).toContain('got binary data (a NUL byte at offset 8, starting "\\x7fELF\\x1b[2J\\x00');
    expect(result.stderr).not.toMatch(RAW);
    expect(existsSync(join(dir, 'written.txt'))).toBe(false);
  });

  it('a text file that is no journal: exit 2 with the bad line escaped, and the file left as it was', async () => {
    const notes = '# notes\n\u001b]0;pwned\u0007 buy milk\n';
    await writeFile(join(dir, 'notes.md'), notes);
    const result = await fanout(['run', 'writing.json', '--journal', 'notes.md'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected a JSON record on line 1 of the journal');
    expect(result.stderr).toContain('(FANOUT_JOURNAL_INVALID)');
    expect(result.stderr).not.toMatch(RAW);
    expect(await readFile(join(dir, 'notes.md'), 'utf8')).toBe(notes);
  });
});

describe('plans that would exhaust the stack or the terminal', () => {
  it('an input nested 10,000 levels deep: exit 2, FANOUT_PLAN_TOO_DEEP, a short message', async () => {
    const deep = `${'{"a":'.repeat(10_000)}{}${'}'.repeat(10_000)}`;
    await writeFile(join(dir, 'deep.json'), `{"operations":[{"id":"w","kind":"write","input":{"path":"x.txt","content":"x","extra":${deep}}}]}`);
    const result = await fanout(['run', 'deep.json'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/operations\[0\]\.input: expected an input nested at most 1000 levels deep, got deeper at operations\[0\]\.input\.extra\.a\.a.* \[FANOUT_PLAN_TOO_DEEP\]/);
    expect(result.stderr.length).toBeLessThan(1000);
  });

  it('a cycle of 100,000 operations: exit 2, its first and last ids and its length, in a short message', async () => {
    const count = 100_000;
    const operations = Array.from({ length: count }, (_, i) => ({ id: `op${i}`, kind: 'read', input: { path: 'x' }, after: [`op${(i + 1) % count}`] }));
    await writeFile(join(dir, 'cycle.json'), JSON.stringify({ operations }));
    const result = await fanout(['validate', 'cycle.json'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"op0" → "op99999" → "op99998" → "op99997" → "op99996" → … 99993 more … → "op2" → "op1" → "op0" (100000 operations)');
    expect(result.stderr).toContain('[FANOUT_PLAN_CYCLE]');
    expect(result.stderr.length).toBeLessThan(1000);
  });
});

describe('configuration found upward', () => {
  it('cannot widen the roots: the read outside fails, and the CLI says what it set aside', async () => {
    const parent = join(dir, 'untrusted');
    const repo = join(parent, 'repo');
    await mkdir(repo, { recursive: true });
    await writeFile(join(parent, 'fanout.config.json'), JSON.stringify({ roots: ['/'] }));
    await writeFile(join(parent, 'secret.txt'), 'secret\n');
    await writeFile(join(repo, 'plan.json'), JSON.stringify({ operations: [{ id: 'steal', kind: 'read', input: { path: join(parent, 'secret.txt') } }] }));
    const result = await fanout(['run', 'plan.json', '--ndjson'], { cwd: repo });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('"text":"secret');
    expect(result.stdout).toMatch(/"id":"steal","kind":"read","state":"failed".*"code":"FANOUT_PATH_OUTSIDE_ROOT"/);
    expect(result.stderr).toContain(`fanout: ${join(parent, 'fanout.config.json')}: roots: set aside: expected roots inside ${repo}, got "/" outside`);
    // Named explicitly, the same file is trusted.
    const trusted = await fanout(['run', 'plan.json', '--ndjson', '--config', join(parent, 'fanout.config.json')], { cwd: repo });
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toContain('"text":"secret\\n"');
  });
});

describe('a FIFO where a file was expected', () => {
  it('fails at once with FANOUT_SPECIAL_FILE instead of waiting for a writer', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    await writeFile(join(dir, 'fifo.json'), JSON.stringify({ operations: [{ id: 'r', kind: 'read', input: { path: 'pipe' } }] }));
    const result = await fanout(['run', 'fifo.json', '--json', '-q'], { cwd: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FANOUT_SPECIAL_FILE');
  });
});
