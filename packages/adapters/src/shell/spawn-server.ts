import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdapterError } from '../errors.js';
import { OutputFile } from './output-file.js';
import { GroupStopper } from './process-group.js';
import { runProcess, type ProcessOutcome, type ProcessSpec } from './run-process.js';
import { StreamCapture } from './stream-capture.js';
import { encodeRequest, endOf, exportable, WORKER_TOO_OLD } from './spawn-protocol.js';
import { SpawnWorker, type WorkerEnd, type WorkerJob } from './spawn-worker.js';

const POSIX = process.platform !== 'win32';

/** Answers of {@link exportable}, by name: environments repeat their names from job to job. */
const exportableNames = new Map<string, boolean>();

function canExport(name: string): boolean {
  let answer = exportableNames.get(name);
  if (answer === undefined) {
    answer = exportable(name);
    if (exportableNames.size < 10_000) exportableNames.set(name, answer);
  }
  return answer;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Never created (the job failed first), or already gone.
  }
}

/** What a job's environment means to a worker: derived once per environment object. */
interface EnvironmentPlan {
  /** A worker can give every variable exactly as given (see {@link exportable}). */
  exportable: boolean;
  /** `NAME=value` for every variable but `_`. */
  pairs: string[];
  /** The pairs, NUL-joined: a worker that ran a job with the same key keeps them (`'same'`). */
  key: string;
  /** The value of `_`, if the environment has one. */
  underscore: string | undefined;
}

/**
 * Plans by environment object: jobs of one adapter without variables of their own share one
 * frozen environment (bash-adapter.ts), which is then read once rather than once per job.
 */
const environmentPlans = new WeakMap<object, EnvironmentPlan>();

function planEnvironment(env: Readonly<Record<string, string>>): EnvironmentPlan {
  let plan = environmentPlans.get(env);
  if (plan !== undefined) return plan;
  const pairs: string[] = [];
  let underscore: string | undefined;
  let ok = true;
  for (const name in env) {
    if (name === '_') underscore = env[name];
    else {
      ok &&= canExport(name);
      pairs.push(`${name}=${env[name]}`);
    }
  }
  plan = { exportable: ok, pairs, key: pairs.join('\0'), underscore };
  if (Object.isFrozen(env)) environmentPlans.set(env, plan);
  return plan;
}

/** Directories of live servers, removed when Node exits if nobody closed their server. */
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes `dir` at Node's exit, unless the returned function removes it first. */
function keepUntilExit(dir: string): () => void {
  liveDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const each of liveDirs) removeDir(each);
    });
  }
  return () => {
    liveDirs.delete(dir);
    removeDir(dir);
  };
}

/** The outcome of a job stopped before it started: nothing ran, nothing was written. */
function notRun(started: number): ProcessOutcome {
  return { exitCode: null, signal: null, stdout: new StreamCapture(0), stderr: new StreamCapture(0), durationMs: performance.now() - started, aborted: true };
}

function describeEnd(end: WorkerEnd): string {
  if (end.error !== undefined) return `failed (${end.error.message})`;
  return end.signal !== null ? `was killed by ${end.signal}` : `exited with ${end.code}`;
}

