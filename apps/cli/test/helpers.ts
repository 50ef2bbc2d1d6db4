import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `fanout` binary (tests spawn it, as a user would). */
export const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `fanout args…` to completion (with `input` on stdin), bounded by `timeoutMs`. */
export function fanout(args: string[], options: { input?: string; cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fanout ${args.join(' ')} did not end within ${options.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Pids of the processes running `sleep <marker>` (a marker per test: a duration no one else sleeps). */
export function sleepers(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${marker}\0` && !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A sleep duration no other test uses, for {@link sleepers}. */
export function sleepMarker(seconds: number): string {
  return `${seconds}.${process.pid}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}

/** A `fanout` process to signal while it runs, with what it printed so far and its end. */
export interface Started {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `fanout args…` without waiting for it. */
export function start(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): Started {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end();
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, closed };
}

/**
 * What the distributed tests run both here and on workers: `files` sources under `src/` (a TODO
 * in each) and `plan.json` over them, with a `$ref`, an `after`, a command and a failing read.
 */
export async function writeDistributedFixture(dir: string, name: string, files: number): Promise<void> {
  await mkdir(join(dir, 'src', 'deep'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(dir, 'src', `m${i}.ts`), `export const m${i} = ${i}; // TODO item ${i}\n`);
  await writeFile(join(dir, 'src', 'deep', 'x.ts'), 'export const x = 1;\n');
  const operations = [
    { id: 'sources', kind: 'glob', input: { pattern: 'src/**/*.ts' } },
    { id: 'todo', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } },
    { id: 'heads', kind: 'read', input: { paths: { $ref: 'sources', path: 'files' }, head: 1 } },
    { id: 'count', kind: 'bash', input: { command: ['ls', 'src'] }, after: ['todo'] },
    { id: 'missing', kind: 'read', input: { path: 'nope.txt' } },
  ];
  await writeFile(join(dir, 'plan.json'), JSON.stringify({ name, operations }));
}

/**
 * A `--json` report without what depends on timing or on the run's id: durations, the run,
 * and the budget's `used` (the Markdown's timing figures move it by a token between runs).
 */
export function stableReport(json: string): unknown {
  const report = JSON.parse(json) as Record<string, unknown>;
  delete report.createdAt;
  delete report.run;
  return JSON.parse(JSON.stringify(report, (key, value) => (key === 'durationMs' || key === 'used' ? undefined : value)));
}
