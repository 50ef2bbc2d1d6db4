import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { ProcessGroup } from './process-group.js';
import { StreamCapture, type CapturedStream } from './stream-capture.js';

function ignore(): void {}

/**
 * How long the output pipes may stay open once the leader has exited. What it left in its
 * group is stopped then (TERM), and that closes the pipes at once; what still holds them past
 * this is out of the group's reach (a daemon that called `setsid`) or ignores the TERM until
 * the KILL. Waiting for it would keep the operation, and Node with it, alive until the daemon
 * ends (`setsid sleep 8 &` held a 1.4 s run's process for 8.4 s and its operation timed out
 * though bash exited 0): after this grace our ends of the pipes are destroyed, and what is
 * written to them later is lost (EPIPE for the writer).
 */
export const PIPE_GRACE_MS = 200;

/** Destroys our ends of a child's pipes, so that its 'close' comes and they keep nothing alive. */
function cutPipes(child: ChildProcess): void {
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    if (stream === null || stream.destroyed) continue;
    (stream as Socket).unref?.();
    stream.destroy();
  }
}

/** Everything needed to run one process, already checked. */
export interface ProcessSpec {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** Written to stdin, then closed; without it stdin is `/dev/null`. */
  stdin: Uint8Array | undefined;
  maxStdoutBytes: number;
  maxStderrBytes: number;
  killGraceMs: number;
  cleanup: boolean;
}

/** How a process ended. */
export interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: CapturedStream;
  stderr: CapturedStream;
  durationMs: number;
  /** True when the abort signal stopped it (then `signal` is usually SIGTERM or SIGKILL). */
  aborted: boolean;
}

/**
 * Runs a process in its own group to its end and says how it ended. Output past the caps is
 * read and dropped (never left in the pipe: a child writing to a full pipe would block
 * forever). When `signal` aborts, the group gets SIGTERM, then SIGKILL after the grace
 * period; the promise settles once the leader has exited and the pipes are closed, which is
 * when nothing holding them is left, or {@link PIPE_GRACE_MS} after the leader's exit, when
 * our ends of the pipes are cut: how the process ended is the leader's exit, whatever it left
 * running outside its group. Rejects only when the process could not be started (the `errno`
 * error: ENOENT, EACCES, ENOTDIR, EAGAIN).
 */
export function runProcess(spec: ProcessSpec, signal: AbortSignal): Promise<ProcessOutcome> {
  return new Promise<ProcessOutcome>((resolve, reject) => {
    const stdout = new StreamCapture(spec.maxStdoutBytes);
    const stderr = new StreamCapture(spec.maxStderrBytes);
    const started = performance.now();
    let group: ProcessGroup;
    try {
      group = ProcessGroup.spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, stdin: spec.stdin !== undefined, cleanup: spec.cleanup });
    } catch (error) {
      reject(error);
      return;
    }
    const child = group.child;
    let aborted = false;
    let failed = false;
    const onAbort = (): void => {
      aborted = true;
      group.stop(spec.killGraceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    // A pipe that fails (EIO) ends like a closed one: 'close' still comes, with what was read.
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk)).on('error', ignore);
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk)).on('error', ignore);
    if (spec.stdin !== undefined) {
      // A child that exits without reading its input closes the pipe: EPIPE is not our failure.
      child.stdin!.on('error', ignore);
      child.stdin!.end(spec.stdin);
    }
    child.on('error', (error) => {
      // After a successful spawn, 'error' can only come from a failed kill() (Windows), which
      // changes nothing about how the command ends.
      if (child.pid !== undefined) return;
      failed = true;
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    // The leader is gone; what it left in the group (background jobs) is stopped too, or it
    // would keep the pipes open and 'close' would never come. What the group's signals cannot
    // reach (a daemon in a session of its own) gets the pipes' grace, then loses them.
    let pipeTimer: NodeJS.Timeout | undefined;
    child.once('exit', () => {
      group.stop(spec.killGraceMs);
      // The cut waits for the check phase: a timer fires before the loop polls, and a loop
      // blocked past the grace would otherwise drop output the leader wrote before it exited,
      // still unread in the pipe; the poll in between reads it.
      pipeTimer = setTimeout(() => setImmediate(cutPipes, child), PIPE_GRACE_MS);
      pipeTimer.unref();
    });
    child.once('close', (code: number | null, exitSignal: NodeJS.Signals | null) => {
      clearTimeout(pipeTimer);
      if (failed) return;
      signal.removeEventListener('abort', onAbort);
      group.settled();
      resolve({ exitCode: code, signal: exitSignal, stdout, stderr, durationMs: performance.now() - started, aborted });
    });
  });
}