/**
 * The spawn server ("zygote") of the `bash` adapter in `spawner: 'server'` mode: a pool of
 * small bash workers (spawn-worker.ts) that fork the jobs, so that Node never forks its own
 * large process per command. The scheduler keeps the concurrency: a job takes an idle worker
 * or spawns one, so there are as many workers as jobs ever ran at once, each forking one job
 * at a time; the fork of a 4 MB bash costs a fraction of the fork of a 60 MB Node.
 *
 * The results are those of {@link runProcess} (same environment, cwd, caps, truncation, UTF-8
 * cutting, exit codes and signals, process groups, TERM-then-KILL escalation), with these
 * differences, owed to the job's output going to private files rather than pipes:
 *
 * - the output files live in a 0700 directory under `os.tmpdir()` until the job ends (a job
 *   that writes 10 GB needs 10 GB there; GNU parallel buffers the same way);
 * - a job is over when its leader exits: what it left running in its group gets SIGTERM at
 *   once and SIGKILL after the grace period, as in direct mode, but the result does not wait
 *   for them, and what they write after the leader's exit is not kept;
 * - and, owed to bash: the environment has the same variables in another order, and the job
 *   leads a process group in its worker's session rather than a session of its own.
 *
 * Jobs it cannot run exactly as a direct spawn would go to {@link runProcess}: an environment
 * variable bash cannot export as given (see {@link exportable}), `_` with a program whose name
 * holds `=`, and everything once bash turned out to be missing or older than 5.1.
 */
export class SpawnServer {
  #dir: string | undefined;
  #removeDir: (() => void) | undefined;
  #workers = new Set<SpawnWorker>();
  #idle: SpawnWorker[] = [];
  /** Jobs waiting for a worker, first come first served. */
  #waiting: WaitingJob[] = [];
  #spawnScheduled = false;
  /** Waiting jobs that workers took on ending their own since the last look (see `#assign`). */
  #handedOver = 0;
  #unavailable = !POSIX;
  #hasEnvProgram: boolean | undefined;
  #nextId = 0;

