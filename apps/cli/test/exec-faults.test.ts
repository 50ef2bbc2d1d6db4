import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@fanout/adapters/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanout, sleepers, sleepMarker, start } from './helpers.js';

/*
 * fanout exec under faults and GNU parallel habits it used to get wrong: jobs cut off by
 * Ctrl-C, argument files, shell builtins, a second Ctrl-C with jobs that ignore SIGTERM.
 * Real processes and real signals; every wait is on an observable state, never on a clock.
 */

let dir: string;
const markers: string[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-exec-faults-'));
});
afterEach(async () => {
  // Whatever a failed test left running.
  for (const pid of markers.splice(0).flatMap(sleepers)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  await rm(dir, { recursive: true, force: true });
});

function marker(seconds: number): string {
  const made = sleepMarker(seconds);
  markers.push(made);
  return made;
}

const exec = (args: string[], options: { input?: string; env?: Record<string, string> } = {}) => fanout(['exec', ...args], { cwd: dir, ...options });

/** The sequence numbers a job log lists. */
async function logged(log: string): Promise<number[]> {
  return (await readFile(log, 'utf8'))
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => Number(line.split('\t')[0]))
    .sort((a, b) => a - b);
}

describe('fanout exec: jobs cut off by Ctrl-C', () => {
  it('leaves them out of the job log, so that --resume runs them again, as GNU parallel does', async () => {
    const log = join(dir, 'jobs.log');
    const sleep = marker(60);
    // Job 1 ends at once; 2 and 3 run until they are interrupted, unless QUICK is set.
    const template = `echo ran {}; [ {} = 1 ] || [ -n "$QUICK" ] || sleep ${sleep}`;
    const running = start(['exec', '-j', '3', '--joblog', log, template, ':::', '1', '2', '3'], { cwd: dir });
    expect(await eventually(async () => sleepers(sleep).length === 2 && (await logged(log).catch((): number[] => [])).includes(1), 20_000)).toBe(true);
    running.child.kill('SIGINT');
    expect((await running.closed).code).toBe(130);
    expect(running.stderr()).toMatch(/1\/3 jobs succeeded, 2 not run/);
    expect(await logged(log)).toEqual([1]);

    const resumed = await exec(['-k', '--joblog', log, '--resume', template, ':::', '1', '2', '3'], { env: { QUICK: '1' } });
    expect(resumed).toMatchObject({ code: 0, stdout: 'ran 2\nran 3\n' });
    expect(resumed.stderr).toMatch(/2\/3 jobs succeeded, 1 skipped \(journal\)/);
    expect(await logged(log)).toEqual([1, 2, 3]);
  });
});

describe('fanout exec: argument files (::::)', () => {
  it('takes each line of each file as an argument, every file a group of its own, with ::: groups and standard input', async () => {
    await writeFile(join(dir, 'letters'), 'a\r\nb\n\n');
    await writeFile(join(dir, 'numbers'), '1\n2\n');
    const both = await exec(['-k', 'echo {1}{2}{3}', ':::', 'x', '::::', 'letters', 'numbers']);
    expect(both).toMatchObject({ code: 0, stdout: 'xa1\nxa2\nxb1\nxb2\n' });
    const stdin = await exec(['-k', 'echo', '::::', '-', ':::', 'end'], { input: 'p\nq\n' });
    expect(stdin).toMatchObject({ code: 0, stdout: 'p end\nq end\n' });
  });

  it('refuses a missing file, a :::: without a file and linked groups, with exit 2', async () => {
    const missing = await exec(['echo', '::::', 'no-such-file']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/expected the argument file no-such-file \(after ::::\) to be a readable file, got no such file/);
    expect((await exec(['echo', '::::'])).stderr).toMatch(/expected an argument file after ::::, got none/);
    const linked = await exec(['echo', ':::', 'a', ':::+', 'b']);
    expect(linked.code).toBe(2);
    expect(linked.stderr).toMatch(/linked groups .* are not supported/);
  });
});

describe('fanout exec: shell builtins and keywords as the first word', () => {
  it('runs them in bash rather than looking for a program of that name', async () => {
    const exits = await exec(['-k', 'exit {}', ':::', '0', '1']);
    expect(exits.code).toBe(1);
    expect(exits.stderr).toMatch(/1\/2 jobs succeeded, 1 failed/);
    expect(exits.stderr).not.toMatch(/not a program on PATH|was not found/);
    expect(await exec(['-k', 'type', ':::', 'cd'])).toMatchObject({ code: 0, stdout: 'cd is a shell builtin\n' });
    await writeFile(join(dir, 'greet.sh'), 'echo "hello from $1"\n');
    expect(await exec(['source', './greet.sh', ':::', 'sourced'])).toMatchObject({ code: 0, stdout: 'hello from sourced\n' });
    // Each input line a command: the same rule.
    expect(await exec([], { input: 'cd / \nexit 3\n' })).toMatchObject({ code: 1 });
  });
});

