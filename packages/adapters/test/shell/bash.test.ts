import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler, FanoutError, validatePlan, type Adapter } from '@fanout/scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bashAdapter, ProcessError, type BashAdapter, type BashAdapterOptions, type BashInput, type BashOutput } from '../../src/shell/index.js';
import { attemptContext, eventually, killMarked, markedProcesses, newMarker, onLinux, SPAWNERS, type Spawner } from './procs.js';

let base: string;
let root: string;
/** The adapter of each spawner, and every other one a test made: closed after the file. */
const adapters = {} as Record<Spawner, BashAdapter>;
const made: BashAdapter[] = [];

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'fanout-bash-')));
  root = join(base, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(join(base, 'root_evil'));
  await symlink(join(base, 'root_evil'), join(root, 'escape'));
  await writeFile(join(root, 'file.txt'), 'not a directory');
  await writeFile(join(root, 'not-executable.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'not-executable.sh'), 0o644);
  for (const spawner of SPAWNERS) adapters[spawner] = bashAdapter({ roots: [root], spawner });
});
afterEach(() => {
  killMarked();
});
afterAll(async () => {
  await Promise.all([...Object.values(adapters), ...made].map((each) => each.close()));
  await rm(base, { recursive: true, force: true });
});

/** Another adapter with the given spawner (closed after the file). */
function make(spawner: Spawner, options: BashAdapterOptions): BashAdapter {
  const made1 = bashAdapter({ ...options, spawner });
  made.push(made1);
  return made1;
}

/** Runs one input directly (parsed by the adapter's schema, as the scheduler does). */
function run(input: unknown, which: Adapter<BashInput, BashOutput>): Promise<BashOutput> {
  return Promise.resolve(which.run(which.input.parse(input), attemptContext()));
}

async function failure(input: unknown, which: Adapter<BashInput, BashOutput>): Promise<ProcessError> {
  return run(input, which).then(
    (output) => {
      throw new Error(`expected a failure, got ${JSON.stringify(output)}`);
    },
    (error: unknown) => error as ProcessError,
  );
}

/** The plan issues of one input, as `path: message` lines. */
function issues(input: unknown, which: Adapter = adapters.direct as Adapter): string[] {
  const result = validatePlan({ operations: [{ id: 'op', kind: 'bash', input }] }, new Map([['bash', which]]));
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe.runIf(onLinux)('bash: the input and the options', () => {
  it('runs a shell only when asked, and never when the adapter forbids it', () => {
    expect(issues({ script: 'ls' })).toEqual([expect.stringMatching(/^operations\[0\]\.input\.shell: expected shell: true .* a shell runs only when asked/)]);
    expect(issues({ command: ['ls'], shell: true })).toEqual([expect.stringMatching(/input\.shell: expected shell only with script/)]);
    expect(issues({ command: ['ls'], args: ['x'] })).toEqual([expect.stringMatching(/input\.args: expected args only with script/)]);
    expect(issues({})).toEqual([expect.stringMatching(/input\.command: expected command \(an argv array, run without a shell\) or script/)]);
    const argvOnly = bashAdapter({ roots: [root], allowShell: false });
    expect(issues({ script: 'ls', shell: true }, argvOnly as Adapter)).toEqual([expect.stringMatching(/input\.script: expected command in argv form: this adapter runs no shell/)]);
    expect(issues({ command: ['ls'] }, argvOnly as Adapter)).toEqual([]);
    expect(issues({ command: ['ls', 'a\0'] })).toEqual([expect.stringMatching(/input\.command\[1\]: expected an argument without NUL bytes/)]);
    expect(issues({ command: ['ls'], env: { A: 'a\0' } })).toEqual([expect.stringMatching(/input\.env\.A: expected an argument without NUL bytes/)]);
    expect(issues({ command: ['', 'x'] })).toEqual([expect.stringMatching(/input\.command\[0\]: expected command\[0\] to name a program, got an empty string/)]);
  });

  it('declares the design defaults: 16 at most, 8 to start, not idempotent, a two-minute timeout', () => {
    for (const spawner of SPAWNERS) {
      expect(adapters[spawner].kind).toBe('bash');
      expect(adapters[spawner].defaults).toEqual({ maxConcurrency: 16, optimalConcurrency: 8, timeoutMs: 120_000, idempotent: false });
    }
    expect(bashAdapter({ roots: [root], timeoutMs: 5000 }).defaults?.timeoutMs).toBe(5000);
  });

  it('refuses bad options', () => {
    expect(() => bashAdapter({ roots: [root], maxOutputBytes: 0 })).toThrow(/expected maxOutputBytes.stdout to be a positive integer, got 0/);
    expect(() => bashAdapter({ roots: [root], killGraceMs: -1 })).toThrow(/expected killGraceMs to be a number of milliseconds ≥ 0, got -1/);
    expect(() => bashAdapter({ roots: [root], spawner: 'fork' as 'server' })).toThrow(/expected spawner to be "direct" or "server", got the string "fork"/);
  });

  it('takes no lock unless the input declares some', () => {
    const adapter = adapters.direct;
    expect(adapter.locks!(adapter.input.parse({ command: ['true'] }))).toEqual([]);
    expect(adapter.locks!(adapter.input.parse({ command: ['true'], locks: ['file:/a', { key: 'file:/b', mode: 'read' }, { key: 'file:/c' }] }))).toEqual(['file:/a', { key: 'file:/b', mode: 'read' }, { key: 'file:/c' }]);
  });
});

describe.runIf(onLinux)('bash', () => {
  describe.each(SPAWNERS)('%s spawner', (spawner) => {
    // Made in beforeAll, so looked up when a test runs.
    const adapter = (): BashAdapter => adapters[spawner];

    describe('argv form and shell form', () => {
      it('passes arguments as they are: nothing in them is interpreted', async () => {
        const args = ['%s|', 'a b', '$(echo x)', ';', '"q"', "'s'", '*', '`id`', '${HOME}', 'new\nline', '\\n\\', '\x01\x7f', 'é€😀', '-', '--', ''];
        const printed = `${args.slice(1).join('|')}|`;
        const output = await run({ command: ['printf', ...args] }, adapter());
        expect(output).toEqual({
          exitCode: 0,
          signal: null,
          stdout: printed,
          stderr: '',
          durationMs: expect.any(Number),
          truncated: { stdout: false, stderr: false },
          command: ['printf', ...args],
          bytes: { stdout: Buffer.byteLength(printed), stderr: 0 },
          cwd: root,
        });
        expect(output.durationMs).toBeGreaterThan(0);
      });

      it('runs a script in the shell it names, with values as positional parameters', async () => {
        const script = 'printf "%s-%s\\n" "$1" "$2" | tr a-z A-Z';
        const output = await run({ script, shell: 'bash', args: ['ab', 'c; rm -rf /'] }, adapter());
        expect(output.stdout).toBe('AB-C; RM -RF /\n');
        expect(output.command).toEqual(['bash', '-c', script, 'bash', 'ab', 'c; rm -rf /']);
        const sh = await run({ script: 'echo $0', shell: true }, adapter());
        expect(sh.command).toEqual(['/bin/sh', '-c', 'echo $0']);
        expect(sh.stdout).toBe('/bin/sh\n');
      });

      it('passes long arguments and odd directory names intact', async () => {
        const long = 'é$(x)\n'.repeat(12_000); // 96,000 bytes, under Linux's 128 KiB per argument
        expect((await run({ command: ['printf', '%s', long] }, adapter())).stdout).toBe(long);
        const odd = `odd $(x) \`y\` ;'"\n-${spawner}`;
        await mkdir(join(root, odd), { recursive: true });
        expect(await run({ command: ['pwd'], cwd: odd }, adapter())).toMatchObject({ stdout: `${join(root, odd)}\n`, cwd: join(root, odd) });
      });

      it('runs a program whose name starts with a dash or holds a space, and keeps argv[0] as given', async () => {
        await writeFile(join(root, '-dash prog'), '#!/bin/sh\necho "$0|$1"\n', { mode: 0o755 });
        expect((await run({ command: ['./-dash prog', 'x'] }, adapter())).stdout).toBe('./-dash prog|x\n');
        const onPath = await run({ command: ['-dash prog', 'y'], env: { PATH: root } }, adapter());
        expect(onPath.stdout).toBe(`${root}/-dash prog|y\n`);
        expect((await run({ script: 'exec -a custom-zero sh -c "echo \\$0"', shell: 'bash' }, adapter())).stdout).toBe('custom-zero\n');
      });
    });

    describe('working directory inside the roots', () => {
      it('runs in the first root by default, and in a relative cwd inside it', async () => {
        expect((await run({ command: ['pwd'] }, adapter())).stdout).toBe(`${root}\n`);
        const sub = await run({ command: ['pwd'], cwd: 'sub' }, adapter());
        expect(sub.stdout).toBe(`${join(root, 'sub')}\n`);
        expect(sub.cwd).toBe(join(root, 'sub'));
      });

      it('refuses a cwd outside the roots, through a prefix sibling or a symlink, naming cwd', async () => {
        for (const cwd of ['/', '../root_evil', join(base, 'root_evil'), 'escape']) {
          await expect(run({ command: ['pwd'], cwd }, adapter())).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'cwd' });
        }
      });

      it('says when cwd does not exist or is a file', async () => {
        await expect(run({ command: ['pwd'], cwd: 'missing' }, adapter())).rejects.toMatchObject({
          code: 'FANOUT_NOT_FOUND',
          path: 'cwd',
          message: expect.stringMatching(/expected cwd to be an existing directory, got "missing"/),
        });
        await expect(run({ command: ['pwd'], cwd: 'file.txt' }, adapter())).rejects.toMatchObject({ code: 'FANOUT_NOT_DIRECTORY', path: 'cwd' });
      });
    });

    describe('environment', () => {
      const envLines = (output: BashOutput) => output.stdout.trim().split('\n').filter(Boolean).sort();

      it('gives only PATH by default, plus what the input sets', async () => {
        expect(envLines(await run({ command: ['env'] }, adapter()))).toEqual([`PATH=${process.env.PATH}`]);
        expect(envLines(await run({ command: ['env'], env: { GREETING: 'hello world', EMPTY: '', ODD: '$(id) `id` ~ a=b \\ "\'' } }, adapter()))).toEqual([
          'EMPTY=',
          'GREETING=hello world',
          'ODD=$(id) `id` ~ a=b \\ "\'',
          `PATH=${process.env.PATH}`,
        ]);
      });

      it('removes a variable set to null, PATH included, and then looks programs up where libuv does', async () => {
        expect((await run({ command: ['/usr/bin/env'], env: { PATH: null } }, adapter())).stdout).toBe('');
        // Without PATH, a bare name is looked up in /usr/bin:/bin, as a direct spawn does.
        expect((await run({ command: ['env'], env: { PATH: null, ONLY: '1' } }, adapter())).stdout).toBe('ONLY=1\n');
      });

      it('inherits the parent environment only when asked, by the input or the adapter', async () => {
        process.env.FANOUT_TEST_PARENT_SECRET = 's3cret';
        try {
          expect((await run({ command: ['env'] }, adapter())).stdout).not.toContain('FANOUT_TEST_PARENT_SECRET');
          expect((await run({ command: ['env'], inheritEnv: true }, adapter())).stdout).toContain('FANOUT_TEST_PARENT_SECRET=s3cret');
          const inheriting = make(spawner, { roots: [root], inheritEnv: true, env: { FROM_ADAPTER: '1' } });
          const both = await run({ command: ['env'], env: { FANOUT_TEST_PARENT_SECRET: null } }, inheriting);
          expect(both.stdout).toContain('FROM_ADAPTER=1');
          expect(both.stdout).not.toContain('FANOUT_TEST_PARENT_SECRET');
          expect((await run({ command: ['env'], inheritEnv: false }, inheriting)).stdout).not.toContain('HOME=');
        } finally {
          delete process.env.FANOUT_TEST_PARENT_SECRET;
        }
      });

      it('passes the whole parent environment exactly, `_` and all', async () => {
        const parent = Object.entries(process.env).map(([name, value]) => `${name}=${value}`);
        const output = await run({ command: ['env', '-0'], inheritEnv: true, env: { _: '/the/last/arg' } }, adapter());
        const got = output.stdout.split('\0').filter(Boolean).sort();
        expect(got).toEqual([...parent.filter((line) => !line.startsWith('_=')), '_=/the/last/arg'].sort());
      });
    });

    describe('stdin', () => {
      it('feeds text, base64 and bytes, and /dev/null when there is none', async () => {
        expect((await run({ command: ['cat'], stdin: 'line 1\nline 2\n' }, adapter())).stdout).toBe('line 1\nline 2\n');
        expect((await run({ command: ['cat'], stdin: { base64: Buffer.from('héllo').toString('base64') } }, adapter())).stdout).toBe('héllo');
        expect((await run({ command: ['wc', '-c'], stdin: new Uint8Array([0, 1, 2, 255]) }, adapter())).stdout.trim()).toBe('4');
        // Without stdin, cat reads /dev/null and ends instead of waiting forever.
        expect((await run({ command: ['cat'] }, adapter())).stdout).toBe('');
      });

      it('does not fail when the command exits without reading its input', async () => {
        const output = await run({ command: ['true'], stdin: 'x'.repeat(4 * 1024 * 1024) }, adapter());
        expect(output.exitCode).toBe(0);
      });
    });

    describe('output caps', () => {
      it('keeps the head up to the cap, reads the rest to the end and says it was cut', async () => {
        const full = `${Array.from({ length: 200_000 }, (_, i) => i + 1).join('\n')}\n`;
        const output = await run({ command: ['seq', '1', '200000'], maxOutputBytes: 100 }, adapter());
        // seq ran to its end: it was never blocked on a full pipe, nor killed by SIGPIPE.
        expect(output).toMatchObject({ exitCode: 0, signal: null, truncated: { stdout: true, stderr: false }, bytes: { stdout: full.length, stderr: 0 } });
        expect(output.stdout).toBe(full.slice(0, 100));
      });

      it('caps each stream on its own, and an input cannot raise the adapter cap', async () => {
        const small = make(spawner, { roots: [root], maxOutputBytes: { stdout: 1000, stderr: 10 } });
        const output = await run({ script: 'seq 1 1000; seq 1 1000 >&2', shell: true, maxOutputBytes: { stdout: 1_000_000 } }, small);
        expect(Buffer.byteLength(output.stdout)).toBe(1000);
        expect(output.stderr).toBe('1\n2\n3\n4\n5\n');
        expect(output.truncated).toEqual({ stdout: true, stderr: true });
      });

      it('never cuts a character in half', async () => {
        const output = await run({ command: ['printf', 'aé€😀'], maxOutputBytes: 5 }, adapter());
        expect(output.stdout).toBe('aé'); // 1 + 2 bytes; € needs 3 and only 2 were kept
        expect(output.truncated.stdout).toBe(true);
        expect(output.bytes.stdout).toBe(10);
      });
    });

    describe('exit codes and failures', () => {
      it('accepts the exit codes the input calls ok (grep finding nothing)', async () => {
        const output = await run({ command: ['grep', 'absent', 'file.txt'], okExitCodes: [0, 1] }, adapter());
        expect(output).toMatchObject({ exitCode: 1, stdout: '' });
      });

      it('fails a non-ok exit with a ProcessError carrying the result and the end of stderr', async () => {
        const script = 'for i in $(seq 1 2000); do echo "noise $i" >&2; done; echo "the real error" >&2; echo out; exit 3';
        const error = await failure({ script, shell: 'bash', maxOutputBytes: 64 }, adapter());
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
        expect(adapter().classify!(error)).toEqual({ class: 'fatal' });
        await expect(run({ command: ['false'], okExitCodes: [0, 2] }, adapter())).rejects.toThrow(/to exit with one of 0, 2, but it exited with 1; it printed nothing/);
      });

      it('fails a process ended by a signal nobody here sent', async () => {
        const error = await failure({ script: 'echo before; kill -KILL $$', shell: 'bash' }, adapter());
        expect(error.code).toBe('FANOUT_PROCESS_FAILED');
        expect(error.result).toMatchObject({ exitCode: null, signal: 'SIGKILL', stdout: 'before\n' });
        expect(error.message).toMatch(/but it was ended by SIGKILL; stdout ends with:\nbefore$/);
      });

      it('tells an exit with 128 + n from an end by signal n', async () => {
        // `$?` is 137 and 130 in both cases; only how the process ended differs.
        expect((await failure({ script: 'exit 137', shell: 'bash' }, adapter())).result).toMatchObject({ exitCode: 137, signal: null });
        expect((await failure({ script: 'kill -INT $$', shell: 'bash' }, adapter())).result).toMatchObject({ exitCode: null, signal: 'SIGINT' });
        expect((await failure({ script: 'exit 130', shell: 'bash' }, adapter())).result).toMatchObject({ exitCode: 130, signal: null });
        // A shell whose last command was killed exits with 128 + n itself: an exit code.
        expect((await failure({ script: 'sh -c "kill -TERM \\$\\$"; exit $?', shell: 'bash' }, adapter())).result).toMatchObject({ exitCode: 143, signal: null });
        expect((await run({ script: 'exit 200', shell: 'bash', okExitCodes: [200] }, adapter())).exitCode).toBe(200);
      });

      it('names the field of a program that cannot be started', async () => {
        await expect(run({ command: ['fanout-no-such-program', 'x'] }, adapter())).rejects.toMatchObject({
          code: 'FANOUT_PROCESS_SPAWN',
          path: 'command[0]',
          message: expect.stringMatching(
            /^expected command\[0\] to be a program on PATH \(.*\), got "fanout-no-such-program", which was not found \(ENOENT: no such file, or the interpreter its #! line names is missing\)$/,
          ),
        });
        await expect(run({ command: ['./not-executable.sh'] }, adapter())).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]', message: expect.stringMatching(/EACCES/) });
        await expect(run({ command: ['./file.txt/x'] }, adapter())).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]', message: expect.stringMatching(/ENOTDIR/) });
        await expect(run({ command: ['./sub'] }, adapter())).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]', message: expect.stringMatching(/EACCES/) });
        // On PATH: a file that is not executable, or a directory, is EACCES; a shell builtin's name is not a program.
        await expect(run({ command: ['not-executable.sh'], env: { PATH: root } }, adapter())).rejects.toMatchObject({ message: expect.stringMatching(/EACCES/) });
        await expect(run({ command: ['sub'], env: { PATH: root } }, adapter())).rejects.toMatchObject({ message: expect.stringMatching(/EACCES/) });
        await expect(run({ command: ['cd', '/'] }, adapter())).rejects.toMatchObject({ message: expect.stringMatching(/ENOENT/) });
        // Found and executable, but execve fails all the same: a spawn error, or, from a bash
        // worker, the 127 or 126 its subshell exits with, and bash's message (documented).
        await writeFile(join(root, `lost-interpreter-${spawner}.sh`), '#!/nonexistent/interpreter\necho ran\n', { mode: 0o755 });
        const lost = run({ command: [join(root, `lost-interpreter-${spawner}.sh`)] }, adapter());
        const tooLong = run({ command: ['true', 'x'.repeat(200_000)] }, adapter());
        if (spawner === 'direct') {
          await expect(lost).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'command[0]', message: expect.stringMatching(/ENOENT/) });
          await expect(tooLong).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', message: expect.stringMatching(/E2BIG/) });
        } else {
          await expect(lost).rejects.toMatchObject({ code: 'FANOUT_PROCESS_FAILED', result: { exitCode: 127, stderr: expect.stringMatching(/cannot execute/) } });
          await expect(tooLong).rejects.toMatchObject({ code: 'FANOUT_PROCESS_FAILED', result: { exitCode: 126, stderr: expect.stringMatching(/Argument list too long/) } });
        }
        // A job's FUNCNEST changes nothing about how a missing program is reported.
        await expect(run({ command: ['fanout-no-such-program'], env: { FUNCNEST: '1' } }, adapter())).rejects.toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', message: expect.stringMatching(/ENOENT/) });
        const noShell = await failure({ script: 'true', shell: '/nonexistent/sh' }, adapter());
        expect(noShell).toMatchObject({ code: 'FANOUT_PROCESS_SPAWN', path: 'shell', message: expect.stringMatching(/expected shell to be a path to an existing program/) });
        expect(adapter().classify!(noShell)).toEqual({ class: 'fatal' });
      });

      it('refuses to start when the attempt is already aborted', async () => {
        const controller = new AbortController();
        controller.abort(new Error('too late'));
        await expect(Promise.resolve(adapter().run({ command: ['true'] }, attemptContext(controller.signal)))).rejects.toThrow('too late');
      });

      it('classes a stop by a timeout as drop, like the scheduler classes its own timeouts', async () => {
        const controller = new AbortController();
        const marker = newMarker();
        const running = Promise.resolve(adapter().run({ script: 'exec sleep 30', shell: true, env: { FANOUT_TEST_MARK: marker } }, attemptContext(controller.signal)));
        expect(await eventually(() => markedProcesses(marker).length === 1)).toBe(true);
        controller.abort(new FanoutError('FANOUT_ATTEMPT_TIMEOUT', 'timed out after 100 ms'));
        const error = (await running.catch((e: unknown) => e)) as ProcessError;
        expect(error.code).toBe('FANOUT_ABORTED');
        expect(error.result.signal).toBe('SIGTERM'); // sleep honours TERM: no KILL needed
        expect(adapter().classify!(error)).toEqual({ class: 'drop' });
      });
    });

    describe('through the scheduler', () => {
      it('keeps writers of one lock apart', async () => {
        // Each writer appends "start", waits, appends "end": without the lock they would interleave.
        const log = join(root, `locked-${spawner}.log`);
        const writer = { script: 'echo start >> "$1"; sleep 0.2; echo end >> "$1"', shell: true, args: [log], locks: [`file:${log}`] };
        const result = await createScheduler({ adapters: [adapter()] }).execute({
          operations: [
            { id: 'a', kind: 'bash', input: writer },
            { id: 'b', kind: 'bash', input: writer },
          ],
        });
        expect(result.ok).toBe(true);
        expect(await readFile(log, 'utf8')).toBe('start\nend\nstart\nend\n');
      });

      it('runs many commands at once and accounts for each', async () => {
        const operations = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, kind: 'bash', input: { command: ['echo', String(i)] } }));
        const result = await createScheduler({ adapters: [adapter()] }).execute({ operations });
        expect(result.ok).toBe(true);
        for (let i = 0; i < 40; i++) expect((result.get(`n${i}`)!.output as BashOutput).stdout).toBe(`${i}\n`);
      });
    });
  });
});
