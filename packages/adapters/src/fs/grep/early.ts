/**
 * Starting `rg` before the grep adapter asks for it. A short `fanout grep` spent ~40 ms of
 * CPU initialising its modules, loading its configuration and validating its plan before the
 * ripgrep engine spawned `rg`; started by the launcher, `rg` walks and searches meanwhile on
 * the other core, and its output waits in the pipe, read in fewer, larger pieces.
 *
 * It is a guess that never changes a result: the engine adopts the early process only when it
 * would have started exactly the same one — the same program, arguments, working directory
 * and environment (see {@link EarlyRipgrep.spawner}); otherwise the early process is killed
 * and the engine starts its own. What the early process printed before it was adopted is
 * kept and handed over first, in order, with its exit after all of it.
 *
 * Its output goes to a temporary file (opened, then unlinked at once), not to a pipe: a pipe
 * holds ~200 KB, and `rg --json` over a tree of a few thousand files writes about a
 * megabyte, so it stopped after the first fifth and waited for the command to load (on
 * TanStack query, 958 KB; the rest then came at rg's pace after the ~40 ms of loading). Once
 * adopted, the file is read as it grows; an output past {@link SPILL_BYTES} gives the process
 * up (see `RipgrepProcess.abandoned`), so that a long search never fills the disk. Where the
 * file cannot be made (Windows, which cannot unlink an open file; a temporary directory
 * nobody can write to), the output comes through a pipe as before.
 *
 * This module loads nothing at import (`node:child_process` when it spawns): the launcher of
 * every command holds it, and `fanout --version` must not pay for it.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the ripgrep engine uses of an `rg` process (a `ChildProcess` is one). */
export interface RipgrepProcess {
  readonly stdout: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr: { setEncoding(encoding: 'utf8'): { on(event: 'data', listener: (text: string) => void): unknown } } | null;
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal: NodeJS.Signals): boolean;
  /**
   * True when the process was given up before its end for a reason of its own (an early
   * `rg` whose output outgrew its file, see {@link EarlyRipgrep}): it was killed, its output
   * stops anywhere, and its `close` follows. The engine then runs the same command again,
   * skipping the files it already reported.
   */
  readonly abandoned?: boolean;
}

/** Starts `rg` (`file`) with `args` in `cwd` with `env`, standard input closed, its output piped. */
export type RipgrepSpawn = (file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }) => RipgrepProcess;

/** The environment `rg` runs in: this process's, without `RIPGREP_CONFIG_PATH` (its flags would add to fanout's). */
export function ripgrepEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.RIPGREP_CONFIG_PATH;
  return copy;
}

/** How the engine starts `rg` unless told otherwise. */
export const spawnRipgrep: RipgrepSpawn = (file, args, options) => process.getBuiltinModule('node:child_process').spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });

/** Output held before adoption, at most: past it, reading stops (and `rg` waits) until the engine adopts the process. */
const HELD_BYTES = 64 * 1024 * 1024;
/** Output written to the file at most (see the module comment): past it, the process is given up. */
const SPILL_BYTES = 64 * 1024 * 1024;
/** How long the adopted process's file is left before it is read again, while `rg` runs. */
const POLL_MS = 2;
/** The most read from the file in one piece. */
const READ_BYTES = 4 * 1024 * 1024;

/** A new temporary file for `rg`'s output, already unlinked (its descriptor, read and write), or undefined where that cannot be. */
function spillFile(): number | undefined {
  if (process.platform === 'win32') return undefined;
  const path = join(tmpdir(), `fanout-rg-${process.pid}-${Math.random().toString(36).slice(2)}`);
  let fd: number;
  try {
    // 'wx+': created here or not at all (never a file or link someone put there first).
    fd = openSync(path, 'wx+', 0o600);
  } catch {
    return undefined;
  }
  try {
    unlinkSync(path);
    return fd;
  } catch {
    closeSync(fd);
    return undefined;
  }
}

type Held = { kind: 'out'; chunk: Buffer } | { kind: 'err'; chunk: Buffer } | { kind: 'close'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'error'; error: Error };