describe('fanout exec: a second Ctrl-C', () => {
  for (const [spawner, count] of [
    ['Node', 2],
    ['the spawn server', 16],
  ] as const) {
    it(`kills the jobs that ignore SIGTERM before it exits (jobs forked by ${spawner})`, async () => {
      const sleep = marker(60);
      const running = start(['exec', '-j', '2', `trap '' TERM; sleep ${sleep}; : {}`, ':::', ...Array.from({ length: count }, (_, i) => String(i))], { cwd: dir });
      expect(await eventually(() => sleepers(sleep).length === 2, 20_000)).toBe(true);
      running.child.kill('SIGINT');
      // The run is over (what ran was cancelled), its jobs not: they ignore the TERM, and the
      // KILL comes only after the grace period. The second Ctrl-C must not leave them behind.
      expect(await eventually(() => /jobs succeeded/.test(running.stderr()), 20_000)).toBe(true);
      running.child.kill('SIGINT');
      expect(await running.closed).toEqual({ code: 130, signal: null });
      expect(running.stderr()).toMatch(/interrupted again, killing the jobs and exiting now/);
      expect(await eventually(() => sleepers(sleep).length === 0, 10_000)).toBe(true);
    });
  }

  it('in a plan run, kills the bash operations that ignore SIGTERM before it exits', async () => {
    const sleep = marker(60);
    const plan = join(dir, 'plan.json');
    await writeFile(plan, JSON.stringify({ operations: [0, 1].map((i) => ({ id: `stubborn-${i}`, kind: 'bash', input: { script: `trap '' TERM; sleep ${sleep}`, shell: 'bash' } })) }));
    const running = start(['run', plan], { cwd: dir });
    expect(await eventually(() => sleepers(sleep).length === 2, 20_000)).toBe(true);
    running.child.kill('SIGINT');
    // The summary: the run is over, its operations' processes not.
    expect(await eventually(() => /interrupted, cancelling[\s\S]*wall time/.test(running.stderr()), 20_000)).toBe(true);
    running.child.kill('SIGINT');
    expect(await running.closed).toEqual({ code: 130, signal: null });
    expect(await eventually(() => sleepers(sleep).length === 0, 10_000)).toBe(true);
  });
});

describe('a detached daemon (setsid) started by a job', () => {
  /**
   * bash starts `sleep <marker>` in a session of its own (out of reach of the job's process
   * group, holding its stdout and stderr), waits until it is there, says so and exits 0.
   */
  const daemon = (sleep: string): string => `setsid sleep ${sleep} & until [ "$(cut -d" " -f6 /proc/$!/stat)" = "$!" ]; do sleep 0.01; done; echo started`;

  /**
   * Starts fanout and waits for whichever comes first: its exit, or the daemon's end. fanout
   * must exit first, with the daemon still running: before the fix it waited for the daemon.
   */
  async function exitsBeforeTheDaemon(args: string[], sleep: string) {
    const running = start(args, { cwd: dir });
    const exited = once(running.child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    // Whether the daemon ever ran, then whether it is gone: it ends only by its sleep or our kill.
    let seen = false;
    let over = false;
    const gone = (async () => {
      while (!over) {
        const alive = sleepers(sleep).length > 0;
        if (alive) seen = true;
        else if (seen) return 'the daemon ended first';
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return 'stopped';
    })();
    const first = await Promise.race([exited, gone]);
    over = true;
    expect(first, `fanout waited for the daemon\nstderr: ${running.stderr()}`).not.toBe('the daemon ended first');
    expect(sleepers(sleep), 'the daemon runs on after fanout exits').toHaveLength(1);
    return { ...(first as { code: number | null; signal: NodeJS.Signals | null }), stdout: running.stdout(), stderr: running.stderr() };
  }

  it('fanout exec exits as soon as the job does, the job succeeded (bash exited 0), the daemon left running', async () => {
    const sleep = marker(40);
    // One job at -j 1: forked by Node (the direct spawner), where the pipes were waited for.
    const result = await exitsBeforeTheDaemon(['exec', '-j', '1', '--timeout', '20s', `${daemon(sleep)} {}`, ':::', 'a'], sleep);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: 'started a\n' });
    expect(result.stderr).toMatch(/1\/1 jobs succeeded/);
  });

  it('fanout run exits as soon as the bash operation does, succeeded, the daemon left running', async () => {
    const sleep = marker(40);
    await writeFile(join(dir, 'plan.json'), JSON.stringify({ operations: [{ id: 'daemon', kind: 'bash', input: { script: daemon(sleep), shell: 'bash' }, timeoutMs: 20_000 }] }));
    const result = await exitsBeforeTheDaemon(['run', 'plan.json', '--ndjson'], sleep);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/"type":"op-finished","id":"daemon","kind":"bash","state":"succeeded"/);
  });
});
