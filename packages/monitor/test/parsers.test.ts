import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProcSelfCgroup } from '../src/sources/cgroup.js';
import { parseCpuMax, parseCpuStat, parseProcStat } from '../src/sources/cpu.js';
import { parseDiskstats } from '../src/sources/disk.js';
import { parseMeminfo, parseMemoryCurrent, parseMemoryMax, parseMemoryStat } from '../src/sources/memory.js';
import { parseNetDev } from '../src/sources/network.js';
import { parsePressureStall } from '../src/sources/pressure-stall.js';
import { FIXTURES } from './helpers.js';

const read = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
const GiB = 1024 ** 3;

/** Asserts a parser refuses `text` with a clear, stable error naming the file. */
function refuses(parse: (text: string, path: string) => unknown, text: string, expected: RegExp): void {
  let caught: unknown;
  try {
    parse(text, '/fixture/file');
  } catch (error) {
    caught = error;
  }
  expect(caught).toMatchObject({ name: 'MonitorError', code: 'FANOUT_MONITOR_MALFORMED', path: '/fixture/file' });
  expect((caught as Error).message).toMatch(expected);
  expect((caught as Error).message).toMatch(/in \/fixture\/file, got /);
}

describe('/proc/stat', () => {
  it('sums the CPU time that counts, leaves guest time (already in user) out, and counts cores', () => {
    expect(parseProcStat(read('container/t0/proc/stat'), 'stat')).toEqual({ total: 10000 + 500 + 3000 + 80000 + 1000 + 100 + 200 + 50, idle: 81000, cores: 4 });
    // t1 has 40 ticks of guest time, which must not count twice.
    expect(parseProcStat(read('container/t1/proc/stat'), 'stat')).toEqual({ total: 10250 + 500 + 3050 + 80080 + 1020 + 100 + 200 + 50, idle: 81100, cores: 4 });
    // Kernels before 2.6.11 print four fields only.
    expect(parseProcStat('cpu  1 2 3 4\ncpu0 1 2 3 4\n', 'stat')).toEqual({ total: 10, idle: 4, cores: 1 });
  });

  it('refuses what is not a /proc/stat', () => {
    refuses(parseProcStat, read('malformed/proc/stat'), /clock tick counts on the "cpu" line/);
    refuses(parseProcStat, 'intr 1 2 3\n', /a first line "cpu user nice system idle/);
    refuses(parseProcStat, 'cpu  1 2 3 4\n', /at least one "cpuN" line/);
    refuses(parseProcStat, '', /a first line/);
  });
});

describe('/proc/meminfo', () => {
  it('reads MemTotal and MemAvailable in bytes', () => {
    expect(parseMeminfo(read('container/t0/proc/meminfo'), 'meminfo')).toEqual({ totalBytes: 16384000 * 1024, availableBytes: 4096000 * 1024 });
  });

  it('falls back to MemFree + Buffers + Cached on kernels without MemAvailable', () => {
    expect(parseMeminfo(read('old-kernel/proc/meminfo'), 'meminfo')).toEqual({ totalBytes: 4096000 * 1024, availableBytes: (512000 + 128000 + 1408000) * 1024 });
  });

  it('refuses a file without MemTotal or anything to tell what is available', () => {
    refuses(parseMeminfo, read('malformed/proc/meminfo'), /"MemTotal: <n> kB"/);
    refuses(parseMeminfo, 'MemTotal: 100 kB\nMemFree: 10 kB\n', /"MemAvailable: <n> kB"/);
  });
});

describe('cgroup v2 files', () => {
  it('finds the v2 path in /proc/self/cgroup, and nothing in a v1-only one', () => {
    expect(parseProcSelfCgroup(read('container/t0/proc/self/cgroup'), 'cgroup')).toBe('/kubepods/pod1/ctr');
    expect(parseProcSelfCgroup(read('old-kernel/proc/self/cgroup'), 'cgroup')).toBeUndefined();
    // Hybrid hierarchies list v1 controllers and the v2 entry together.
    expect(parseProcSelfCgroup('4:memory:/x\n0::/system.slice/a.service\n', 'cgroup')).toBe('/system.slice/a.service');
    refuses(parseProcSelfCgroup, read('malformed/proc/self/cgroup'), /"id:controllers:path" lines/);
    refuses(parseProcSelfCgroup, '0::relative\n', /an absolute cgroup path/);
  });

  it('reads cpu.max quotas and cpu.stat usage', () => {
    expect(parseCpuMax(read('container/t0/cgroup/kubepods/pod1/cpu.max'), 'cpu.max')).toEqual({ quotaUs: 150000, periodUs: 100000 });
    expect(parseCpuMax('max 100000\n', 'cpu.max')).toEqual({ quotaUs: undefined, periodUs: 100000 });
    expect(parseCpuStat(read('container/t1/cgroup/kubepods/pod1/cpu.stat'), 'cpu.stat')).toEqual({ usageUs: 6200000 });
    refuses(parseCpuMax, read('malformed-cgroup/cgroup/job/cpu.max'), /"<quota\|max> <period>"/);
    refuses(parseCpuMax, '100000 0\n', /"<quota\|max> <period>"/);
    refuses(parseCpuStat, 'user_usec 5\n', /"usage_usec <n>"/);
  });

  it('reads memory.max, memory.current and memory.stat', () => {
    expect(parseMemoryMax(read('container/t0/cgroup/kubepods/pod1/memory.max'), 'memory.max')).toBe(4 * GiB);
    expect(parseMemoryMax('max\n', 'memory.max')).toBeUndefined();
    expect(parseMemoryCurrent(read('container/t0/cgroup/kubepods/pod1/memory.current'), 'memory.current')).toBe(3.5 * GiB);
    expect(parseMemoryStat(read('container/t0/cgroup/kubepods/memory.stat'), 'memory.stat').get('inactive_file')).toBe(GiB);
    refuses(parseMemoryMax, read('malformed-cgroup/cgroup/job/memory.max'), /a byte count or "max"/);
    refuses(parseMemoryCurrent, 'lots\n', /a byte count/);
    refuses(parseMemoryStat, 'anon twelve\n', /"<name> <count>" lines/);
  });
});

describe('/proc/pressure', () => {
  it('turns percentages into shares and keeps the full line when there is one', () => {
    expect(parsePressureStall(read('container/t0/proc/pressure/io'), '/proc/pressure/io')).toEqual({
      some: { avg10: 0.03, avg60: 0.02, avg300: 0.01, totalUs: 90000 },
      full: { avg10: 0.02, avg60: 0.01, avg300: 0.005, totalUs: 60000 },
      path: '/proc/pressure/io',
    });
    expect(parsePressureStall('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'cpu')).toEqual({ some: { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 }, path: 'cpu' });
  });

  it('refuses bad numbers and a file without a some line', () => {
    refuses(parsePressureStall, read('malformed/proc/pressure/cpu'), /"some\|full avg10=<%>/);
    refuses(parsePressureStall, read('malformed/proc/pressure/memory'), /a "some avg10=\.\.\." line/);
    refuses(parsePressureStall, read('malformed/proc/pressure/io'), /a "some avg10=\.\.\." line/);
  });
});

describe('/proc/diskstats', () => {
  it('reads sectors and io_ticks from every line, short (old kernels) and long', () => {
    const devices = parseDiskstats(read('container/t0/proc/diskstats'), 'diskstats');
    expect(devices.map((d) => d.name)).toEqual(['loop0', 'vda', 'vda1', 'sr0']);
    expect(devices[1]).toEqual({ name: 'vda', sectorsRead: 2000000, sectorsWritten: 500000, ioTicksMs: 100000 });
    expect(devices[3]).toEqual({ name: 'sr0', sectorsRead: 80, sectorsWritten: 0, ioTicksMs: 5 });
  });

  it('refuses short and non-numeric lines', () => {
    refuses(parseDiskstats, read('malformed/proc/diskstats'), /at least 11 counters/);
    refuses(parseDiskstats, '8 0 sda 1 2 3 4 5 6 7 8 9 ten 11\n', /numeric counters/);
  });
});

describe('/proc/net/dev', () => {
  it('reads byte counters, including a first counter glued to the colon', () => {
    expect(parseNetDev(read('container/t1/proc/net/dev'), 'dev')).toEqual([
      { name: 'lo', receiveBytes: 990000000, transmitBytes: 990000000 },
      { name: 'eth0', receiveBytes: 1012500000, transmitBytes: 506250000 },
    ]);
  });

  it('refuses a file without its header or with short lines', () => {
    refuses(parseNetDev, read('malformed/proc/net/dev'), /two header lines/);
    const header = read('container/t0/proc/net/dev').split('\n').slice(0, 2).join('\n');
    refuses(parseNetDev, `${header}\n eth0: 1 2 3\n`, /"<interface>: " and 16 counters/);
  });
});
