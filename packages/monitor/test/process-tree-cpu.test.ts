import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStatTimes, processTreeCpuMeter } from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface FakeProcess {
  own: number;
  reaped: number;
  /** Children of the main thread. */
  children?: number[];
  /** Other threads (thread id: its children). */
  threads?: Record<number, number[]>;
  name?: string;
}

/** A fake procfs: `tree` maps a pid to its stat times, children and threads. */
async function fakeProc(tree: Record<number, FakeProcess>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fanout-proc-'));
  dirs.push(root);
  for (const [pid, entry] of Object.entries(tree)) await writeProcess(root, Number(pid), entry);
  return root;
}

async function writeProcess(root: string, pid: number, entry: FakeProcess): Promise<void> {
  const tasks: [number, number[]][] = [[pid, entry.children ?? []], ...Object.entries(entry.threads ?? {}).map(([tid, children]): [number, number[]] => [Number(tid), children])];
  // Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads
  const name = entry.name ?? 'sh';
  await mkdir(join(root, String(pid)), { recursive: true });
  await writeFile(join(root, String(pid), 'stat'), `${pid} (${name}) S 1 1 1 0 -1 0 0 0 0 0 ${entry.own} 0 ${entry.reaped} 0 20 0 ${tasks.length} 0 0\n`);
  for (const [tid, children] of tasks) {
    await mkdir(join(root, String(pid), 'task', String(tid)), { recursive: true });
    await writeFile(join(root, String(pid), 'task', String(tid), 'children'), children.map((c) => `${c} `).join(''));
  }
}

/** A clock the test moves; `during` is added by each reading of it (the time a walk takes). */
function manualClock(): { now: () => number; at: number; during: number } {
  const clock = {
    at: 0,
    during: 0,
    now: () => {
      const time = clock.at;
      clock.at += clock.during;
      return time;
    },
  };
  return clock;
}

describe('processTreeCpuMeter', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    expect(parseStatTimes('42 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 20 5 20 0 1 0')).toEqual({ own: 10, reaped: 25 });
    expect(parseStatTimes('garbage')).toBeUndefined();
  });

  it('adds reaped children and every live descendant to the process itself', async () => {
    const proc = await fakeProc({
      100: { own: 50, reaped: 30, children: [101, 102] },
      101: { own: 10, reaped: 5, children: [103] },
      102: { own: 20, reaped: 0 },
      103: { own: 40, reaped: 0 },
    });
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => 1000, cores: 2 });
    // Ticks are hundredths of a second: 30 reaped + (10 + 5) + 20 + 40 = 105 ticks = 1,050 ms.
    expect(meter.now()).toBe(1000 + 1050);
    expect(meter.cores).toBe(2);
  });

  it('reads how busy the whole machine has been', async () => {
    const proc = await fakeProc({ 100: { own: 0, reaped: 0 } });
    // user nice system idle iowait irq softirq steal: busy = 300 + 100 + 50 = 450 ticks.
    await writeFile(join(proc, 'stat'), 'cpu  300 0 100 900 20 0 50 0 0 0\ncpu0 150 0 50 450 10 0 25 0 0 0\ncpu1 150 0 50 450 10 0 25 0 0 0\n');
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => 0 });
    expect(meter.machine?.()).toEqual({ busyMs: 4500, cores: 2 });
  });

  it('never goes down when a descendant leaves the tree', async () => {
    const proc = await fakeProc({ 100: { own: 0, reaped: 0, children: [101] }, 101: { own: 100, reaped: 0 } });
    let self = 0;
    // A clock that stands still: every reading walks the tree.
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => self, clock: () => 0 });
    expect(meter.now()).toBe(1000);
    await writeFile(join(proc, '100', 'task', '100', 'children'), '');
    self = 10;
    expect(meter.now()).toBe(1000);
  });

  it('finds the children of every thread of a process of several threads', async () => {
    const proc = await fakeProc({
      100: { own: 0, reaped: 0, children: [101], threads: { 200: [102], 201: [] } },
      101: { own: 10, reaped: 0 },
      102: { own: 20, reaped: 0, threads: { 300: [103] } },
      103: { own: 40, reaped: 0 },
    });
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => 0 });
    // 10 + 20 + 40 ticks: 101 from the main thread, 102 from thread 200, 103 from 102's thread 300.
    expect(meter.now()).toBe(700);
  });

  it('walks the descendants again only once the last walk is ten times as old as it took', async () => {
    const proc = await fakeProc({ 100: { own: 0, reaped: 0, children: [101] }, 101: { own: 100, reaped: 0 } });
    const clock = manualClock();
    let self = 0;
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => self, clock: clock.now });
    clock.during = 2; // each walk takes 2 ms: the next one waits 20 ms after it
    expect(meter.now()).toBe(1000);
    clock.during = 0;
    await writeProcess(proc, 101, { own: 150, reaped: 0 });
    self = 5;
    clock.at = 21; // 19 ms after the walk ended: the descendants' time is the walk's, this process's is fresh
    expect(meter.now()).toBe(1005);
    clock.at = 22; // 20 ms after: walked again
    expect(meter.now()).toBe(1505);
  });

  it('walks at every reading when a walk takes no time', async () => {
    const proc = await fakeProc({ 100: { own: 0, reaped: 0, children: [101] }, 101: { own: 100, reaped: 0 } });
    const clock = manualClock();
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => 0, clock: clock.now });
    expect(meter.now()).toBe(1000);
    await writeProcess(proc, 101, { own: 120, reaped: 0 });
    expect(meter.now()).toBe(1200);
  });

  it('counts a child reaped between two walks once, and what it used since the walk', async () => {
    const proc = await fakeProc({ 100: { own: 0, reaped: 30, children: [101, 102] }, 101: { own: 100, reaped: 0 }, 102: { own: 50, reaped: 0 } });
    const clock = manualClock();
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => 0, clock: clock.now });
    clock.during = 10; // the next walk waits 100 ms
    expect(meter.now()).toBe(1800);
    clock.during = 0;
    clock.at = 50;
    // 101 is reaped having used 100 ticks (all seen by the walk): not counted twice.
    await writeProcess(proc, 100, { own: 0, reaped: 130, children: [102] });
    expect(meter.now()).toBe(1800);
    // 102 too, having used 120 ticks: 70 more than the walk saw.
    await writeProcess(proc, 100, { own: 0, reaped: 250, children: [] });
    expect(meter.now()).toBe(2500);
    clock.at = 200;
    expect(meter.now()).toBe(2500);
  });

  it.runIf(process.platform === 'linux')('sees the CPU of a real child process while it runs', async () => {
    const meter = processTreeCpuMeter({ selfMs: () => 0 });
    const before = meter.now();
    // A child that computes until it has used 300 ms of CPU (by its own count, so a busy
    // machine only makes it take longer), then waits to be told to end.
    const child = spawn(process.execPath, ['-e', 'const used = () => { const u = process.cpuUsage(); return u.user + u.system; }; while (used() < 300_000); setInterval(() => {}, 1000);'], { stdio: 'ignore' });
    try {
      let seen = before;
      for (let i = 0; i < 1000 && seen - before < 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen = meter.now();
      }
      expect(seen - before).toBeGreaterThanOrEqual(200);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
