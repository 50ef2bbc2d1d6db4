import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@fanout/adapters/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, fanout, sleepers } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-exec-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exec = (args: string[], input?: string) => fanout(['exec', ...args], { cwd: dir, ...(input === undefined ? {} : { input }) });
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('fanout exec', () => {
  it('runs a command per argument after :::, substituting {} and its variants; -k keeps input order', async () => {
    // The first job sleeps longest: only -k puts its output first.
    const out = await exec(['-k', '-j', '4', '-q', 'sleep {1}; echo {2} {2.} {2/} {#}', ':::', '0.3', '0', ':::', 'a/x.txt']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('a/x.txt a/x x.txt 1\na/x.txt a/x x.txt 2\n');
  });

  it('gives jobs its environment but not its `_`, forked by the spawn server or, when configured, by Node', async () => {
    for (const spawner of ['server', 'direct']) {
      const env = { FANOUT_SHELL__SPAWNER: spawner, MARK: spawner, _: '/the/launcher' };
      // `env -0` runs without a shell, which would set `_` itself.
      const printed = await fanout(['exec', '-q', 'env', ':::', '-0'], { cwd: dir, env });
      expect(printed.code).toBe(0);
      const variables = printed.stdout.split('\0');
      expect(variables).toContain(`MARK=${spawner}`);
      expect(variables.filter((line) => line.startsWith('_='))).toEqual([]);
      // Forked by a bash worker, or by fanout's own Node process.
      const parent = await fanout(['exec', '-q', 'ps -o comm= -p $PPID; : {}', ':::', '1'], { cwd: dir, env });
      expect({ spawner, parent: parent.stdout.trim() }).toEqual({ spawner, parent: spawner === 'server' ? 'bash' : expect.stringMatching(/^(node|fanout)/) });
    }
  });

  it('forks few jobs from Node and many (2 per slot and more) through the spawn server', async () => {
    const parents = async (count: number) => lines((await exec(['-q', '-j', '1', 'ps -o comm= -p $PPID; : {}', ':::', ...Array.from({ length: count }, (_, i) => String(i))])).stdout);
    expect(new Set(await parents(1))).toEqual(new Set([expect.stringMatching(/^(node|fanout)/)]));
    expect(new Set(await parents(2))).toEqual(new Set(['bash']));
  });

  it('stops its jobs on SIGTERM as on Ctrl-C, and leaves neither processes nor spawn-server files behind', async () => {
    const spool = join(dir, 'tmp');
    await mkdir(spool);
    const marker = `30.${process.pid}${Date.now() % 1000}`;
    const child = spawn(process.execPath, [BIN, 'exec', '-j', '2', `echo {} >> started; sleep ${marker}`, ':::', ...Array.from({ length: 16 }, (_, i) => String(i))], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', TMPDIR: spool },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(await eventually(async () => (await readFile(join(dir, 'started'), 'utf8').catch(() => '')).split('\n').length > 2, 20_000)).toBe(true);
    expect(await readdir(spool)).toEqual([expect.stringMatching(/^fanout-spawn-/)]);
    child.kill('SIGTERM');
    expect(await closed).toBe(130);
    expect(stderr).toMatch(/interrupted, stopping the jobs/);
    expect(stderr).toMatch(/0\/16 jobs succeeded, 16 not run/);
    expect(await readdir(spool)).toEqual([]);
    expect(sleepers(marker)).toEqual([]);
  });

  it('makes every combination of several ::: groups', async () => {
    const out = await exec(['-k', '-q', 'echo', '{1}-{2}', ':::', 'a', 'b', ':::', '1', '2']);
    expect(lines(out.stdout)).toEqual(['a-1', 'a-2', 'b-1', 'b-2']);
  });

  it('takes arguments from standard input, one a line, appended when there is no {}', async () => {
    const out = await exec(['-k', '-q', 'echo', 'got'], 'one\ntwo words\n\nthree\n');
    expect(lines(out.stdout)).toEqual(['got one', 'got two words', 'got three']);
  });

  it('runs each standard-input line as a command when there is no template, pipes included', async () => {
    const out = await exec(['-k', '-q'], 'echo first\necho second | tr a-z A-Z\n');
    expect(lines(out.stdout)).toEqual(['first', 'SECOND']);
  });

  it('never lets an argument be interpreted by a shell', async () => {
    const hostile = '$(touch pwned); `touch pwned2` \'"';
    const direct = await exec(['-q', 'echo', ':::', hostile]);
    const piped = await exec(['-q', 'echo {} | cat', ':::', hostile]);
    expect(direct.stdout).toBe(`${hostile}\n`);
    expect(piped.stdout).toBe(`${hostile}\n`);
    expect(existsSync(join(dir, 'pwned')) || existsSync(join(dir, 'pwned2'))).toBe(false);
  });

  it('prints each job’s output whole, never interleaved with another’s', async () => {
    const out = await exec(['-j', '8', '-q', 'for i in 1 2 3 4 5; do echo {}-$i; sleep 0.01; done', ':::', 'a', 'b', 'c', 'd']);
    const groups = lines(out.stdout).map((l) => l.split('-')[0]);
    for (let i = 0; i < groups.length; i += 5) expect(new Set(groups.slice(i, i + 5)).size).toBe(1);
    expect(groups).toHaveLength(20);
  });

  it('exits 1 when a job fails, with the summary naming the count; 0 when all succeed', async () => {
    const ok = await exec(['true', ':::', '1', '2']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/fanout exec: 2\/2 jobs succeeded in [\d.]+ s/);
    const failed = await exec(['test', '{}', '-lt', '2', ':::', '1', '2', '3']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/1\/3 jobs succeeded, 2 failed/);
  });

  it('--halt now,fail=1 kills the running jobs at the first failure and starts no more', async () => {
    const out = await exec(['-j', '3', '--halt', 'now,fail=1', 'sleep', ':::', '30', '30', 'not-a-number', '30', '30'], undefined);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/0\/5 jobs succeeded, 1 failed, 4 not run/);
  });

  it('--halt soon,fail=1 lets running jobs finish and starts no more', async () => {
    const out = await exec(['-j', '2', '--halt', 'soon,fail=1', 'sleep {} && echo slept {}', ':::', 'x', '0.5', '0', '0']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('slept 0.5\n');
    expect(out.stderr).toMatch(/1\/4 jobs succeeded, 1 failed, 2 not run/);
  });

  it('--retries tries a failing job again', async () => {
    // Fails the first time it runs (no counter file yet), succeeds the second.
    const flaky = 'if [ -e {}.seen ]; then echo ok {}; else touch {}.seen; exit 1; fi';
    const once = await exec(['-q', flaky, ':::', 'a']);
    expect(once.code).toBe(1);
    await rm(join(dir, 'a.seen'));
    const twice = await exec(['-q', '--retries', '2', flaky, ':::', 'a']);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toBe('ok a\n');
  });

  it('--timeout kills a job that runs too long', async () => {
    const out = await exec(['--timeout', '300ms', 'sleep', ':::', '30', '0']);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/sleep 30: attempt 1 of "job-1" timed out after 300 ms/);
    expect(out.stderr).toMatch(/1\/2 jobs succeeded, 1 failed/);
  });

  it('--joblog writes GNU parallel’s job log; --resume skips what it lists; --resume-failed reruns the failures and what never ran', async () => {
    const log = join(dir, 'jobs.log');
    const first = await exec(['-q', '--joblog', log, 'echo {}; test {} -lt 3', ':::', '1', '2', '3', '4']);
    expect(first.code).toBe(1);
    const entries = lines(await readFile(log, 'utf8'));
    expect(entries[0]).toBe('Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand');
    const rows = entries.slice(1).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[0], r[5], r[6], r[8]]).sort()).toEqual([
      ['1', '2', '0', 'echo 1; test 1 -lt 3'],
      ['2', '2', '0', 'echo 2; test 2 -lt 3'],
      ['3', '2', '1', 'echo 3; test 3 -lt 3'],
      ['4', '2', '1', 'echo 4; test 4 -lt 3'],
    ]);
    expect(rows.every((r) => Number(r[2]) > 1.7e9 && Number(r[3]) >= 0)).toBe(true);

    const resumed = await exec(['--joblog', log, '--resume', 'echo {}; test {} -lt 3', ':::', '1', '2', '3', '4', '5']);
    expect(resumed.stdout).toBe('5\n');
    expect(resumed.stderr).toMatch(/4 skipped \(journal\)/);

    const failedAgain = await exec(['-k', '-q', '--joblog', log, '--resume-failed', 'echo {}; test {} -lt 3', ':::', '1', '2', '3', '4', '5']);
    // Like GNU parallel: the failed jobs again, and the ones never run (5 ran under --resume, and failed).
    expect(failedAgain.stdout).toBe('3\n4\n5\n');
    expect(failedAgain.code).toBe(1);
  });

  it('--dry-run prints the commands and runs nothing', async () => {
    const out = await exec(['--dry-run', 'touch {}', ':::', 'a b', 'c']);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("touch 'a b'\ntouch c\n");
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });

  it('refuses bad flags with exit 2 and says what it expected', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['-j', '0', 'true', ':::', 'a'], /expected --jobs to be a positive integer, got "0"/],
      [['--halt', 'sometimes', 'true', ':::', 'a'], /expected --halt now\|soon\[,fail=N\] or never, got "sometimes"/],
      [['--resume', 'true', ':::', 'a'], /--resume and --resume-failed need --joblog FILE/],
      [['--timeout', 'soon', 'true', ':::', 'a'], /--timeout/],
      [[':::', 'a'], /expected a command before :::/],
      [['--bogus', 'true'], /--bogus/],
    ];
    for (const [args, message] of cases) {
      const out = await exec(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(message);
    }
  });

  it('says so and exits 0 when there are no jobs', async () => {
    const out = await exec(['echo']);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/no jobs/);
  });

  it('runs a script file’s worth of jobs from a file piped in', async () => {
    await writeFile(join(dir, 'jobs.txt'), Array.from({ length: 50 }, (_, i) => `echo ${i}`).join('\n'));
    const out = await exec(['-k', '-q', '-j', '16'], await readFile(join(dir, 'jobs.txt'), 'utf8'));
    expect(lines(out.stdout)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });
});
