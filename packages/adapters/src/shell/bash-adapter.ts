import { statSync, type Stats } from 'node:fs';
import { defaultClassify, OptionCheck, type Adapter, type LockSpec } from '@fanout/scheduler';
import { AdapterError, classifyAdapterError, fromFsError } from '../errors.js';

import { AllowedRoots, type SafePath } from '../roots.js';
import { resolveCommand } from './command.js';
import { buildEnvironment } from './environment.js';
import type { BashOutput } from './output.js';
import { ProcessError, spawnError } from './process-error.js';
import { runProcess, type ProcessSpec } from './run-process.js';
import { bashInputSchema, createBashInputSchema, type BashInput } from './schema.js';
import { SpawnServer } from './spawn-server.js';

const check = new OptionCheck(AdapterError, 'bashAdapter');

/*
 * Why node:child_process and not execa 9 (execa was the first choice; the goal of at most
 * 1.5× raw spawn, tools/bench's shell-spawn, decided). Measured on 2 shared cores, Node 20.20: 400 × /usr/bin/true, 16 at a
 * time, in one process, medians of 5–7 interleaved rounds; CPU of the Node process per spawn
 * (the fork happens in it; wall time follows but is much noisier on a shared machine):
 *
 *   child_process.spawn, defaults                          0.90–1.00 ms
 *   the same + detached, env {PATH}, stdin 'ignore'        0.72–0.84 ms
 *   execa 9, defaults                                      1.48–1.74 ms   (1.3–1.9× raw wall)
 *   saved from execa's defaults, one option at a time:
 *     buffer: false                                        0.3–0.4 ms     (the largest)
 *     extendEnv: false + env {PATH}                        ≈ 0.15 ms      (less to copy per fork)
 *     stdin: 'ignore'                                      ≈ 0.14 ms      (one pipe fewer)
 *     detached: true                                       ≈ 0.1 ms
 *     stripFinalNewline: false, encoding: 'buffer',
 *     cleanup: false                                       within noise (< 0.1 ms)
 *     serialization                                        not measured: it only applies to an IPC channel, which is off
 *   execa with all of the above + reject: false            0.98–1.33 ms   (1.1–1.3× raw wall)
 *
 * Tuned execa still spends 0.25–0.5 ms more per spawn than the same spawn done directly
 * (option normalisation, an AbortController it creates and aborts per call, stream
 * bookkeeping: a CPU profile shows them), and the adapter would use none of what it pays
 * for: execa kills only the direct child (we kill the group), its maxBuffer kills the
 * process (we keep reading and drop), its `cleanup` is off for detached children (we keep
 * our own), and it must not buffer (we cap). Importing it costs 0.1–0.14 s of start-up too.
 * Through the scheduler, this adapter runs at 1.07–1.10× raw spawn's wall and CPU
 * (tools/bench `shell-spawn`, same run); the process-group guarantees live in process-group.ts.
 */

