import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler, FanoutError, validatePlan, type Adapter } from '@fanout/scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bashAdapter, ProcessError, type BashInput, type BashOutput } from '../../src/shell/index.js';
import { attemptContext, eventually, killMarked, markedProcesses, newMarker, onLinux } from './procs.js';

let base: string;
let root: string;
let adapter: Adapter<BashInput, BashOutput>;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'fanout-bash-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(join(base, 'root_evil'));
  await symlink(join(base, 'root_evil'), join(root, 'escape'));
  await writeFile(join(root, 'file.txt'), 'not a directory');
  await writeFile(join(root, 'not-executable.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'not-executable.sh'), 0o644);
  adapter = bashAdapter({ roots: [root] });
});
afterEach(() => {
  killMarked();
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Runs one input directly (parsed by the adapter's schema, as the scheduler does). */
function run(input: unknown, which: Adapter<BashInput, BashOutput> = adapter): Promise<BashOutput> {
  return Promise.resolve(which.run(which.input.parse(input), attemptContext()));
}

async function failure(input: unknown, which: Adapter<BashInput, BashOutput> = adapter): Promise<ProcessError> {
  return run(input, which).then(
    (output) => {
      throw new Error(`expected a failure, got ${JSON.stringify(output)}`);
    },
    (error: unknown) => error as ProcessError,
  );
}

/** The plan issues of one input, as `path: message` lines. */
function issues(input: unknown, which: Adapter = adapter as Adapter): string[] {
  const result = validatePlan({ operations: [{ id: 'op', kind: 'bash', input }] }, new Map([['bash', which]]));
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe.runIf(onLinux)('bash: argv form and shell form', () => {
  it('passes arguments as they are: nothing in them is interpreted', async () => {
    const output = await run({ command: ['printf', '%s|', 'a b', '$(echo x)', ';', '"q"', '*', '`id`'] });
    expect(output).toEqual({
      exitCode: 0,
      signal: null,
      stdout: 'a b|$(echo x)|;|"q"|*|`id`|',
      stderr: '',
      durationMs: expect.any(Number),
      truncated: { stdout: false, stderr: false },
      command: ['printf', '%s|', 'a b', '$(echo x)', ';', '"q"', '*', '`id`'],
      bytes: { stdout: Buffer.byteLength('a b|$(echo x)|;|"q"|*|`id`|'), stderr: 0 },
      cwd: root,
    });
    expect(output.durationMs).toBeGreaterThan(0);
  });

  it('runs a script in the shell it names, with values as positional parameters', async () => {
    const script = 'printf "%s-%s\\n" "$1" "$2" | tr a-z A-Z';
    const output = await run({ script, shell: 'bash', args: ['ab', 'c; rm -rf /'] });
    expect(output.stdout).toBe('AB-C; RM -RF /\n');
    expect(output.command).toEqual(['bash', '-c', script, 'bash', 'ab', 'c; rm -rf /']);
    const sh = await run({ script: 'echo $0', shell: true });
    expect(sh.command).toEqual(['/bin/sh', '-c', 'echo $0']);
    expect(sh.stdout).toBe('/bin/sh\n');
  });

  it('runs a shell only when asked, and never when the adapter forbids it', () => {
    expect(issues({ script: 'ls' })).toEqual([expect.stringMatching(/^operations\[0\]\.input\.shell: expected shell: true .* a shell runs only when asked/)]);
    expect(issues({ command: ['ls'], shell: true })).toEqual([expect.stringMatching(/input\.shell: expected shell only with script/)]);
    expect(issues({ command: ['ls'], args: ['x'] })).toEqual([expect.stringMatching(/input\.args: expected args only with script/)]);
    expect(issues({})).toEqual([expect.stringMatching(/input\.command: expected command \(an argv array, run without a shell\) or script/)]);
    const argvOnly = bashAdapter({ roots: [root], allowShell: false });
    expect(issues({ script: 'ls', shell: true }, argvOnly as Adapter)).toEqual([expect.stringMatching(/input\.script: expected command in argv form: this adapter runs no shell/)]);
    expect(issues({ command: ['ls'] }, argvOnly as Adapter)).toEqual([]);
    expect(issues({ command: ['ls', 'a\0'] })).toEqual([expect.stringMatching(/input\.command\[1\]: expected an argument without NUL bytes/)]);
    expect(issues({ command: ['', 'x'] })).toEqual([expect.stringMatching(/input\.command\[0\]: expected command\[0\] to name a program, got an empty string/)]);
  });
});

describe.runIf(onLinux)('bash: working directory inside the roots', () => {
  it('runs in the first root by default, and in a relative cwd inside it', async () => {
    expect((await run({ command: ['pwd'] })).stdout).toBe(`${root}\n`);
    const sub = await run({ command: ['pwd'], cwd: 'sub' });
    expect(sub.stdout).toBe(`${join(root, 'sub')}\n`);
    expect(sub.cwd).toBe(join(root, 'sub'));
  });

  it('refuses a cwd outside the roots, through a prefix sibling or a symlink, naming cwd', async () => {
    for (const cwd of ['/', '../root_evil', join(base, 'root_evil'), 'escape']) {
      await expect(run({ command: ['pwd'], cwd })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'cwd' });
    }
  });

  it('says when cwd does not exist or is a file', async () => {
    await expect(run({ command: ['pwd'], cwd: 'missing' })).rejects.toMatchObject({ code: 'FANOUT_NOT_FOUND', path: 'cwd', message: expect.stringMatching(/expected cwd to be an existing directory, got "missing"/) });
    await expect(run({ command: ['pwd'], cwd: 'file.txt' })).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY', path: 'cwd' });
  });
});

describe.runIf(onLinux)('bash: environment', () => {
  const envLines = (output: BashOutput) => output.stdout.trim().split('\n').filter(Boolean).sort();

  it('gives only PATH by default, plus what the input sets', async () => {
    expect(envLines(await run({ command: ['env'] }))).toEqual([`PATH=${process.env.PATH}`]);
    expect(envLines(await run({ command: ['env'], env: { GREETING: 'hello world', EMPTY: '' } }))).toEqual(['EMPTY=', 'GREETING=hello world', `PATH=${process.env.PATH}`]);
  });

  it('removes a variable set to null, PATH included', async () => {
    expect((await run({ command: ['/usr/bin/env'], env: { PATH: null } })).stdout).toBe('');
  });

  it('inherits the parent environment only when asked, by the input or the adapter', async () => {
    process.env.FANOUT_TEST_PARENT_SECRET = 's3cret';
    try {
      expect((await run({ command: ['env'] })).stdout).not.toContain('FANOUT_TEST_PARENT_SECRET');
      expect((await run({ command: ['env'], inheritEnv: true })).stdout).toContain('FANOUT_TEST_PARENT_SECRET=s3cret');
      const inheriting = bashAdapter({ roots: [root], inheritEnv: true, env: { FROM_ADAPTER: '1' } });
      const both = await run({ command: ['env'], env: { FANOUT_TEST_PARENT_SECRET: null } }, inheriting);
      expect(both.stdout).toContain('FROM_ADAPTER=1');
      expect(both.stdout).not.toContain('FANOUT_TEST_PARENT_SECRET');
      expect((await run({ command: ['env'], inheritEnv: false }, inheriting)).stdout).not.toContain('HOME=');
    } finally {
      delete process.env.FANOUT_TEST_PARENT_SECRET;
    }
  });
});

describe.runIf(onLinux)('bash: stdin', () => {
  it('feeds text, base64 and bytes, and /dev/null when there is none', async () => {
    expect((await run({ command: ['cat'], stdin: 'line 1\nline 2\n' })).stdout).toBe('line 1\nline 2\n');
    expect((await run({ command: ['cat'], stdin: { base64: Buffer.from('héllo').toString('base64') } })).stdout).toBe('héllo');
    expect((await run({ command: ['wc', '-c'], stdin: new Uint8Array([0, 1, 2, 255]) })).stdout.trim()).toBe('4');
    // Without stdin, cat reads /dev/null and ends instead of waiting forever.
    expect((await run({ command: ['cat'] })).stdout).toBe('');
  });

  it('does not fail when the command exits without reading its input', async () => {
    const output = await run({ command: ['true'], stdin: 'x'.repeat(4 * 1024 * 1024) });
    expect(output.exitCode).toBe(0);
  });
});

describe.runIf(onLinux)('bash: output caps', () => {
  it('keeps the head up to the cap, reads the rest to the end and says it was cut', async () => {
    const full = `${Array.from({ length: 200_000 }, (_, i) => i + 1).join('\n')}\n`;
    const output = await run({ command: ['seq', '1', '200000'], maxOutputBytes: 100 });
    // seq ran to its end: it was never blocked on a full pipe, nor killed by SIGPIPE.
    expect(output).toMatchObject({ exitCode: 0, signal: null, truncated: { stdout: true, stderr: false }, bytes: { stdout: full.length, stderr: 0 } });
    expect(output.stdout).toBe(full.slice(0, 100));
  });

  it('caps each stream on its own, and an input cannot raise the adapter cap', async () => {
    const small = bashAdapter({ roots: [root], maxOutputBytes: { stdout: 1000, stderr: 10 } });
    const output = await run({ script: 'seq 1 1000; seq 1 1000 >&2', shell: true, maxOutputBytes: { stdout: 1_000_000 } }, small);
    expect(Buffer.byteLength(output.stdout)).toBe(1000);
    expect(output.stderr).toBe('1\n2\n3\n4\n5\n');
    expect(output.truncated).toEqual({ stdout: true, stderr: true });
  });

  it('never cuts a character in half', async () => {
    const output = await run({ command: ['printf', 'aé€😀'], maxOutputBytes: 5 });
    expect(output.stdout).toBe('aé'); // 1 + 2 bytes; € needs 3 and only 2 were kept
    expect(output.truncated.stdout).toBe(true);
    expect(output.bytes.stdout).toBe(10);
  });
});

describe.runIf(onLinux)('bash: exit codes and failures', () => {
  it('accepts the exit codes the input calls ok (grep finding nothing)', async () => {
    const output = await run({ command: ['grep', 'absent', 'file.txt'], okExitCodes: [0, 1] });
    expect(output).toMatchObject({ exitCode: 1, stdout: '' });
  });

  it('fails a non-ok exit with a ProcessError carrying the result and the end of stderr', async () => {
    const script = 'for i in $(seq 1 2000); do echo "noise $i" >&2; done; echo "the real error" >&2; echo out; exit 3';
    const error = await failure({ script, shell: 'bash', maxOutputBytes: 64 });
    expect(error).toBeInstanceOf(ProcessError);
    expect(error.code).toBe('FANOUT_PROCESS_FAILED');
    expect(error.path).toBe('script');
    expect(error.classification).toEqual({ class: 'fatal' });
    expect(error.result).toMatchObject({ exitCode: 3, signal: null, stdout: 'out\n', truncated: { stdout: false, stderr: true } });
    expect(error.result.stderr).toBe('noise 1\nnoise 2\nnoise 3\nnoise 4\nnoise 5\nnoise 6\nnoise 7\nnoise 8\n');
    expect(error.stderrTail.endsWith('noise 2000\nthe real error\n')).toBe(true);
    expect(error.stderrTail.length).toBeLessThanOrEqual(4096);
    expect(error.data).toBe(error.result); // what a journal or report keeps of the failure
    expect(error.message).toMatch(/^expected script \["bash","-c",.*\] to exit with 0, but it exited with 3; stderr ends with:\n….*the real error$/s);
    expect(adapter.classify!(error)).toEqual({ class: 'fatal' });
    await expect(run({ command: ['false'], okExitCodes: [0, 2] })).rejects.toThrow(/to exit with one of 0, 2, but it exited with 1; it printed nothing/);
  });

  it('fails a process ended by a signal nobody here sent', async () => {
    const error = await failure({ script: 'echo before; kill -KILL $$', shell: 'bash' });
    expect(error.code).toBe('FANOUT_PROCESS_FAILED');
    expect(error.result).toMatchObject({ exitCode: null, signal: 'SIGKILL', stdout: 'before\n' });
    expect(error.message).toMatch(/but it was ended by SIGKILL; stdout ends with:\nbefore$/);
  });

  it('names the field of a program that cannot be started', async () => {
    await expect(run({ command: ['fanout-no-such-program', 'x'] })).rejects.toMatchObject({
      code: 'FANOUT_PROCESS_SPAWN',
      path: 'command[0]',
      message: expect.stringMatching(/^expected command\[0\] to be a program on PATH \(.*\), got "fanout-no-such-program", which was not found \(ENOENT: no such file, or the interpreter its #! line names is missing\)$/),
    });
    await expect(run({ command: ['./not-executable.sh'] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]', message: expect.stringMatching(/EACCES/) });
    await expect(run({ command: ['./file.txt/x'] })).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]' });
    const noShell = await failure({ script: 'true', shell: '/nonexistent/sh' });
    expect(noShell).toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'shell', message: expect.stringMatching(/expected shell to be a path to an existing program/) });
    expect(adapter.classify!(noShell)).toEqual({ class: 'fatal' });
  });

  it('refuses to start when the attempt is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await expect(Promise.resolve(adapter.run({ command: ['true'] }, attemptContext(controller.signal)))).rejects.toThrow('too late');
  });

  it('classes a stop by a timeout as drop, like the scheduler classes its own timeouts', async () => {
    const controller = new AbortController();
    const marker = newMarker();
    const running = Promise.resolve(adapter.run({ script: 'exec sleep 30', shell: true, env: { FANOUT_TEST_MARK: marker } }, attemptContext(controller.signal)));
    expect(await eventually(() => markedProcesses(marker).length === 1)).toBe(true);
    controller.abort(new FanoutError('FANOUT_ATTEMPT_TIMEOUT', 'timed out after 100 ms'));
    const error = (await running.catch((e: unknown) => e)) as ProcessError;
    expect(error.code).toBe('FANOUT_ABORTED');
    expect(error.result.signal).toBe('SIGTERM'); // sleep honours TERM: no KILL needed
    expect(adapter.classify!(error)).toEqual({ class: 'drop' });
  });
});

describe.runIf(onLinux)('bash: the contract', () => {
  it('declares the design defaults: 16 at most, 8 to start, not idempotent, a two-minute timeout', () => {
    expect(adapter.kind).toBe('bash');
    expect(adapter.defaults).toEqual({ maxConcurrency: 16, optimalConcurrency: 8, timeoutMs: 120_000, idempotent: false });
    expect(bashAdapter({ roots: [root], timeoutMs: 5000 }).defaults?.timeoutMs).toBe(5000);
  });

  it('refuses bad options', () => {
    expect(() => bashAdapter({ roots: [root], maxOutputBytes: 0 })).toThrow(/expected maxOutputBytes.stdout to be a positive integer, got 0/);
    expect(() => bashAdapter({ roots: [root], killGraceMs: -1 })).toThrow(/expected killGraceMs to be a number of milliseconds ≥ 0, got -1/);
  });

  it('takes no lock unless the input declares some, and then the scheduler keeps writers apart', async () => {
    expect(adapter.locks!(adapter.input.parse({ command: ['true'] }))).toEqual([]);
    expect(adapter.locks!(adapter.input.parse({ command: ['true'], locks: ['file:/a', { key: 'file:/b', mode: 'read' }, { key: 'file:/c' }] }))).toEqual([
      'file:/a',
      { key: 'file:/b', mode: 'read' },
      { key: 'file:/c' },
    ]);
    // Each writer appends "start", waits, appends "end": without the lock they would interleave.
    const log = join(root, 'locked.log');
    const writer = { script: 'echo start >> "$1"; sleep 0.2; echo end >> "$1"', shell: true, args: [log], locks: [`file:${log}`] };
    const result = await createScheduler({ adapters: [adapter] }).execute({
      operations: [
        { id: 'a', kind: 'bash', input: writer },
        { id: 'b', kind: 'bash', input: writer },
      ],
    });
    expect(result.ok).toBe(true);
    expect(await readFile(log, 'utf8')).toBe('start\nend\nstart\nend\n');
  });

  it('runs many commands at once through the scheduler and accounts for each', async () => {
    const operations = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, kind: 'bash', input: { command: ['echo', String(i)] } }));
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations });
    expect(result.ok).toBe(true);
    for (let i = 0; i < 40; i++) expect((result.get(`n${i}`)!.output as BashOutput).stdout).toBe(`${i}\n`);
  });
});
