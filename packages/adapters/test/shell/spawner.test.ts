import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler, type AttemptContext } from '@fanout/scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bashAdapter, type BashAdapter, type BashAdapterOptions, type BashOutput } from '../../src/shell/index.js';
import { attemptContext, eventually, isRunning, killMarked, markedProcesses, newMarker, onLinux, parentOf, SPAWNERS, stateOf } from './procs.js';

/*
 * What is particular to `spawner: 'server'`: where the jobs are forked, that they get what a
 * direct spawn gives them, and the life of the workers (a crash, close(), no bash). The
 * behaviours both spawners share are checked against both in bash.test.ts, conformance.test.ts
 * and process-group.test.ts.
 */

let base: string;
let root: string;
/** Made fresh per file, so that TMPDIR can point the servers' directories into `base`. */
let spool: string;
const made: BashAdapter[] = [];
const savedTmpdir = process.env.TMPDIR;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'fanout-spawner-')));
  root = join(base, 'root');
  spool = join(base, 'spool');
  await mkdir(root);
  await mkdir(spool);
  // os.tmpdir() reads TMPDIR on every call: the servers of this file make their directories here.
  process.env.TMPDIR = spool;
});
afterEach(() => {
  killMarked();
});
afterAll(async () => {
  await Promise.all(made.map((adapter) => adapter.close()));
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  await rm(base, { recursive: true, force: true });
});

function make(options: BashAdapterOptions = {}): BashAdapter {
  const adapter = bashAdapter({ roots: [root], killGraceMs: 300, spawner: 'server', ...options });
  made.push(adapter);
  return adapter;
}

function run(adapter: BashAdapter, input: unknown, context: AttemptContext = attemptContext()): Promise<BashOutput> {
  return Promise.resolve(adapter.run(adapter.input.parse(input), context));
}

/** The command line of a running process, its arguments joined by spaces. */
async function commandLine(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
}

/** What the spawn servers of this file left in their parent directory. */
async function spooled(): Promise<string[]> {
  const found: string[] = [];
  for (const dir of await readdir(spool)) {
    found.push(dir);
    for (const file of await readdir(join(spool, dir)).catch(() => [])) found.push(join(dir, file));
  }
  return found;
}

