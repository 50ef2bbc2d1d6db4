/**
 * CPU time of this process and of the processes it started, for the scheduler's sequential
 * estimate (`CpuMeter`). `process.cpuUsage()` sees every thread of this process but no child:
 * a plan of `bash` commands that compute would look idle. On Linux the meter adds, from
 * `/proc`, the children already reaped (`cutime + cstime` of this process) and every live
 * descendant (`utime + stime + cutime + cstime`, found through each task's `children` file).
 * Elsewhere, or when `/proc` cannot be read, it is `process.cpuUsage()` alone. It also reads
 * how busy the whole machine was (`/proc/stat`): neighbours slow a run down too.
 *
 * The reading never goes down: a descendant that leaves the tree (a daemon re-parented to
 * init) takes its time with it, and the meter holds the highest value seen instead.
 *
 * Walking the live descendants is the costly part (a `stat` and a `children` file per thread of
 * every descendant: about 10 ms of CPU with 16 Node children on a loaded machine, all of it
 * blocking the event loop), so a reading walks only when the last walk is at least
 * {@link WALK_GAP_FACTOR} times as old as that walk took: on an idle machine a walk takes a
 * millisecond or two and every reading of the scheduler (at most one per 25 ms stretch) still
 * walks; under load the meter keeps to a tenth of the loop. In between, a reading is this
 * process's own time (`process.cpuUsage()`, always fresh) plus the descendants' time at the last
 * walk, or the time of the children reaped since, read from this process's own `stat`, when
 * that is more (a child reaped since the walk moved its time from "live" to "reaped": adding
 * both would count it twice).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { CpuMeter } from '@fanout/scheduler';
import { parseProcStat } from './sources/cpu.js';

/** Linux's USER_HZ: the unit of the times in `/proc/<pid>/stat` on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;
/** Deepest tree followed (a runaway fork chain must not make a reading slow). */
const MAX_DEPTH = 8;
/** Most processes read per reading. */
const MAX_PROCESSES = 512;
/** A walk of the descendants waits this many times as long as the last one took. */
const WALK_GAP_FACTOR = 10;
/** …but never longer than this, in milliseconds. */
const MAX_WALK_GAP_MS = 1000;

/** Options of {@link processTreeCpuMeter}. */
export interface ProcessTreeCpuOptions {
  /** Where procfs is mounted (tests point it at a fixture). @default "/proc" */
  procRoot?: string;
  /** This process's id. @default process.pid */
  pid?: number;
  /** @default os.availableParallelism() */
  cores?: number;
  /** This process's own CPU time in milliseconds. @default from process.cpuUsage() */
  selfMs?: () => number;
  /** Milliseconds, for the age of the last walk of the descendants (tests inject one). @default performance.now() */
  clock?: () => number;
}

/**
 * A `CpuMeter` that sees this process and every process it started.
 *
 * @example
 * const scheduler = createScheduler({ adapters, cpu: processTreeCpuMeter() });
 */
export function processTreeCpuMeter(options: ProcessTreeCpuOptions = {}): CpuMeter {
  const proc = options.procRoot ?? '/proc';
  const pid = options.pid ?? process.pid;
  const selfMs =
    options.selfMs ??
    (() => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    });
  const clock = options.clock ?? (() => performance.now());
  let usable = process.platform === 'linux' || options.procRoot !== undefined;
  let machineReadable = usable;
  let highest = 0;
  /** The last walk: when it ended, the gap it asks for, and the descendants' total (reaped and live) then. */
  let walkedAt = Number.NEGATIVE_INFINITY;
  let walkGap = 0;
  let walkedMs = 0;
  const descendants = (): number => {
    const start = clock();
    if (start - walkedAt < walkGap) {
      // Between walks: the reaped children are one read of our own stat.
      const self = statTimes(proc, pid);
      if (self === undefined) throw new Error(`cannot read ${proc}/${pid}/stat`);
      return Math.max(walkedMs, ticksToMs(self.reaped));
    }
    walkedMs = descendantsMs(proc, pid);
    walkedAt = clock();
    walkGap = Math.min(MAX_WALK_GAP_MS, WALK_GAP_FACTOR * (walkedAt - start));
    return walkedMs;
  };
  return {
    cores: options.cores ?? availableParallelism(),
    loopBusy: () => performance.eventLoopUtilization().active,
    machine: () => {
      if (machineReadable) {
        try {
          const times = parseProcStat(readFileSync(`${proc}/stat`, 'latin1'), `${proc}/stat`);
          return { busyMs: ((times.total - times.idle) * 1000) / TICKS_PER_SECOND, cores: times.cores };
        } catch {
          machineReadable = false;
        }
      }
      return { busyMs: 0, cores: Infinity };
    },
    now: () => {
      let total = selfMs();
      if (usable) {
        try {
          total += descendants();
        } catch {
          usable = false;
        }
      }
      if (total > highest) highest = total;
      return highest;
    },
  };
}