function sameEnvironment(a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/**
 * An `rg` process started before the grep engine asked for it (see the module comment).
 *
 * @example
 * const early = EarlyRipgrep.start('/usr/bin/rg', args, process.cwd());
 * const adapter = grepAdapter({ spawnRipgrep: early.spawner() });
 * // … after the search:
 * early.discard();
 */
export class EarlyRipgrep {
  readonly #file: string;
  readonly #args: readonly string[];
  readonly #cwd: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #child: ChildProcess;
  #held: Held[] = [];
  #heldBytes = 0;
  #state: 'waiting' | 'adopted' | 'discarded' = 'waiting';
  /** The adopted process's listeners, once the engine attached them. */
  #deliver: ((item: Held) => void) | undefined;
  /** The file `rg` writes its output to, until it is closed; undefined with a pipe. */
  #spill: number | undefined;
  readonly #spillBytes: number;
  /** Bytes of the file delivered so far. */
  #spilled = 0;
  /** The exit, held until the file is read to its end. */
  #closed: Extract<Held, { kind: 'close' }> | undefined;
  #poll: NodeJS.Timeout | undefined;
  #abandoned = false;

  private constructor(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, spillBytes: number) {
    this.#file = file;
    this.#args = [...args];
    this.#cwd = cwd;
    this.#env = env;
    this.#spillBytes = spillBytes;
    this.#spill = spillFile();
    if (this.#spill === undefined) {
      this.#child = spawnRipgrep(file, args, { cwd, env }) as ChildProcess;
    } else {
      try {
        this.#child = process.getBuiltinModule('node:child_process').spawn(file, args, { cwd, env, stdio: ['ignore', this.#spill, 'pipe'] });
      } catch (error) {
        this.#closeSpill();
        throw error;
      }
    }
    const child = this.#child;
    // Read from the start: a child that exits with unread output would have it dropped (Node
    // resumes a stream nobody listens to at exit), and what waits here is read in one piece.
    child.stdout?.on('data', (chunk: Buffer) => this.#push({ kind: 'out', chunk }));
    child.stderr!.on('data', (chunk: Buffer) => this.#push({ kind: 'err', chunk }));
    child.on('error', (error) => this.#push({ kind: 'error', error }));
    child.on('close', (code, signal) => this.#push({ kind: 'close', code, signal }));
  }

  /** Starts `file` (an `rg`) with `args` in `cwd`, in the environment the engine gives it ({@link ripgrepEnvironment}). */
  static start(file: string, args: readonly string[], cwd: string, options: { spillBytes?: number } = {}): EarlyRipgrep {
    return new EarlyRipgrep(file, args, cwd, ripgrepEnvironment(), options.spillBytes ?? SPILL_BYTES);
  }

  /** The early process's id (undefined when it could not be started). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** `waiting` until the engine adopts the process or it is discarded. */
  get state(): 'waiting' | 'adopted' | 'discarded' {
    return this.#state;
  }

  /**
   * The engine's way to start `rg`: the early process when the command is the same (once),
   * else `fallback`'s, after the early process is killed.
   */
  spawner(fallback: RipgrepSpawn = spawnRipgrep): RipgrepSpawn {
    return (file, args, options) => {
      if (this.#state === 'waiting' && this.#matches(file, args, options)) return this.#adopt();
      this.discard();
      return fallback(file, args, options);
    };
  }

  /** Kills the early process unless the engine adopted it; idempotent. */
  discard(): void {
    if (this.#state !== 'waiting') return;
    this.#state = 'discarded';
    this.#held = [];
    this.#heldBytes = 0;
    this.#closeSpill();
    this.#child.kill('SIGKILL');
  }

  #closeSpill(): void {
    clearTimeout(this.#poll);
    if (this.#spill === undefined) return;
    closeSync(this.#spill);
    this.#spill = undefined;
  }

  /** The next piece of the file not delivered yet, or undefined when there is none now. */
  #readSpill(fd: number): Buffer | undefined {
    const size = fstatSync(fd).size;
    if (this.#spilled >= size) return undefined;
    const chunk = Buffer.allocUnsafe(Math.min(size - this.#spilled, READ_BYTES));
    const read = readSync(fd, chunk, 0, chunk.length, this.#spilled);
    if (read === 0) return undefined;
    this.#spilled += read;
    return read === chunk.length ? chunk : chunk.subarray(0, read);
  }

  /**
   * Delivers what the file holds beyond what was delivered; then the exit, if `rg` has
   * exited, or another look in {@link POLL_MS}. An output past the cap gives the process up.
   */
  #pump(): void {
    clearTimeout(this.#poll);
    const fd = this.#spill;
    const deliver = this.#deliver;
    if (fd === undefined || deliver === undefined) return;
    while (!this.#abandoned) {
      let chunk: Buffer | undefined;
      try {
        chunk = this.#readSpill(fd);
      } catch (error) {
        // The file could not be read: the search fails as one whose rg could not be run.
        this.#closeSpill();
        this.#closed = undefined;
        this.#child.kill('SIGKILL');
        deliver({ kind: 'error', error: error as Error });
        return;
      }
      if (chunk === undefined) break;
      deliver({ kind: 'out', chunk });
      // The engine may have stopped the search (a cap): what is left is not wanted.
      if (this.#spill === undefined) return;
    }
    const closed = this.#closed;
    if (closed !== undefined) {
      this.#closeSpill();
      deliver(closed);
      return;
    }
    if (!this.#abandoned && this.#spilled > this.#spillBytes) {
      this.#abandoned = true;
      this.#child.kill('SIGKILL');
      return;
    }
    // The exit reads the rest at once (see #push); till then, what rg writes is looked for.
    if (!this.#abandoned) this.#poll = setTimeout(() => this.#pump(), POLL_MS);
  }

  #matches(file: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): boolean {
    if (file !== this.#file || options.cwd !== this.#cwd || args.length !== this.#args.length) return false;
    if (!args.every((arg, i) => arg === this.#args[i])) return false;
    // A spawn that failed is the engine's to make and report itself.
    if (this.#held.some((item) => item.kind === 'error')) return false;
    return sameEnvironment(options.env, this.#env);
  }

  #push(item: Held): void {
    if (this.#state === 'discarded') return;
    if (item.kind === 'close' && this.#spill !== undefined) {
      // Its output is in the file: the exit goes after all of it.
      this.#closed = item;
      this.#pump();
      return;
    }
    if (this.#deliver !== undefined) {
      this.#deliver(item);
      return;
    }
    this.#held.push(item);
    if (item.kind === 'out' || item.kind === 'err') {
      this.#heldBytes += item.chunk.length;
      if (this.#heldBytes > HELD_BYTES) {
        this.#child.stdout!.pause();
        this.#child.stderr!.pause();
      }
    }
  }

  /** The process as the engine sees it: what was held is delivered first, on a later turn, once its listeners are attached. */
  #adopt(): RipgrepProcess {
    this.#state = 'adopted';
    const child = this.#child;
    const out: Array<(chunk: Buffer) => void> = [];
    const err: Array<(text: string) => void> = [];
    const onError: Array<(error: Error) => void> = [];
    const onClose: Array<(code: number | null, signal: NodeJS.Signals | null) => void> = [];
    const decoder = new (process.getBuiltinModule('node:string_decoder').StringDecoder)('utf8');
    const deliver = (item: Held): void => {
      switch (item.kind) {
        case 'out':
          for (const listener of out) listener(item.chunk);
          break;
        case 'err': {
          const text = decoder.write(item.chunk);
          if (text !== '') for (const listener of err) listener(text);
          break;
        }
        case 'error':
          for (const listener of onError.splice(0)) listener(item.error);
          break;
        case 'close': {
          const rest = decoder.end();
          if (rest !== '') for (const listener of err) listener(rest);
          for (const listener of onClose.splice(0)) listener(item.code, item.signal);
          break;
        }
      }
    };
    // The engine attaches its listeners in the turn it spawned; what was held comes after.
    setImmediate(() => {
      const held = this.#held;
      this.#held = [];
      this.#heldBytes = 0;
      for (const item of held) deliver(item);
      this.#deliver = deliver;
      child.stdout?.resume();
      child.stderr!.resume();
      this.#pump();
    });
    const self = this;
    return {
      stdout: { on: (_event: 'data', listener: (chunk: Buffer) => void) => out.push(listener) },
      stderr: { setEncoding: () => ({ on: (_event: 'data', listener: (text: string) => void) => err.push(listener) }) },
      once: ((event: 'error' | 'close', listener: (...args: never[]) => void) => {
        if (event === 'error') onError.push(listener as (error: Error) => void);
        else onClose.push(listener as (code: number | null, signal: NodeJS.Signals | null) => void);
      }) as RipgrepProcess['once'],
      kill: (signal) => {
        // Nothing more of the file once the engine stopped the search; an exit already held
        // (rg ended before it was adopted) will not come again: it follows, on a later turn.
        self.#closeSpill();
        const closed = self.#closed;
        self.#closed = undefined;
        if (closed !== undefined) setImmediate(() => deliver(closed));
        return child.kill(signal);
      },
      get abandoned() {
        return self.#abandoned;
      },
    };
  }
}