/** Options of {@link bashAdapter}. */
export interface BashAdapterOptions {
  /**
   * Where commands may run: `cwd` must lie inside one of these (relative `cwd` start from the
   * first). They bound the working directory, not what a command can do: this is not a sandbox.
   * @default [process.cwd()]
   */
  roots?: string[] | AllowedRoots;
  /** Variables every command gets, on top of PATH (or the parent's environment). @default {} */
  env?: Record<string, string>;
  /**
   * Start every command from the parent's whole environment rather than its PATH alone;
   * an input's `inheritEnv` overrides it.
   * @default false
   */
  inheritEnv?: boolean;
  /**
   * Accept the shell form (`script` with `shell`). When false, the input schema refuses it and
   * only argv commands run.
   * @default true
   */
  allowShell?: boolean;
  /** The shell of `shell: true`. @default "/bin/sh" */
  defaultShell?: string;
  /**
   * Most bytes of each stream kept in the output (an input may lower it, never raise it).
   * Past it the stream is still read to its end and dropped, and the output says `truncated`.
   * @default 1048576 (1 MiB) for each
   */
  maxOutputBytes?: number | { stdout?: number; stderr?: number };
  /**
   * After a timeout or an abort, how long the process group has between SIGTERM and SIGKILL.
   * @default 2000
   */
  killGraceMs?: number;
  /**
   * SIGKILL the process groups still running when Node exits (like execa's `cleanup`, but
   * for the whole group).
   * @default true
   */
  cleanup?: boolean;
  /**
   * Timeout of each command unless the plan sets one (Claude Code's Bash tool also stops at
   * two minutes by default).
   * @default 120000
   */
  timeoutMs?: number;
  /**
   * Who forks the commands. `'direct'`: Node, with `child_process.spawn`, which forks the
   * whole Node process each time (1.3–1.7 ms of the main thread per command for a 60 MB
   * process on 2 cores). `'server'`: a pool of small bash workers (a "spawn server", as GNU
   * parallel and zygotes do), started on first use, one per command running at once, that
   * fork the commands and report their ends; Node only writes a request and reads the result.
   *
   * The results are the same: environment, cwd, caps, exit codes and signals, process groups,
   * TERM then KILL. The differences: output goes to private files under `os.tmpdir()` until
   * the command ends (then the head and the tail are read); the result does not wait for what
   * the command left running in the background (it is stopped all the same); exit code
   * 128 + n and signal n are told apart by bash's `jobs` report (see spawn-protocol.ts); a
   * program that is found but whose exec fails (a missing `#!` interpreter, an argument list
   * over the kernel's limit) ends with exit 127 or 126 and bash's message instead of a
   * `FANOUT_PROCESS_SPAWN` error.
   * Commands the workers cannot run exactly as given (a variable bash cannot export, such as
   * `A-B` or `RANDOM`), and all of them without bash ≥ 5.1, are spawned directly. Call
   * {@link BashAdapter.close} when done (idle workers never keep Node alive, though).
   * @default "direct"
   */
  spawner?: 'direct' | 'server';
}