/** The buffer {@link readSmall} reads into, grown when a file does not fit. */
let scratch = Buffer.allocUnsafe(4096);

/**
 * A small file's text (latin1), read into one reused buffer: open, read until the end, close.
 * A walk reads a `stat` and a `children` file per thread of every descendant, about a hundred
 * with eight Node children, on the event loop; `readFileSync` adds an `fstat`, a buffer and a
 * copy per file, and took twice the CPU (24-46 µs against 12 µs a file, 178 files of `/proc`
 * read 30 times, load 8-14). Throws as `readFileSync` does when the file cannot be opened.
 */
function readSmall(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, length);
        scratch = bigger;
      }
      const read = readSync(fd, scratch, length, scratch.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return scratch.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reaped children of `pid` plus every live descendant, in milliseconds. */
function descendantsMs(proc: string, pid: number): number {
  const self = statTimes(proc, pid);
  if (self === undefined) throw new Error(`cannot read ${proc}/${pid}/stat`);
  let ticks = self.reaped;
  let budget = MAX_PROCESSES;
  const visit = (parent: number, threads: number, depth: number): void => {
    for (const child of childrenOf(proc, parent, threads)) {
      if (budget-- <= 0) return;
      const times = statTimes(proc, child);
      if (times === undefined) continue; // gone between the two reads
      ticks += times.own + times.reaped;
      if (depth < MAX_DEPTH) visit(child, times.threads, depth + 1);
    }
  };
  visit(pid, self.threads, 1);
  return ticksToMs(ticks);
}

function ticksToMs(ticks: number): number {
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/**
 * Children of every thread of `pid` (a process forks from whichever thread calls `fork`). A
 * process of one thread (a shell, git) has one `children` file, at a known path: no listing.
 */
function childrenOf(proc: string, pid: number, threads: number): number[] {
  let tasks: string[];
  if (threads === 1) tasks = [String(pid)];
  else {
    try {
      tasks = readdirSync(`${proc}/${pid}/task`);
    } catch {
      return [];
    }
  }
  const children: number[] = [];
  for (const task of tasks) {
    let text: string;
    try {
      text = readSmall(`${proc}/${pid}/task/${task}/children`);
    } catch {
      continue;
    }
    for (const field of text.split(' ')) {
      const child = Number(field);
      if (field !== '' && Number.isInteger(child) && child > 0) children.push(child);
    }
  }
  return children;
}

/** `utime + stime` (own) and `cutime + cstime` (reaped children) of a process, in ticks. */
export function parseStatTimes(text: string): { own: number; reaped: number } | undefined {
  const times = parseStat(text);
  return times === undefined ? undefined : { own: times.own, reaped: times.reaped };
}

/** {@link parseStatTimes} and the number of threads (0 when the line does not say). */
function parseStat(text: string): { own: number; reaped: number; threads: number } | undefined {
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, so fields[11]; num_threads is field 20.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const cutime = Number(fields[13]);
  const cstime = Number(fields[14]);
  if (![utime, stime, cutime, cstime].every(Number.isFinite)) return undefined;
  const threads = Number(fields[17]);
  return { own: utime + stime, reaped: cutime + cstime, threads: Number.isInteger(threads) && threads > 0 ? threads : 0 };
}

function statTimes(proc: string, pid: number): { own: number; reaped: number; threads: number } | undefined {
  let text: string;
  try {
    text = readSmall(`${proc}/${pid}/stat`);
  } catch {
    return undefined;
  }
  return parseStat(text);
}
