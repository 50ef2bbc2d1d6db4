import { readdirSync, readFileSync } from 'node:fs';

/** Linux only: the checks read /proc. */
export const onLinux = process.platform === 'linux';

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` still runs: `process.kill(pid, 0)` first, then its state, because a zombie
 * answers kill(pid, 0) too. Zombies matter here: in this machine's containers PID 1 does not
 * reap orphans, so a killed grandchild stays a zombie (state Z) forever, dead but listed.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z';
}

/** The process group of a running process, from /proc (field 5 of stat). */
export function groupOf(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[2]);
}

/**
 * Running processes whose environment holds `FANOUT_TEST_MARK=<marker>`: everything a test's
 * command started, whatever group or session it moved to.
 */
export function markedProcesses(marker: string): number[] {
  const needle = Buffer.from(`FANOUT_TEST_MARK=${marker}\0`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue;
    }
    if (environ.includes(needle) && isRunning(pid)) found.push(pid);
  }
  return found;
}

const markers: string[] = [];
/** A marker unique to this test process and call; {@link killMarked} ends what carries it. */
export function newMarker(): string {
  const marker = `${process.pid}-${markers.length + 1}-${Math.random().toString(36).slice(2)}`;
  markers.push(marker);
  return marker;
}

/**
 * SIGKILLs every process still carrying a marker of this file: after a failed test, nothing
 * it started may outlive it (a leftover child holding a pipe would keep the worker alive).
 * Returns how many it found, which is 0 when the code under test did its job.
 */
export function killMarked(): number {
  let found = 0;
  for (const marker of markers.splice(0)) {
    for (const pid of markedProcesses(marker)) {
      found++;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone in the meantime.
      }
    }
  }
  return found;
}

export { attemptContext, eventually } from '../../src/testing/index.js';

/** The spawners of the bash adapter: every behaviour is checked against both. */
export const SPAWNERS = ['direct', 'server'] as const;
export type Spawner = (typeof SPAWNERS)[number];

/** The parent of a running process, from /proc (field 4 of stat). */
export function parentOf(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[1]);
}

/** The state of a process from /proc ("R", "S", "T" for stopped, "Z"…), undefined when it is gone. */
export function stateOf(pid: number): string | undefined {
  return statFields(pid)?.[0];
}
