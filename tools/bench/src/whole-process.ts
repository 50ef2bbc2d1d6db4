/**
 * Measuring what users run: whole processes (the `fanout` command, ripgrep, GNU parallel),
 * spawned and timed end to end by the bench worker, as a shell's `time` would.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `fanout` command (apps/cli), run as a user runs it: a whole Node process. */
export const FANOUT = fileURLToPath(new URL('../../../apps/cli/dist/main.js', import.meta.url));
/** The workspace's own node_modules: a real tree, always there after `npm ci`. */
export const NODE_MODULES = fileURLToPath(new URL('../../../node_modules', import.meta.url));

/** A real tree to measure on: a name for the table, and its path. */
export interface RealTree {
  tree: string;
  path: string;
}

/**
 * The checked-out repositories of a local run: BENCH_TREES, directories separated like PATH
 * (not a `FANOUT_` name: fanout reads those as its configuration and refuses unknown ones).
 */
export function benchTrees(): RealTree[] {
  return (process.env.BENCH_TREES ?? '')
    .split(delimiter)
    .filter((path) => path !== '')
    .map((path) => ({ tree: basename(resolve(path)), path: resolve(path) }));
}

/** Unmeasured runs first (page cache for Node and the tree, the first fork), alike for every subject. */
export const WARM_UP = 1;
/**
 * Unmeasured runs before the measured ones: `full` (WARM_UP unless a bench says otherwise), none
 * when quick — a quick run is `npm test`'s smoke test that every bench still runs, and its figures
 * are not the goals, so a warm-up would only double its time.
 */
export function warmUps(quick: boolean, full: number = WARM_UP): number {
  return quick ? 0 : full;
}
/** Measured runs per worker process (quick: 1); the worker reports their median. */
export const MEASURED = 3;

export interface Finished {
  wallMs: number;
  stdout: string;
  stderr: string;
  /** The exit code (only non-zero when `okCodes` allowed it). */
  code: number;
}

/**
 * Spawns `file args…` and times it end to end, from the spawn to the end of its output streams
 * ('close'). Fails, with the tail of its stderr, unless it exits with one of `okCodes` (0).
 */
export function timed(file: string, args: readonly string[], options: { input?: string; cwd?: string; env?: Record<string, string>; okCodes?: readonly number[] } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, args, {
      cwd: options.cwd ?? tmpdir(),
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - start;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === null || !(options.okCodes ?? [0]).includes(code)) {
        reject(new Error(`expected ${file} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' …' : ''} to exit ${(options.okCodes ?? [0]).join(' or ')}, got ${code ?? signal}; stderr: ${stderr.slice(-600)}`));
        return;
      }
      resolve({ wallMs, stdout, stderr, code });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** The absolute path of `command` on PATH, or undefined when it is not installed. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

export function requireFanout(): void {
  if (!existsSync(FANOUT)) throw new Error(`expected the built fanout command at ${FANOUT}, got no file: build it first (npm run build)`);
}

/** Runs `once` WARM_UP times unmeasured (none when quick), then MEASURED times (1 when quick); returns the runs' results. */
export async function repeat<T extends Finished>(quick: boolean, once: () => Promise<T>): Promise<T[]> {
  for (let i = warmUps(quick); i > 0; i--) await once();
  const runs: T[] = [];
  for (let i = 0; i < (quick ? 1 : MEASURED); i++) runs.push(await once());
  return runs;
}
