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
 * This module loads nothing at import (`node:child_process` when it spawns): the launcher of
 * every command holds it, and `fanout --version` must not pay for it.
 */
import type { ChildProcess } from 'node:child_process';

/** What the ripgrep engine uses of an `rg` process (a `ChildProcess` is one). */
export interface RipgrepProcess {
  readonly stdout: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr: { setEncoding(encoding: 'utf8'): { on(event: 'data', listener: (text: string) => void): unknown } } | null;
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  kill(signal: NodeJS.Signals): boolean;
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

  private constructor(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
    this.#file = file;
    this.#args = [...args];
    this.#cwd = cwd;
    this.#env = env;
    this.#child = spawnRipgrep(file, args, { cwd, env }) as ChildProcess;
    const child = this.#child;
    // Read from the start: a child that exits with unread output would have it dropped (Node
    // resumes a stream nobody listens to at exit), and what waits here is read in one piece.
    child.stdout!.on('data', (chunk: Buffer) => this.#push({ kind: 'out', chunk }));
    child.stderr!.on('data', (chunk: Buffer) => this.#push({ kind: 'err', chunk }));
    child.on('error', (error) => this.#push({ kind: 'error', error }));
    child.on('close', (code, signal) => this.#push({ kind: 'close', code, signal }));
  }

  /** Starts `file` (an `rg`) with `args` in `cwd`, in the environment the engine gives it ({@link ripgrepEnvironment}). */
  static start(file: string, args: readonly string[], cwd: string): EarlyRipgrep {
    return new EarlyRipgrep(file, args, cwd, ripgrepEnvironment());
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
    this.#child.kill('SIGKILL');
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
      child.stdout!.resume();
      child.stderr!.resume();
    });
    return {
      stdout: { on: (_event: 'data', listener: (chunk: Buffer) => void) => out.push(listener) },
      stderr: { setEncoding: () => ({ on: (_event: 'data', listener: (text: string) => void) => err.push(listener) }) },
      once: ((event: 'error' | 'close', listener: (...args: never[]) => void) => {
        if (event === 'error') onError.push(listener as (error: Error) => void);
        else onClose.push(listener as (code: number | null, signal: NodeJS.Signals | null) => void);
      }) as RipgrepProcess['once'],
      kill: (signal) => child.kill(signal),
    };
  }
}
