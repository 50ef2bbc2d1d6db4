import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { parseJobsLine, WORKER_SCRIPT } from './spawn-protocol.js';

/** What a worker tells about the job it runs (see the protocol in spawn-protocol.ts). */
export interface WorkerJob {
  /** The job was forked; `pid` leads its own process group. */
  started(pid: number): void;
  /**
   * The job ended with `$?` = `status`; `exited` is what `jobs -l` said, if it said anything
   * (read only for a status above 128, the one case where it matters: see endOf);
   * `leftovers` whether its process group still has members; `written` which of its output
   * files were not empty when it ended.
   */
  ended(status: number, exited: boolean | undefined, leftovers: boolean, written: { stdout: boolean; stderr: boolean }): void;
  /** The job could not be started: nothing ran. */
  notStarted(): void;
  /** The worker ended before the job did (killed, crashed); `started` says whether the job had been forked. */
  lost(end: WorkerEnd, started: boolean): void;
}

/** How a worker process ended. */
export interface WorkerEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it could not even be spawned (ENOENT: no bash on PATH). */
  error: NodeJS.ErrnoException | undefined;
}

function ignore(): void {}

/** A child's stdio pipes are sockets, which can be unref'd like any handle (the typings say streams). */
function socket(stream: Readable | Writable | null): Socket {
  return stream as Socket;
}

/**
 * One bash worker of the spawn server: a small, long-lived `bash` process that forks the jobs
 * Node sends it, one at a time, and reports their pids and ends. It never keeps Node alive on
 * its own: its process handle is unref'd, and its stdout is ref'd only while a job runs.
 */
export class SpawnWorker {
  readonly #child: ChildProcess;
  #job: WorkerJob | undefined;
  #pid: number | undefined;
  /** The last `jobs -l` line of the running job. */
  #said: string | undefined;
  #pending = '';
  /** end() was called: the worker keeps Node alive until it is gone. */
  #ending = false;
  #error: NodeJS.ErrnoException | undefined;
  /** Settles once the process is gone and every line it wrote was handled. */
  readonly ended: Promise<WorkerEnd>;

  /**
   * Spawns `bash` (found on `path`) with an environment of PATH and LC_ALL=C alone: the worker
   * unexports both, and byte offsets need the C locale. When it ends, a job it was running
   * hears of it through {@link WorkerJob.lost}, then `onEnd` is called, once.
   */
  constructor(bash: string, dir: string, path: string | undefined, onEnd: (worker: SpawnWorker, end: WorkerEnd) => void) {
    const env: Record<string, string> = { LC_ALL: 'C' };
    if (path !== undefined) env.PATH = path;
    this.#child = spawn(bash, ['--noprofile', '--norc', '-c', WORKER_SCRIPT, 'fanout-spawn-worker', dir], {
      env,
      // Its own session: a Ctrl-C at the terminal reaches neither the worker nor its jobs
      // (they are stopped through their groups), as with a direct spawn.
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
      windowsHide: true,
    });
    const child = this.#child;
    child.unref();
    child.stdin!.on('error', ignore);
    socket(child.stdin).unref();
    const stdout = child.stdout!;
    stdout.setEncoding('latin1');
    stdout.on('data', (chunk: string) => this.#read(chunk)).on('error', ignore);
    socket(stdout).unref();
    child.once('error', (error: NodeJS.ErrnoException) => {
      this.#error = error;
    });
    this.ended = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        const end: WorkerEnd = { code, signal, error: this.#error };
        const job = this.#job;
        this.#job = undefined;
        job?.lost(end, this.#pid !== undefined);
        onEnd(this, end);
        resolve(end);
      });
    });
  }

  /** The worker's pid (undefined if it could not be spawned). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * The environment its last request carried, NUL-joined, which it keeps for the next job
   * (see `'same'` in {@link JobRequest}); undefined before its first.
   */
  lastEnv: string | undefined;

  /** The job it runs now, if any. */
  get job(): WorkerJob | undefined {
    return this.#job;
  }

  /** Hands the worker a job (it must be idle). */
  run(request: Buffer, job: WorkerJob): void {
    this.#job = job;
    this.#pid = undefined;
    this.#said = undefined;
    // While it runs a job, the worker keeps Node alive, through its output and its exit both:
    // should it die, its end must be heard even if its stdout closes first.
    this.#child.ref();
    socket(this.#child.stdout).ref();
    this.#child.stdin!.write(request);
  }

  /**
   * Lets the worker exit once it is idle (end of its input). From now on the worker keeps
   * Node alive until it is gone, so that whoever awaits {@link ended} is not left hanging by
   * an empty event loop.
   */
  end(): void {
    this.#ending = true;
    this.#child.ref();
    socket(this.#child.stdout).ref();
    this.#child.stdin!.end();
  }

  #read(chunk: string): void {
    let text = this.#pending + chunk;
    let newline: number;
    while ((newline = text.indexOf('\n')) !== -1) {
      this.#line(text.slice(0, newline));
      text = text.slice(newline + 1);
    }
    this.#pending = text;
  }

  #line(line: string): void {
    const job = this.#job;
    if (job === undefined) return;
    switch (line[0]) {
      case 'S':
        this.#pid = Number(line.slice(2));
        job.started(this.#pid);
        return;
      case '[':
        // Printed by the CHLD trap when the job ends: before X, and even before S when the
        // job ended before the worker printed its pid. Kept as it is: it matters only for a
        // status above 128 (see endOf), and most jobs end with less.
        this.#said = line;
        return;
      case 'X':
      case 'F': {
        const said = this.#said;
        this.#job = undefined;
        if (!this.#ending) {
          this.#child.unref();
          socket(this.#child.stdout).unref();
        }
        if (line[0] === 'F') {
          job.notStarted();
          return;
        }
        const status = Number.parseInt(line.slice(2), 10);
        const jobs = status > 128 && said !== undefined ? parseJobsLine(said) : undefined;
        const flags = line.slice(line.indexOf(' ', 2) + 1);
        job.ended(status, jobs !== undefined && jobs.pid === this.#pid ? jobs.exited : undefined, flags.includes('+'), { stdout: flags.includes('o'), stderr: flags.includes('e') });
        return;
      }
      default:
      // Nothing else is written to stdout; a stray line is ignored rather than trusted.
    }
  }
}
