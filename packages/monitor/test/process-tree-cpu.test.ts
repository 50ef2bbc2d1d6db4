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

/** A fake procfs: `tree` maps a pid to its stat times and children. */
async function fakeProc(tree: Record<number, { own: number; reaped: number; children?: number[]; name?: string }>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fanout-proc-'));
  dirs.push(root);
  for (const [pid, entry] of Object.entries(tree)) {
    await mkdir(join(root, pid, 'task', pid), { recursive: true });
    // Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    const name = entry.name ?? 'sh';
    await writeFile(join(root, pid, 'stat'), `${pid} (${name}) S 1 1 1 0 -1 0 0 0 0 0 ${entry.own} 0 ${entry.reaped} 0 20 0 1 0 0\n`);
    await writeFile(join(root, pid, 'task', pid, 'children'), (entry.children ?? []).map((c) => `${c} `).join(''));
  }
  return root;
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
    const meter = processTreeCpuMeter({ procRoot: proc, pid: 100, selfMs: () => self });
    expect(meter.now()).toBe(1000);
    await writeFile(join(proc, '100', 'task', '100', 'children'), '');
    self = 10;
    expect(meter.now()).toBe(1000);
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