describe.runIf(onLinux)('bash (server spawner): the workers', () => {
  it('forks the commands in small bash workers, as many as commands run at once, reused', async () => {
    const adapter = make();
    const first = Number((await run(adapter, { script: 'echo $PPID', shell: '/bin/sh' })).stdout);
    expect(first).not.toBe(process.pid);
    expect(await commandLine(first)).toMatch(/^bash --noprofile --norc -c .* fanout-spawn-worker /s);
    // One command at a time: the same worker each time.
    expect(Number((await run(adapter, { script: 'echo $PPID', shell: '/bin/sh' })).stdout)).toBe(first);
    // Four at once, none ending before all four have started: four workers, the first among them.
    const meeting = join(base, `meeting-${newMarker()}`);
    await mkdir(meeting);
    const gathered = 'echo $PPID > "$1/$$"; while [ "$(ls "$1" | wc -l)" -lt 4 ]; do sleep 0.01; done; echo $PPID';
    const four = await Promise.all(Array.from({ length: 4 }, () => run(adapter, { script: gathered, shell: '/bin/sh', args: [meeting] })));
    const parents = new Set(four.map((output) => Number(output.stdout)));
    expect(parents.size).toBe(4);
    expect(parents.has(first)).toBe(true);
  });

  it('gives a command what a direct spawn gives it: signal dispositions, open files, group, umask', async () => {
    const server = make();
    const direct = bashAdapter({ roots: [root] });
    const probe = {
      script: 'grep -E "^Sig(Ign|Blk)" /proc/self/status; ls /proc/self/fd; umask; [ "$(ps -o pgid= $$)" -eq $$ ] && echo leads-its-group',
      shell: '/bin/sh',
    };
    const expected = await run(direct, probe);
    expect(expected.stdout).toContain('leads-its-group');
    expect(await run(server, probe)).toEqual({ ...expected, durationMs: expect.any(Number) });
  });

  it('exports every variable as a direct spawn does, or spawns directly when bash cannot', async () => {
    const server = make();
    const direct = bashAdapter({ roots: [root] });
    // Every variable of the bash manual, the worker's own, and names bash cannot export.
    const names = [
      ...'BASH BASHOPTS BASHPID BASH_ALIASES BASH_ARGC BASH_ARGV BASH_ARGV0 BASH_CMDS BASH_COMMAND BASH_COMPAT BASH_ENV BASH_EXECUTION_STRING BASH_LINENO BASH_LOADABLES_PATH BASH_REMATCH BASH_SOURCE BASH_SUBSHELL BASH_VERSINFO BASH_VERSION BASH_XTRACEFD CDPATH CHILD_MAX COLUMNS COMP_CWORD COMP_KEY COMP_LINE COMP_POINT COMP_TYPE COMP_WORDBREAKS COMP_WORDS COMPREPLY COPROC DIRSTACK EMACS ENV EPOCHREALTIME EPOCHSECONDS EUID EXECIGNORE FCEDIT FIGNORE FUNCNAME FUNCNEST GLOBIGNORE GLOBSORT GROUPS HISTCMD HISTCONTROL HISTFILE HISTFILESIZE HISTIGNORE HISTSIZE HISTTIMEFORMAT HOME HOSTFILE HOSTNAME HOSTTYPE IFS IGNOREEOF INPUTRC INSIDE_EMACS LANG LC_ALL LC_COLLATE LC_CTYPE LC_MESSAGES LC_NUMERIC LC_TIME LINENO LINES MACHTYPE MAIL MAILCHECK MAILPATH MAPFILE OLDPWD OPTARG OPTERR OPTIND OSTYPE PIPESTATUS POSIXLY_CORRECT PPID PROMPT_COMMAND PROMPT_DIRTRIM PS0 PS1 PS2 PS3 PS4 PWD RANDOM READLINE_LINE READLINE_MARK READLINE_POINT REPLY SECONDS SHELL SHELLOPTS SHLVL SRANDOM TIMEFORMAT TMOUT TMPDIR UID histchars'.split(
        ' ',
      ),
      '_',
      '__fanout_argv',
      '__fanout_env',
      'argv',
      'A-B',
      '1X',
      'BASH_FUNC_f%%',
      'a.b',
    ];
    const value = 'v a$l $(id) `id` \\ "\' ~\nline';
    for (const name of names) {
      const input = { command: ['/usr/bin/env', '-0'], env: { [name]: value } };
      const [viaServer, viaNode] = await Promise.all([run(server, input), run(direct, input)]);
      // The same variables; bash lists them in an order of its own, which nothing relies on.
      const variables = (output: BashOutput) => output.stdout.split('\0').sort();
      expect({ name, env: variables(viaServer), stderr: viaServer.stderr }).toEqual({ name, env: variables(viaNode), stderr: viaNode.stderr });
    }
  });

  it('gives each command its own environment when one worker runs them in turn, the same one sent once', async () => {
    const adapter = make();
    const envs: Record<string, string | null>[] = [{ A: '1' }, { A: '1' }, { B: '2' }, {}, {}, { A: '1' }, { A: '1', PATH: null }];
    const seen: { ppid: number; env: string[] }[] = [];
    for (const env of envs) {
      const output = await run(adapter, { script: 'echo $PPID; env', shell: '/bin/sh', env });
      const [ppid, ...lines] = output.stdout.trim().split('\n');
      seen.push({ ppid: Number(ppid), env: lines.filter((line) => /^(A|B|PATH)=/.test(line)).sort() });
    }
    // One worker ran them all, and each saw its own variables, not its predecessor's.
    expect(new Set(seen.map((each) => each.ppid)).size).toBe(1);
    const path = `PATH=${process.env.PATH}`;
    expect(seen.map((each) => each.env)).toEqual([['A=1', path], ['A=1', path], ['B=2', path], [path], [path], ['A=1', path], ['A=1']]);
  });

  it('runs a command that inherits the whole environment, `_` included, in a worker', async () => {
    const adapter = make();
    const output = await run(adapter, { script: 'echo $PPID; env | grep -c "^_=/given$"', shell: '/bin/sh', inheritEnv: true, env: { _: '/given' } });
    const [ppid, count] = output.stdout.trim().split('\n');
    expect(Number(ppid)).not.toBe(process.pid);
    expect(count).toBe('1');
  });

  it('waits through a stop: a stopped command has not ended', async () => {
    for (const spawner of SPAWNERS) {
      const adapter = spawner === 'server' ? make() : bashAdapter({ roots: [root] });
      const marker = newMarker();
      const running = run(adapter, { script: 'kill -STOP $$; echo resumed', shell: 'bash', env: { FANOUT_TEST_MARK: marker } });
      let pid = 0;
      expect(
        await eventually(() => {
          pid = markedProcesses(marker)[0] ?? 0;
          return pid !== 0 && stateOf(pid) === 'T';
        }),
      ).toBe(true);
      process.kill(-pid, 'SIGCONT');
      expect(await running).toMatchObject({ exitCode: 0, signal: null, stdout: 'resumed\n' });
    }
  });
});

