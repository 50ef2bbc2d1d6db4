import { spawn, type ChildProcess } from 'node:child_process';

const POSIX = process.platform !== 'win32';

/** Groups that may still have members, stopped with SIGKILL when Node exits (`cleanup`). */
const live = new Set<number>();
let exitHookInstalled = false;

/**
 * Sends `signal` to every process of group `pgid`. False when the group has no member left
 * (ESRCH) or is not ours to signal any more (EPERM: the id was reused by someone else's group).
 */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops every group still alive, at once and with SIGKILL: an `exit` handler cannot wait for
 * a grace period. Node runs it on a normal exit and on `process.exit()`; a signal that kills
 * Node without a handler skips it (the embedder's Ctrl-C handler should cancel the run, which
 * stops the groups properly).
 */
export function killLiveGroups(): void {
  for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  live.clear();
}

/** Options of {@link ProcessGroup.spawn}. */
export interface GroupSpawnOptions {
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** Open a pipe for stdin (else the child reads `/dev/null`). */
  stdin: boolean;
  /** Stop the group with SIGKILL if Node exits while it is alive. */
  cleanup: boolean;
}

/** Registers `pgid` for the exit hook (`cleanup`), installing the hook on first use. */
function track(pgid: number): void {
  live.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killLiveGroups);
  }
}

/**
 * Stops a process group, whoever started its leader: SIGTERM to all of it, SIGKILL to what is
 * left after a grace period. {@link ProcessGroup} uses it for the children Node spawns, the
 * spawn server (`spawn-server.ts`) for the jobs its bash workers fork.
 */
export class GroupStopper {
  /** The group's id: its leader's pid. */
  readonly pgid: number;
  #killTimer: NodeJS.Timeout | undefined;

  /** With `cleanup`, the group is SIGKILLed if Node exits while it may still have members. */
  constructor(pgid: number, cleanup: boolean) {
    this.pgid = pgid;
    if (cleanup) track(pgid);
  }

  /** Whether a stop was asked for (and a KILL may still be pending). */
  get stopping(): boolean {
    return this.#killTimer !== undefined;
  }

  /**
   * SIGTERM to the whole group now, SIGKILL to whatever is left after `graceMs`. Idempotent.
   * Returns false when the group had no member left (nothing to stop).
   */
  stop(graceMs: number): boolean {
    if (this.#killTimer !== undefined) return true;
    const pgid = this.pgid;
    if (!signalGroup(pgid, 'SIGTERM')) {
      // Nobody left: the common end of a command that ran to completion.
      live.delete(pgid);
      return false;
    }
    // Unref'd: it must not keep Node alive; if Node exits first, the exit hook sends the KILL.
    this.#killTimer = setTimeout(() => {
      signalGroup(pgid, 'SIGKILL');
      live.delete(pgid);
    }, graceMs);
    this.#killTimer.unref();
    return true;
  }

  /** Forgets the group, known to be empty (its leader gone and nothing left in it). */
  release(): void {
    if (this.#killTimer === undefined) live.delete(this.pgid);
  }

  /**
   * Called once the leader is gone: if the group is empty by now (everything honoured the
   * TERM), the pending KILL is dropped, so that it cannot reach a new group that reused the id
   * during the grace period.
   */
  settled(): void {
    if (this.#killTimer === undefined || signalGroup(this.pgid, 0)) return;
    clearTimeout(this.#killTimer);
    live.delete(this.pgid);
  }
}

/**
 * A child process leading its own process group (`detached: true` makes it call `setsid`),
 * so that everything it starts — a pipeline, `make -j`, a test runner's workers — can be
 * stopped together by signalling `-pgid`. execa and `child_process` kill only the direct
 * child: grandchildren survive a plain timeout, and those that ignore SIGTERM survive a
 * TERM to the group too, hence KILL after a grace period (ANCHORS.md, "Safety lessons").
 *
 * A process that starts a new session of its own (`setsid`, a daemon) leaves the group and
 * is out of reach: this is process hygiene, not a sandbox.
 */
export class ProcessGroup {
  readonly child: ChildProcess;
  /** Undefined when the spawn failed, or on Windows. */
  readonly #group: GroupStopper | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  private constructor(child: ChildProcess, group: GroupStopper | undefined) {
    this.child = child;
    this.#group = group;
  }

  /** Spawns `file` with `args` (no shell) as the leader of a new process group. Throws on a synchronous spawn failure (ENOTDIR). */
  static spawn(file: string, args: readonly string[], options: GroupSpawnOptions): ProcessGroup {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: POSIX,
      stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const pgid = POSIX ? child.pid : undefined;
    return new ProcessGroup(child, pgid === undefined ? undefined : new GroupStopper(pgid, options.cleanup));
  }

  /**
   * Stops the group: SIGTERM to all of it now, SIGKILL to whatever is left after `graceMs`.
   * Called on abort, and when the leader exits (to stop what it left running in the
   * background, which would otherwise hold the output pipes open). Idempotent.
   */
  stop(graceMs: number): void {
    if (this.#group !== undefined) {
      this.#group.stop(graceMs);
      return;
    }
    if (this.#killTimer !== undefined) return;
    // Windows has no process groups in Node's API: only the direct child can be reached.
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }, graceMs);
    this.#killTimer.unref();
  }

  /** Called once the leader has exited and its pipes are closed (see {@link GroupStopper.settled}). */
  settled(): void {
    this.#group?.settled();
  }
}
