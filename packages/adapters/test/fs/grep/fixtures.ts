import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createScheduler, type SchedulerEvent } from '@fanout/scheduler';
import { grepAdapter, ripgrepOnPath, type GrepAdapterOptions, type GrepInputSpec, type GrepOutput, type GrepProgress, type RipgrepMessage } from '../../../src/fs/grep/index.js';

/** A file's content, or `{ link }` for a symlink to `link` (relative to the tree, or absolute). */
export type Entry = string | Buffer | { link: string };

/** A real directory tree in a temporary directory. */
export interface Tree {
  /** Its real path (macOS's /tmp is a symlink). */
  dir: string;
  path(relative: string): string;
  cleanup(): Promise<void>;
}

export async function makeTree(entries: Record<string, Entry>): Promise<Tree> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'fanout-grep-')));
  for (const [relative, entry] of Object.entries(entries)) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    if (typeof entry === 'object' && !Buffer.isBuffer(entry)) {
      await symlink(entry.link.startsWith('/') ? entry.link : join(dir, entry.link), path);
    } else if (relative.endsWith('/')) {
      await mkdir(path, { recursive: true });
    } else {
      await writeFile(path, entry);
    }
  }
  return { dir, path: (relative) => join(dir, relative), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** What one grep operation through the scheduler gave. */
export interface GrepRun {
  state: string;
  output: GrepOutput;
  error: (Error & { code?: string; path?: string }) | undefined;
  progress: GrepProgress[];
}

/** Runs one grep through a real scheduler and collects its progress events. */
export async function grep(input: GrepInputSpec, options: GrepAdapterOptions): Promise<GrepRun> {
  const adapter = grepAdapter(options);
  const run = createScheduler({ adapters: [adapter] }).run({ operations: [{ id: 'g', kind: 'grep', input }] });
  const progress: GrepProgress[] = [];
  run.on((event: SchedulerEvent) => {
    if (event.type === 'op-progress') progress.push(event.data as GrepProgress);
  });
  const result = await run.result;
  const op = result.get('g')!;
  return { state: op.state, output: op.output as GrepOutput, error: op.error as GrepRun['error'], progress };
}

/** The messages of one type. */
export function ofType<T extends RipgrepMessage['type']>(output: GrepOutput, type: T): Extract<RipgrepMessage, { type: T }>[] {
  return output.messages.filter((message): message is Extract<RipgrepMessage, { type: T }> => message.type === type);
}

/** Per-file counts of matching lines from `end` messages, by path. */
export function countsOf(output: GrepOutput): Map<string, number> {
  return new Map(ofType(output, 'end').map((end) => [(end.data.path as { text: string }).text, end.data.stats.matched_lines]));
}

const exec = promisify(execFile);

/** ripgrep's path when it is installed (`apt-get install ripgrep`), else undefined. */
export async function findRipgrep(): Promise<string | undefined> {
  try {
    await exec('rg', ['--version']);
    return 'rg';
  } catch {
    return undefined;
  }
}

/**
 * Runs ripgrep on `.` in `cwd` (exit 1, no match, is not an error) and returns its stdout with
 * the `./` prefix of every path removed. The path is explicit: with none, ripgrep reads its
 * standard input when that is not a terminal.
 */
export async function ripgrep(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec('rg', [...args, '.'], { cwd, maxBuffer: 256 * 1024 * 1024 });
    return stdout.replace(/(^|\n)\.\//g, '$1').replaceAll('"path":{"text":"./', '"path":{"text":"');
  } catch (error) {
    if ((error as { code?: number }).code === 1) return '';
    throw error;
  }
}

/** The `rg` the ripgrep engine's tests run (the one on PATH), or undefined. */
export const RG = ripgrepOnPath();

/** Why the ripgrep engine's variant of a suite is skipped, shown in the test's name; '' when it runs. */
export const RG_MISSING = RG === undefined ? ' (skipped: ripgrep is not installed, apt-get install ripgrep)' : '';
if (RG === undefined) console.warn(`grep tests: the ripgrep engine's variants are skipped${RG_MISSING}`);

/** One engine a suite runs on: its name, its adapter options, and whether it can run here. */
export interface EngineCase {
  name: string;
  options: Partial<GrepAdapterOptions>;
  /** The ripgrep engine (no `files`, `bytesSearched`, `binaryFiles`, `largeFiles` in its stats). */
  ripgrep: boolean;
  skip: boolean;
}

/**
 * The engines every grep suite runs on: the built-in engine (on the main thread and in worker
 * threads, which must agree) and ripgrep (skipped, visibly, where `rg` is not installed).
 */
export const ENGINE_CASES: EngineCase[] = [
  { name: 'builtin engine, main thread', options: { engine: 'builtin', threads: 0 }, ripgrep: false, skip: false },
  { name: 'builtin engine, worker threads', options: { engine: 'builtin', inlineBudgetMs: 0 }, ripgrep: false, skip: false },
  { name: `ripgrep engine${RG_MISSING}`, options: RG === undefined ? { engine: 'ripgrep' } : { engine: 'ripgrep', rgPath: RG }, ripgrep: true, skip: RG === undefined },
];

/** The stats both engines report (see `GrepStats`). */
export function sharedStats(output: GrepOutput): { filesWithMatches: number; matches: number; matchedLines: number } {
  const { filesWithMatches, matches, matchedLines } = output.stats;
  return { filesWithMatches, matches, matchedLines };
}

/** `output` with the fields that measure time removed (they differ between any two runs). */
export function withoutTimes<T>(output: T): T {
  return JSON.parse(JSON.stringify(output, (key, value: unknown) => (key === 'elapsed' || key === 'elapsed_total' ? undefined : value))) as T;
}