/** The `bash` adapter: an {@link Adapter} that may own a pool of spawn workers. */
export interface BashAdapter extends Adapter<BashInput, BashOutput> {
  readonly kind: 'bash';
  /**
   * With `spawner: 'server'`: stops the commands still running (their process groups get
   * TERM, then KILL after `killGraceMs`; their runs fail with `FANOUT_ABORTED`), ends the
   * workers and removes their directory; a later command starts a new pool. Nothing to do
   * with `'direct'`.
   */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;
const NO_LOCKS: readonly LockSpec[] = Object.freeze([]);

function positive(value: number, field: string): number {
  return check.integer(value, field, 1);
}

function capsOf(value: number | { stdout?: number | undefined; stderr?: number | undefined } | undefined, fallback: { stdout: number; stderr: number }): { stdout: number; stderr: number } {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return { stdout: value, stderr: value };
  return { stdout: value.stdout ?? fallback.stdout, stderr: value.stderr ?? fallback.stderr };
}

function stdinBytes(stdin: BashInput['stdin']): Uint8Array | undefined {
  if (stdin === undefined) return undefined;
  if (typeof stdin === 'string') return Buffer.from(stdin);
  if (stdin instanceof Uint8Array) return stdin;
  return Buffer.from(stdin.base64, 'base64');
}

/**
 * The `bash` adapter: runs a command (argv form, or a shell when the input asks for one) in
 * its own process group, inside the allowed roots, with an explicit environment and capped
 * output.
 *
 * - **Environment**: the parent's PATH only, then the adapter's `env`, then the input's
 *   (`null` removes a variable); `inheritEnv` opts in to the parent's whole environment.
 * - **Output**: the head of each stream up to `maxOutputBytes`; the rest is read to the end
 *   and dropped (the child never blocks on a full pipe), and `truncated` says so.
 * - **Stopping**: a timeout or an abort sends SIGTERM to the whole group, then SIGKILL after
 *   `killGraceMs`. When the command exits, whatever it left running in its group is stopped
 *   the same way: an operation leaves nothing behind. A daemon that left the group (`setsid`)
 *   is out of reach: the result does not wait for it (its pipes are cut 200 ms after the
 *   command's exit, `PIPE_GRACE_MS`), and the command's exit code decides.
 * - **Failure**: an exit code outside `okExitCodes` (default `[0]`) or an end by someone
 *   else's signal fails with a {@link ProcessError} (`FANOUT_PROCESS_FAILED`, fatal) that
 *   carries the result and the tails of both streams; a stop by us is `FANOUT_ABORTED`; a
 *   program that cannot start is `FANOUT_PROCESS_SPAWN`, naming `command[0]` or `shell`.
 * - **Defaults**: at most 16 at once, starting at 8; not idempotent (commands have effects,
 *   so they are retried only when the plan forces it); a two-minute timeout.
 * - **Spawner**: Node spawns each command, or with `spawner: 'server'` a pool of small bash
 *   workers forks them, 3–5× cheaper for the Node main thread (see the option).
 *
 * @example
 * const scheduler = createScheduler({ adapters: [bashAdapter({ roots: ['/work/project'] })] });
 * await scheduler.execute({ operations: [
 *   { id: 'status', kind: 'bash', input: { command: ['git', 'status', '--short'] } },
 *   { id: 'todo', kind: 'bash', input: { command: ['grep', '-rn', 'TODO', 'src'], okExitCodes: [0, 1] } },
 * ] });
 */
export function bashAdapter(options: BashAdapterOptions = {}): BashAdapter {
  const roots = options.roots instanceof AllowedRoots ? options.roots : AllowedRoots.of(options.roots);
  const maxBytes = capsOf(options.maxOutputBytes, { stdout: MIB, stderr: MIB });
  positive(maxBytes.stdout, 'maxOutputBytes.stdout');
  positive(maxBytes.stderr, 'maxOutputBytes.stderr');
  const killGraceMs = options.killGraceMs ?? 2000;
  check.number(killGraceMs, 'killGraceMs', 0, { min: 0, unit: 'milliseconds' });
  const timeoutMs = options.timeoutMs ?? 120_000;
  positive(timeoutMs, 'timeoutMs');
  const defaultShell = options.defaultShell ?? '/bin/sh';
  const cleanup = options.cleanup ?? true;
  const inheritEnv = options.inheritEnv ?? false;
  const baseEnv = options.env;
  for (const [name, value] of Object.entries(baseEnv ?? {})) {
    // A process cannot receive a NUL byte in its environment (its strings end at the first).
    if (name === '' || name.includes('=') || name.includes('\0') || typeof value !== 'string' || value.includes('\0')) {
      check.invalid(`env.${name}`, 'a variable name without "=" or NUL bytes and a string value without NUL bytes', `${JSON.stringify(name)}: ${JSON.stringify(value)}`);
    }
  }
  const spawner = options.spawner ?? 'direct';
  if (spawner !== 'direct' && spawner !== 'server') {
    check.invalid('spawner', '"direct" or "server"', spawner);
  }
  const server = spawner === 'server' ? new SpawnServer() : undefined;

  /**
   * The environment of the commands whose input neither sets variables nor asks for the
   * parent's: one frozen object for as long as the parent's PATH stays the same, so that
   * neither it nor what the spawn server derives from it is built again for every command.
   */
  let shared: { path: string | undefined; env: Readonly<Record<string, string>> } | undefined;
  function sharedEnvironment(): Readonly<Record<string, string>> {
    const path = process.env.PATH;
    if (shared === undefined || shared.path !== path) shared = { path, env: Object.freeze(buildEnvironment({ inherit: false, base: baseEnv, given: undefined })) };
    return shared.env;
  }

  /** The working directory, checked on every run: a symlink may have changed since the last. */
  function workingDirectory(cwd: string | undefined): string {
    const asked = cwd ?? roots.base;
    // Synchronous on purpose: a realpath and a stat of one directory take ~11 µs of CPU here,
    // their promise versions ~30 µs (thread-pool hand-offs), and either is ~1% of a spawn.
    let checked: SafePath;
    let stats: Stats | undefined;
    try {
      checked = roots.checkSync(asked, 'cwd');
      stats = checked.exists ? statSync(checked.real, { throwIfNoEntry: false }) : undefined;
    } catch (error) {
      throw error instanceof AdapterError ? error : fromFsError(error, asked, 'cwd');
    }
    if (stats === undefined) {
      throw new AdapterError('FANOUT_NOT_FOUND', `expected cwd to be an existing directory, got ${JSON.stringify(asked)}, which does not exist`, { path: 'cwd' });
    }
    if (!stats.isDirectory()) {
      throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected cwd to be a directory, got ${JSON.stringify(asked)}, which is a file`, { path: 'cwd' });
    }
    return checked.real;
  }

  return {
    kind: 'bash',
    close: () => server?.close() ?? Promise.resolve(),
    // Schemas are immutable: the shared one serves every adapter that allows the shell form.
    input: (options.allowShell ?? true) ? bashInputSchema : createBashInputSchema(false),
    defaults: { maxConcurrency: 16, optimalConcurrency: 8, timeoutMs, idempotent: false },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks(input) {
      if (input.locks === undefined) return NO_LOCKS;
      return input.locks.map((lock): string | LockSpec => (typeof lock === 'string' ? lock : lock.mode === undefined ? { key: lock.key } : { key: lock.key, mode: lock.mode }));
    },
    async run(input, ctx) {
      const signal = ctx.signal;
      signal.throwIfAborted();
      const cwd = workingDirectory(input.cwd);
      const command = resolveCommand(input, defaultShell);
      const inherit = input.inheritEnv ?? inheritEnv;
      const env = input.env === undefined && !inherit ? sharedEnvironment() : buildEnvironment({ inherit, base: baseEnv, given: input.env });
      const caps = capsOf(input.maxOutputBytes, maxBytes);
      const spec: ProcessSpec = {
        file: command.file,
        args: command.args,
        cwd,
        env,
        stdin: stdinBytes(input.stdin),
        maxStdoutBytes: Math.min(caps.stdout, maxBytes.stdout),
        maxStderrBytes: Math.min(caps.stderr, maxBytes.stderr),
        killGraceMs,
        cleanup,
      };
      let outcome;
      try {
        outcome = await (server === undefined ? runProcess(spec, signal) : server.run(spec, signal));
      } catch (error) {
        // The server's own failures (a worker that died, the adapter closed) are already typed.
        if (error instanceof AdapterError) throw error;
        throw spawnError(error, command.programField, command.file, env.PATH);
      }
      const result: BashOutput = {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        stdout: outcome.stdout.text(),
        stderr: outcome.stderr.text(),
        durationMs: outcome.durationMs,
        truncated: { stdout: outcome.stdout.truncated, stderr: outcome.stderr.truncated },
        command: command.argv,
        bytes: { stdout: outcome.stdout.bytes, stderr: outcome.stderr.bytes },
        cwd,
      };
      if (outcome.aborted) {
        throw ProcessError.aborted(result, { stdout: outcome.stdout.tail(), stderr: outcome.stderr.tail() }, command.field, signal.reason);
      }
      const ok = input.okExitCodes ?? [0];
      if (outcome.exitCode !== null && ok.includes(outcome.exitCode)) return result;
      throw ProcessError.failed(result, { stdout: outcome.stdout.tail(), stderr: outcome.stderr.tail() }, command.field, ok);
    },
  };
}