describe.runIf(onLinux)('bash (server spawner): failures of the server', () => {
  it('fails the running command clearly when its worker dies, stops its group, and the next command gets a new worker', async () => {
    const adapter = make();
    const marker = newMarker();
    const running = run(adapter, { script: 'sleep 300 & sleep 300; wait', shell: 'bash', env: { FANOUT_TEST_MARK: marker } });
    expect(await eventually(() => markedProcesses(marker).length === 3)).toBe(true);
    const leader = markedProcesses(marker).find((pid) => markedProcesses(marker).includes(parentOf(pid)!) === false)!;
    const worker = parentOf(leader)!;
    expect(await commandLine(worker)).toMatch(/fanout-spawn-worker/);
    process.kill(worker, 'SIGKILL');
    const error = await running.then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; classification: unknown },
    );
    expect(error).toMatchObject({
      code: 'FANOUT_PROCESS_SPAWN',
      classification: { class: 'retryable' },
      message: expect.stringMatching(
        new RegExp(
          `^expected the spawn server's bash worker \\(pid ${worker}\\) to report the end of \\["bash","-c",.*\\] \\(process group ${leader}, now stopped\\), but the worker was killed by SIGKILL first; the next command starts a new worker$`,
        ),
      ),
    });
    expect(adapter.classify!(error)).toEqual({ class: 'retryable' });
    expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
    const next = await run(adapter, { script: 'echo $PPID', shell: '/bin/sh' });
    expect(Number(next.stdout)).not.toBe(worker);
    expect(isRunning(Number(next.stdout))).toBe(true);
  });

  it('makes its directory again when a cleaner removed it, and loses no job meanwhile', async () => {
    const adapter = make();
    const before = new Set(await spooled());
    expect((await run(adapter, { command: ['cat'], stdin: 'first' })).stdout).toBe('first');
    const [dir] = (await spooled()).filter((each) => !before.has(each));
    expect(dir).toBeDefined();
    for (const input of [
      { command: ['cat'], stdin: 'with stdin' },
      { script: 'echo $PPID; echo without stdin', shell: '/bin/sh' },
    ]) {
      await rm(join(spool, dir!), { recursive: true, force: true });
      const output = await run(adapter, input);
      expect(output).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/with(out)? stdin\n?$/) });
      expect(await spooled()).toContain(dir);
    }
    // And the workers use it again.
    expect(Number((await run(adapter, { script: 'echo $PPID', shell: '/bin/sh' })).stdout)).not.toBe(process.pid);
  });

  it('works with a relative TMPDIR, whatever the cwd of the command', async () => {
    const savedCwd = process.cwd();
    process.chdir(base);
    process.env.TMPDIR = 'spool';
    try {
      const adapter = make();
      const output = await run(adapter, { script: 'echo $PPID; pwd', shell: '/bin/sh', cwd: root });
      const [ppid, pwd] = output.stdout.trim().split('\n');
      expect(Number(ppid)).not.toBe(process.pid);
      expect(pwd).toBe(root);
    } finally {
      process.env.TMPDIR = spool;
      process.chdir(savedCwd);
    }
  });

  it('refuses a NUL byte in the variables it is given, in either mode', () => {
    for (const spawner of ['direct', 'server'] as const) {
      expect(() => bashAdapter({ roots: [root], spawner, env: { A: 'x\0y' } })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'env.A' }));
    }
  });

  it('spawns directly when there is no bash on PATH, or one too old', async () => {
    const bin = join(base, 'bin');
    await mkdir(bin);
    for (const program of ['sh', 'env']) await symlink(`/usr/bin/${program}`, join(bin, program)).catch(() => symlink(`/bin/${program}`, join(bin, program)));
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    try {
      const noBash = make();
      for (let i = 0; i < 2; i++) {
        const output = await run(noBash, { script: 'echo $PPID', shell: 'sh' });
        expect(Number(output.stdout)).toBe(process.pid);
      }
      // A bash that says it is too old (exit 3, as the worker does below 4.4).
      await writeFile(join(bin, 'bash'), '#!/bin/sh\nexit 3\n', { mode: 0o755 });
      const oldBash = make();
      expect(Number((await run(oldBash, { script: 'echo $PPID', shell: 'sh' })).stdout)).toBe(process.pid);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe.runIf(onLinux)('bash (server spawner): commands waiting for a worker', () => {
  /** An adapter whose only worker runs a command until the returned release() is called. */
  async function busy(): Promise<{ adapter: BashAdapter; release: () => Promise<unknown>; worker: number }> {
    const adapter = make();
    const worker = Number((await run(adapter, { script: 'echo $PPID', shell: 'sh' })).stdout);
    const gate = join(base, `gate-${newMarker()}`);
    const holding = run(adapter, { script: 'while [ ! -e "$1" ]; do sleep 0.01; done', shell: 'sh', args: [gate] }).then(
      (output) => output,
      (error: unknown) => error,
    );
    return {
      adapter,
      worker,
      release: async () => {
        await writeFile(gate, '');
        return holding;
      },
    };
  }

  it('runs them on new workers while no worker comes free, or on one that does', async () => {
    const { adapter, release, worker } = await busy();
    // Both wait (the only worker is busy) and, waiting for each other, need workers of their own.
    const meeting = join(base, `meeting-${newMarker()}`);
    await mkdir(meeting);
    const gathered = 'echo > "$1/$$"; while [ "$(ls "$1" | wc -l)" -lt 2 ]; do sleep 0.01; done; echo $PPID';
    const outputs = await Promise.all([0, 1].map(() => run(adapter, { script: gathered, shell: 'sh', args: [meeting] })));
    const parents = outputs.map((output) => Number(output.stdout));
    expect(new Set(parents).size).toBe(2);
    expect(parents).not.toContain(worker);
    expect(await release()).toMatchObject({ exitCode: 0 });
    expect(Number((await run(adapter, { script: 'echo $PPID', shell: 'sh' })).stdout)).not.toBe(process.pid);
  });

  it('never starts a command aborted while it waits', async () => {
    const { adapter, release } = await busy();
    const marker = join(base, `never-${newMarker()}`);
    const controller = new AbortController();
    // Queued, not started: the abort comes before the next turn could add a worker.
    const waiting = run(adapter, { command: ['touch', marker] }, attemptContext(controller.signal));
    controller.abort(new Error('stopped while waiting'));
    await expect(waiting).rejects.toMatchObject({ code: 'FANOUT_ABORTED', message: expect.stringMatching(/stopped while waiting/) });
    expect(await release()).toMatchObject({ exitCode: 0 });
    // The next command runs, and finds the file absent: the aborted one never ran.
    await expect(run(adapter, { command: ['test', '-e', marker] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_FAILED' });
  });

  it('fails a command still waiting when the adapter is closed, and never starts it', async () => {
    const { adapter, release } = await busy();
    const marker = join(base, `never-${newMarker()}`);
    const waiting = run(adapter, { command: ['touch', marker] });
    const closing = adapter.close();
    await expect(waiting).rejects.toMatchObject({ code: 'FANOUT_ABORTED', message: expect.stringMatching(/closed while it waited for a worker/) });
    await closing;
    expect(await release()).toMatchObject({ code: 'FANOUT_ABORTED', message: expect.stringMatching(/closed while it ran/) });
    await expect(run(adapter, { command: ['test', '-e', marker] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_FAILED' });
  });
});

describe.runIf(onLinux)('bash (server spawner): close()', () => {
  it('stops what runs, ends the workers, removes the files, and a later command starts a new pool', async () => {
    const adapter = make();
    const before = new Set(await spooled());
    // Commands that leave nothing behind: success, failure, stdin, a program that is missing.
    await run(adapter, { command: ['cat'], stdin: 'x' });
    await expect(run(adapter, { command: ['false'] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_FAILED' });
    await expect(run(adapter, { command: ['fanout-no-such-program'] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN' });
    const dirs = (await spooled()).filter((entry) => !before.has(entry));
    expect(dirs).toHaveLength(1); // the pool's directory, empty between commands
    const marker = newMarker();
    const running = run(adapter, { script: 'trap "" TERM; sleep 300 & wait', shell: 'bash', env: { FANOUT_TEST_MARK: marker } });
    const settled = running.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(await eventually(() => markedProcesses(marker).length === 2)).toBe(true);
    const worker = parentOf(markedProcesses(marker).find((pid) => !markedProcesses(marker).includes(parentOf(pid)!))!)!;
    await adapter.close();
    expect(await settled).toMatchObject({ code: 'FANOUT_ABORTED', message: expect.stringMatching(/the bash adapter was closed while it ran/) });
    expect(markedProcesses(marker)).toEqual([]);
    expect(isRunning(worker)).toBe(false);
    expect((await spooled()).filter((entry) => !before.has(entry))).toEqual([]);
    // Closed is not finished: the next command starts a new pool, and close() ends it too.
    expect((await run(adapter, { command: ['echo', 'again'] })).stdout).toBe('again\n');
    await adapter.close();
    expect((await spooled()).filter((entry) => !before.has(entry))).toEqual([]);
  });

  it('never keeps Node alive with idle workers', async () => {
    const adapter = make();
    const keeping = () => process.getActiveResourcesInfo().filter((type) => type === 'PipeWrap' || type === 'ProcessWrap').length;
    const idle = keeping();
    await run(adapter, { command: ['true'] });
    await Promise.all(Array.from({ length: 3 }, () => run(adapter, { command: ['true'] })));
    expect(keeping()).toBe(idle);
  });

  it('runs plans through the scheduler like the direct spawner', async () => {
    const adapter = make();
    const operations = Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, kind: 'bash', input: { command: ['sh', '-c', `echo ${i}; exit $((${i} % 3))`], okExitCodes: [0, 1] } }));
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations });
    for (let i = 0; i < 30; i++) {
      const op = result.get(`n${i}`)!;
      expect(op.state).toBe(i % 3 === 2 ? 'failed' : 'succeeded');
    }
  });
});
