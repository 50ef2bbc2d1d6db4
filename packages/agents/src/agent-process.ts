/**
 * One agent process, watched while it runs: spawned without a shell as the leader of its own
 * process group (so the test runners, language servers and shells it starts can be stopped
 * with it), its standard output read line by line through the preset's parser as it comes,
 * its standard error kept as a tail. It is stopped — the whole group, SIGTERM then SIGKILL
 * after a grace period — when the attempt is aborted (a timeout, a cancel, the budget) or when
 * it prints nothing for the idle timeout. A shorter silence after a line that reads like a
 * question ("Proceed? [y/N]") flags it as waiting for input.
 */
import { ProcessGroup, StreamCapture } from '@fanout/adapters/shell';
import { AgentsError } from './errors.js';
import { LineSplitter } from './lines.js';
import type { AgentEvent, AgentLaunch, AgentVerdict, ProcessExit, StreamParser } from './preset.js';

/** Text that reads like a question put to a person at a terminal. */
const ASKS = /\?\s*$|\[y\/n\]|\(y\/n\)|\[yes\/no\]|\(yes\/no\)|press (?:enter|return|any key)|\(y\)es|>\s*$/i;

/** Whether a line (or the unterminated end of the output) reads like a prompt for input. */
export function looksLikePrompt(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('{')) return false;
  return ASKS.test(trimmed);
}

/** Options of {@link runAgentProcess}. */
export interface AgentProcessOptions {
  launch: AgentLaunch;
  cwd: string;
  env: Record<string, string>;
  parser: StreamParser;
  /** Aborting it stops the process group. */
  signal: AbortSignal;
  /** Stop the group after this long without any output. */
  idleMs?: number | undefined;
  /** Flag the agent as waiting for input after this long without output following a question. */
  waitingMs?: number | undefined;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Longest line of standard output parsed (longer ones are dropped and counted). */
  maxLineBytes: number;
  /** Each event as it is parsed. */
  onEvent(event: AgentEvent): void;
  /** The agent seems to wait for input (`text` is what it asked); called once per silence. */
  onWaiting(text: string): void;
}

/** How an agent process ended. */
export interface AgentProcessResult {
  exit: ProcessExit;
  verdict: AgentVerdict;
  /** Stopped by the idle timeout. */
  idle: boolean;
  /** Stopped because the signal aborted. */
  aborted: boolean;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** The last few KiB of standard error. */
  stderrTail: string;
  /** Lines of standard output dropped for passing the line cap. */
  oversizedLines: number;
}

/** The program could not be started: not installed, not executable. */
function spawnFailure(error: unknown, file: string): AgentsError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  const what =
    code === 'ENOENT'
      ? `${JSON.stringify(file)} was not found (install it, put it on PATH, or give a --command template)`
      : code === 'EACCES'
        ? `${JSON.stringify(file)} is not executable`
        : `${JSON.stringify(file)} could not be started: ${(error as Error | undefined)?.message ?? String(error)}`;
  const transient = code === 'EAGAIN' || code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM';
  return new AgentsError('FANOUT_AGENT_SPAWN', `expected to start the agent program, but ${what}`, { cause: error, classification: { class: transient ? 'retryable' : 'fatal' } });
}

/**
 * Runs an agent to its end. Resolves with how it ended (the verdict is the parser's); rejects
 * only when it could not be started.
 */
export function runAgentProcess(options: AgentProcessOptions): Promise<AgentProcessResult> {
  return new Promise<AgentProcessResult>((resolve, reject) => {
    if (options.signal.aborted) {
      reject(options.signal.reason);
      return;
    }
    const started = performance.now();
    let group: ProcessGroup;
    try {
      group = ProcessGroup.spawn(options.launch.file, options.launch.args, { cwd: options.cwd, env: options.env, stdin: options.launch.stdin !== undefined, cleanup: true });
    } catch (error) {
      reject(spawnFailure(error, options.launch.file));
      return;
    }
    const child = group.child;
    const stderr = new StreamCapture(64 * 1024);
    let stdoutBytes = 0;
    let lastActivity = performance.now();
    let lastLine = '';
    let idle = false;
    let aborted = false;
    let flaggedWaiting = false;
    let failed = false;

    const splitter = new LineSplitter(options.maxLineBytes, (text) => {
      if (text.trim() !== '') lastLine = text;
      for (const event of options.parser.line(text)) options.onEvent(event);
    });

    const stop = (): void => group.stop(options.killGraceMs);
    const onAbort = (): void => {
      aborted = true;
      stop();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });

    // One timer for both watches, re-armed for whichever comes next: no timer per chunk.
    let timer: NodeJS.Timeout | undefined;
    let armed = false;
    const arm = (): void => {
      armed = false;
      const now = performance.now();
      const silence = now - lastActivity;
      let next = Infinity;
      if (options.idleMs !== undefined) {
        if (silence >= options.idleMs) {
          idle = true;
          stop();
          return;
        }
        next = options.idleMs - silence;
      }
      if (options.waitingMs !== undefined && !flaggedWaiting) {
        if (silence >= options.waitingMs) {
          const asked = splitter.partial.trim() !== '' ? splitter.partial : lastLine;
          if (looksLikePrompt(asked)) {
            flaggedWaiting = true;
            options.onWaiting(asked.trim());
          }
        } else {
          next = Math.min(next, options.waitingMs - silence);
        }
      }
      if (next === Infinity) return;
      armed = true;
      timer = setTimeout(arm, Math.max(1, next));
      timer.unref();
    };
    const activity = (): void => {
      lastActivity = performance.now();
      flaggedWaiting = false;
      // Nothing was left to watch (the waiting flag was raised and there is no idle timeout).
      if (!armed && !idle && options.waitingMs !== undefined) arm();
    };
    arm();

    child.stdout!.on('data', (chunk: Buffer) => {
      activity();
      stdoutBytes += chunk.length;
      splitter.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      activity();
      stderr.push(chunk);
    });
    child.stdout!.on('error', () => undefined);
    child.stderr!.on('error', () => undefined);
    if (options.launch.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // an agent that never reads its input closes the pipe
      child.stdin!.end(options.launch.stdin);
    }
    child.on('error', (error) => {
      if (child.pid !== undefined) return; // a failed kill, after a successful spawn: changes nothing
      failed = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      reject(spawnFailure(error, options.launch.file));
    });
    // The leader is gone: what it left in its group (a dev server, a watcher) goes too, or it
    // would hold the pipes open and the agent would never be seen to end.
    child.once('exit', stop);
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      if (failed) return;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      group.settled();
      splitter.end();
      const exit: ProcessExit = { exitCode: code, signal };
      resolve({
        exit,
        verdict: options.parser.finish(exit),
        idle,
        aborted,
        durationMs: performance.now() - started,
        stdoutBytes,
        stderrBytes: stderr.bytes,
        stderrTail: stderr.tail(),
        oversizedLines: splitter.oversized,
      });
    });
  });
}