  /** Runs a process as {@link runProcess} does, forked by a worker when it can be. */
  run(spec: ProcessSpec, signal: AbortSignal): Promise<ProcessOutcome> {
    if (this.#unavailable || !this.#eligible(spec)) return runProcess(spec, signal);
    let dir: string;
    try {
      dir = this.#directory();
    } catch {
      // No private directory (a TMPDIR that does not exist, a full disk): spawn directly.
      return runProcess(spec, signal);
    }
    const id = ++this.#nextId;
    const base = join(dir, String(id));
    if (spec.stdin !== undefined) {
      try {
        writeFileSync(`${base}.i`, spec.stdin, { mode: 0o600 });
      } catch {
        // The directory is gone or full: this job is spawned directly, and a lost directory
        // made again for the next.
        this.#restoreDirectory(dir);
        return runProcess(spec, signal);
      }
    }
    const environment = planEnvironment(spec.env);
    return new Promise<ProcessOutcome>((resolve, reject) => {
      const graceMs = spec.killGraceMs;
      const started = performance.now();
      let worker: SpawnWorker | undefined;
      let group: GroupStopper | undefined;
      let aborted = false;
      let closed = false;
      const onAbort = (): void => {
        aborted = true;
        if (worker === undefined) {
          // Still waiting for a worker: nothing ran, nothing will.
          this.#unqueue(waiting);
          clean();
          resolve(notRun(started));
        } else group?.stop(graceMs);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const clean = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (spec.stdin !== undefined) unlinkQuietly(`${base}.i`);
      };
      /** For a job whose output will never be read: its files go too. */
      const discard = (): void => {
        clean();
        for (const suffix of ['.o', '.e', '.f']) unlinkQuietly(`${base}${suffix}`);
      };
      /** Nothing ran: the job is spawned directly, unless it was stopped meanwhile. */
      const direct = (): void => {
        if (signal.aborted || closed) resolve(notRun(started));
        else runProcess(spec, signal).then(resolve, reject);
      };
      const job: ClosableJob = {
        started(pid) {
          group = new GroupStopper(pid, spec.cleanup);
          if (aborted || closed) group.stop(graceMs);
        },
        ended: (status, exited, leftovers, written) => {
          clean();
          this.#release(worker!);
          // The leader is gone; what it left in its group is stopped too (see runProcess). The
          // worker said whether anything is left, which spares a signal to an empty group.
          if (leftovers || group?.stopping === true) {
            group?.stop(graceMs);
            group?.settled();
          } else {
            group?.release();
          }
          // An empty file is only removed; what the job left running may still write, though.
          const stdout = OutputFile.take(`${base}.o`, spec.maxStdoutBytes, written.stdout || leftovers);
          const stderr = OutputFile.take(`${base}.e`, spec.maxStderrBytes, written.stderr || leftovers);
          if (closed && !aborted) {
            reject(new AdapterError('FANOUT_ABORTED', `stopped ${JSON.stringify([spec.file, ...spec.args])} and its process group: the bash adapter was closed while it ran`));
            return;
          }
          resolve({ ...endOf(status, exited), stdout, stderr, durationMs: performance.now() - started, aborted });
        },
        notStarted: () => {
          discard();
          this.#release(worker!);
          this.#restoreDirectory(dir);
          // Nothing ran (see WORKER_SCRIPT): a direct spawn fails as it would have failed
          // (ENOENT, EACCES…), or runs the job when only the worker's files were missing.
          direct();
        },
        lost: (end, forked) => {
          if (!forked && (end.error !== undefined || end.code === WORKER_TOO_OLD)) {
            // Nothing ran: the worker could not be spawned, or found its bash too old (then
            // this server spawns everything directly from now on, see #spawn).
            clean();
            direct();
            return;
          }
          discard();
          // Nobody is left to report the job's end: stop its group rather than leave it unwatched.
          group?.stop(graceMs);
          const what = `${JSON.stringify([spec.file, ...spec.args])}${group === undefined ? '' : ` (process group ${group.pgid}, now stopped)`}`;
          reject(
            new AdapterError(
              'FANOUT_PROCESS_SPAWN',
              `expected the spawn server's bash worker (pid ${worker?.pid}) to report the end of ${what}, but the worker ${describeEnd(end)} first; the next command starts a new worker`,
              {
                classification: { class: 'retryable' },
              },
            ),
          );
        },
        close() {
          closed = true;
          group?.stop(graceMs);
        },
      };
      const waiting: WaitingJob = {
        begin: (chosen) => {
          worker = chosen;
          const same = chosen.lastEnv === environment.key;
          chosen.lastEnv = environment.key;
          chosen.run(encodeRequest({ id, cwd: spec.cwd, argv: [spec.file, ...spec.args], env: same ? 'same' : environment.pairs, stdin: spec.stdin !== undefined, underscore: environment.underscore }), job);
        },
        direct: () => {
          clean();
          direct();
        },
        close: () => {
          closed = true;
          clean();
          reject(new AdapterError('FANOUT_ABORTED', `never started ${JSON.stringify([spec.file, ...spec.args])}: the bash adapter was closed while it waited for a worker`));
        },
      };
      this.#assign(dir, waiting);
    });
  }

  /**
   * Stops the pool: the process groups of running jobs get SIGTERM, then SIGKILL after the
   * grace period (their runs fail with `FANOUT_ABORTED`), the workers exit, and the private
   * directory is removed. A later run starts a new pool.
   */
  async close(): Promise<void> {
    const workers = [...this.#workers];
    const removeDir = this.#removeDir;
    this.#workers = new Set();
    this.#idle = [];
    for (const job of this.#waiting.splice(0)) job.close();
    this.#dir = undefined;
    this.#removeDir = undefined;
    for (const worker of workers) {
      (worker.job as ClosableJob | undefined)?.close();
      worker.end();
    }
    await Promise.all(workers.map((worker) => worker.ended));
    removeDir?.();
  }

  /** Whether a worker can start the job exactly as a direct spawn would. */
  #eligible(spec: ProcessSpec): boolean {
    const environment = planEnvironment(spec.env);
    if (!environment.exportable) return false;
    const underscore = environment.underscore !== undefined;
    if (underscore) {
      this.#hasEnvProgram ??= existsSync('/usr/bin/env');
      if (!this.#hasEnvProgram) return false;
    }
    // `_` and relative paths go through /usr/bin/env (see WORKER_SCRIPT), which would take a
    // program named `a=b` for one more variable.
    return !spec.file.includes('=') || (spec.file.startsWith('/') && !underscore);
  }

  /**
   * Should the private directory have gone away under the workers (a temporary-file cleaner),
   * makes it again where they expect it, or, should that path be taken meanwhile, spawns
   * directly from now on rather than trust a directory it did not make.
   */
  #restoreDirectory(dir: string): void {
    if (dir !== this.#dir || existsSync(dir)) return;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch {
      this.#unavailable = true;
    }
  }

  /** The private directory of the job files: made on first use, removed by close() or at exit. */
  #directory(): string {
    if (this.#dir !== undefined) return this.#dir;
    // Absolute: the workers open the job files after changing to the job's cwd.
    const dir = mkdtempSync(join(resolve(tmpdir()), 'fanout-spawn-'));
    this.#dir = dir;
    this.#removeDir = keepUntilExit(dir);
    return dir;
  }

  #spawn(dir: string): SpawnWorker {
    const worker = new SpawnWorker('bash', dir, process.env.PATH, (ended, end) => {
      this.#workers.delete(ended);
      const at = this.#idle.indexOf(ended);
      if (at !== -1) this.#idle.splice(at, 1);
      if (end.error?.code === 'ENOENT' || end.code === WORKER_TOO_OLD) this.#unavailable = true;
    });
    this.#workers.add(worker);
    return worker;
  }

  /**
   * Gives a job a worker: an idle one, or, for the first job, a new one. Otherwise the job
   * waits (first come, first served) for a worker that ends its job, and while jobs wait, a
   * worker is added per turn of the event loop in which no worker took a waiting job: Node's
   * spawn blocks its thread until the child has exec'd (~5 ms on 2 busy cores), and short jobs
   * keep a few workers busy enough. Jobs that run long get a worker each all the same, a turn
   * apart, as they would all at once.
   */
  #assign(dir: string, job: WaitingJob): void {
    const idle = this.#idle.pop();
    if (idle !== undefined) job.begin(idle);
    else if (this.#workers.size === 0) job.begin(this.#spawn(dir));
    else {
      this.#waiting.push(job);
      this.#scheduleSpawn();
    }
  }

  #scheduleSpawn(): void {
    if (this.#spawnScheduled) return;
    this.#spawnScheduled = true;
    setImmediate(() => {
      this.#spawnScheduled = false;
      if (this.#waiting.length === 0) return;
      if (this.#unavailable || this.#dir === undefined) {
        // bash is missing or too old (found out meanwhile): everything is spawned directly.
        for (const job of this.#waiting.splice(0)) job.direct();
        return;
      }
      if (this.#handedOver > 0) {
        // Workers took waiting jobs since the last look: the pool keeps up for now.
        this.#handedOver = 0;
        this.#scheduleSpawn();
        return;
      }
      this.#waiting.shift()!.begin(this.#spawn(this.#dir));
      if (this.#waiting.length > 0) this.#scheduleSpawn();
    });
  }

  #unqueue(job: WaitingJob): void {
    const at = this.#waiting.indexOf(job);
    if (at !== -1) this.#waiting.splice(at, 1);
  }

  #release(worker: SpawnWorker): void {
    if (!this.#workers.has(worker)) return;
    const next = this.#waiting.shift();
    if (next === undefined) this.#idle.push(worker);
    else {
      this.#handedOver++;
      next.begin(worker);
    }
  }
}

/** A job waiting for a worker (see `#assign`). */
interface WaitingJob {
  /** Starts the job on `worker`. */
  begin(worker: SpawnWorker): void;
  /** Spawns the job directly: the workers turned out to be unavailable. */
  direct(): void;
  /** The server was closed first: the job never ran, and fails with `FANOUT_ABORTED`. */
  close(): void;
}

/** A job that close() can stop (see {@link SpawnServer.close}). */
interface ClosableJob extends WorkerJob {
  close(): void;
}
