import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultClassify, type Adapter, type AttemptContext } from '@fanout/scheduler';
import type fg from 'fast-glob';
import { z } from 'zod';
import { AdapterError, classifyAdapterError, fromFsError } from '../errors.js';
import type { AllowedRoots } from '../roots.js';
import { FILE_OPERATION_DEFAULTS, scanOf, type FsAdapterOptions } from './fs-options.js';
import type { GitignoreFilter } from './gitignore.js';
import { fastGlobFilters, prepareGlobPass } from './glob-pass.js';
import { loadFastGlob, walkGlob } from './glob-walk.js';
import type { Settle } from './scan/member.js';
import type { Prepared } from './scan/prepared.js';
import type { Readdir, ReaddirCallback } from './scan/listings.js';
import { register, runAlone, type BatchShared, type FsScan } from './scan/scan.js';

const patternString = z
  .string()
  .min(1, 'expected a non-empty glob pattern')
  .max(4096)
  .refine((pattern) => !pattern.includes('\0'), 'expected a pattern without NUL bytes');

/** What `glob` lists: files, directories, or both. */
export const GLOB_TYPES = ['files', 'directories', 'all'] as const;

/**
 * The input of `glob`: one `pattern` or a list of `patterns` (fast-glob / picomatch syntax,
 * `!` to exclude), relative to `cwd`.
 *
 * @example
 * { "patterns": ["src/**\/*.ts", "!**\/*.test.ts"], "ignore": ["**\/generated/**"] }
 */
export const globInputSchema = z
  .strictObject({
    /** One pattern. */
    pattern: patternString.optional(),
    /** Several patterns; a file matched by two is listed once. */
    patterns: z.array(patternString).min(1).max(1000).optional(),
    /** Patterns of paths to leave out (a directory matched is not entered). */
    ignore: z.array(patternString).max(10_000).optional(),
    /** Where patterns start; inside the roots. @default the first root */
    cwd: z
      .string()
      .min(1, 'expected a non-empty path')
      .refine((path) => !path.includes('\0'), 'expected a path without NUL bytes')
      .optional(),
    /** @default "files" */
    type: z.enum(GLOB_TYPES).optional(),
    /** Let `*` and `**` match names that start with a dot. @default false */
    dot: z.boolean().optional(),
    /** Leave out what `.gitignore` files exclude, as git does (nested files apply to their directory). @default true */
    gitignore: z.boolean().optional(),
    /** Most paths listed; the walk stops there and says `truncated`. @default 100000 */
    maxResults: z.int().min(1).max(10_000_000).optional(),
    /** Levels of directories entered below `cwd` (0: only `cwd` itself). @default unlimited */
    maxDepth: z.int().min(0).max(10_000).optional(),
    /** @default true */
    caseSensitive: z.boolean().optional(),
    /** Sort the paths (by UTF-16 code units), so a listing is the same from run to run. @default true */
    sort: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.pattern === undefined && input.patterns === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'expected "pattern" (one) or "patterns" (a list), got neither' });
    } else if (input.pattern !== undefined && input.patterns !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['patterns'], message: 'expected "pattern" or "patterns", got both' });
    }
  });

/** What `glob` receives. */
export type GlobInput = z.output<typeof globInputSchema>;

/** A directory the walk could not read; the walk goes on without it. */
export interface GlobWalkError {
  path: string;
  code: string;
  message: string;
}

/** What `glob` returns. */
export interface GlobOutput {
  /** Absolute paths. */
  files: string[];
  /** `files.length`. */
  count: number;
  /** The walk stopped at `maxResults`; more paths match. */
  truncated: boolean;
  /** Directories that could not be read (at most 100), when there were any. */
  errors?: GlobWalkError[];
}

/** Options of {@link globAdapter}. */
export interface GlobAdapterOptions extends FsAdapterOptions {
  /** Default of the input's `maxResults`. @default 100000 */
  maxResults?: number;
  /**
   * Directories read at once by one walk (fast-glob's `concurrency`). With `node:fs` the
   * scan lists directories synchronously, once for its whole batch (see `fsScan`); with an
   * `fs` of your own, its `readdir` calls go out this many at a time.
   * @default 4
   */
  walkConcurrency?: number;
  /**
   * The file system the walk reads (fast-glob's `fs`): for instrumented or virtual file
   * systems. Root checks always use `node:fs`, so it must show the same tree. Its listings
   * are shared by the globs of a batch, not with the other kinds.
   * @default node:fs
   */
  fs?: Partial<fg.FileSystemAdapter>;
  /**
   * The scan this adapter shares work with (see `fsScan`): globs ready together, and the
   * greps and analyses of the same scan, list each directory once and parse each `.gitignore`
   * once. Without it the adapter makes its own (its globs share among themselves).
   * @default a scan of its own
   */
  scan?: FsScan;
}

/** Default `timeoutMs` of `glob`. @default 60000 */
export const GLOB_TIMEOUT_MS = 60_000;

const MAX_REPORTED_ERRORS = 100;

/** What every run of one glob adapter needs. */
interface GlobSettings {
  roots: AllowedRoots;
  defaultMax: number;
  walkConcurrency: number;
  baseFs: Partial<fg.FileSystemAdapter>;
  /** The adapter's own readdir, when its `fs` has one. */
  baseReaddir: Readdir | undefined;
  ignoreCase: boolean;
}

/**
 * The `glob` adapter: lists the paths matching glob patterns under a directory inside the
 * allowed roots, with fast-glob 3 (picomatch syntax, brace expansion, negation).
 *
 * Safe by default: `cwd` and the directory each pattern starts from (`../x/*`, `/abs/*`) must
 * be inside the roots (after `realpath`), and the walk never follows a symlink
 * (`followSymbolicLinks: false`), so it cannot leave them. Dotfiles are left out unless
 * `dot`; `.gitignore` files are honoured unless `gitignore: false`, in the same walk (a
 * directory they exclude is never read); `.git` is never listed then.
 *
 * Fast: one walk streams entries; the walk stops as soon as `maxResults` is passed, or at an
 * abort (the walker is destroyed and no directory is read after it).
 *
 * A pattern without magic (`src/index.ts`) names its path, which is listed if it exists even
 * when a `.gitignore` excludes it, as ripgrep searches a path given on its command line.
 *
 * @example
 * const scheduler = createScheduler({ adapters: [globAdapter({ roots: ['.'] })] });
 * await scheduler.execute({ operations: [{ id: 'ts', kind: 'glob', input: { pattern: 'src/**\/*.ts' } }] });
 */
export function globAdapter(options: GlobAdapterOptions = {}): Adapter<GlobInput, GlobOutput> {
  const { roots, scan } = scanOf(options);
  const baseFs = options.fs ?? {};
  const settings: GlobSettings = {
    roots,
    defaultMax: options.maxResults ?? 100_000,
    walkConcurrency: options.walkConcurrency ?? 4,
    baseFs,
    baseReaddir: baseFs.readdir as Readdir | undefined,
    ignoreCase: process.platform === 'win32' || process.platform === 'darwin',
  };
  const trees = (input: GlobInput): string[] | undefined => globTrees(input, roots.base);
  // With node:fs, a glob is a member of the batch's pass (one walk for every glob, grep and
  // analysis of the batch, see `glob-pass.ts`); with an `fs` of its own, it walks that on its
  // own, through the batch's listings of it.
  register(
    scan,
    'glob',
    settings.baseReaddir === undefined
      ? { mode: 'pass', batched: () => true, prepare: (input: GlobInput, ctx, settle, shared) => prepareGlob(input, ctx, settle, settings, shared), trees }
      : { mode: 'listing', batched: () => true, run: (input: GlobInput, ctx, shared) => runGlob(input, ctx, settings, shared), trees },
    roots,
  );
  return {
    kind: 'glob',
    input: globInputSchema,
    defaults: { ...FILE_OPERATION_DEFAULTS, timeoutMs: options.timeoutMs ?? GLOB_TIMEOUT_MS, idempotent: true },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    // A listing takes no lock: it reads directories, not the files a write replaces.
    locks: () => [],
    batcher: scan,
    // A lone glob is a batch of one.
    run: (input, ctx) => runAlone<GlobOutput>(scan, 'glob', input, ctx),
  };
}

/** A glob checked and turned into fast-glob's tasks. */
interface GlobPlan {
  cwd: string;
  patterns: string[];
  tasks: fg.Task[];
  /** fast-glob's options (its `fs` is the walk's own business). */
  options: fg.Options;
  filter: GitignoreFilter | undefined;
}

/** Checks a glob's `cwd` and the directory each of its patterns starts from, and makes fast-glob's tasks. */
async function planGlob(input: GlobInput, ctx: AttemptContext, settings: GlobSettings, shared: BatchShared, fastGlob: typeof fg): Promise<GlobPlan> {
  const { roots } = settings;
  const signal = ctx.signal;
  const single = input.patterns === undefined;
  const patterns = input.patterns ?? [input.pattern!];
  const cwd = await checkedCwd(roots, input.cwd);
  signal.throwIfAborted();
  const filter = input.gitignore === false ? undefined : shared.listings.gitignore(roots.paths, settings.ignoreCase);
  const options: fg.Options = {
    cwd,
    dot: input.dot ?? false,
    ignore: input.ignore ?? [],
    onlyFiles: (input.type ?? 'files') === 'files',
    onlyDirectories: input.type === 'directories',
    followSymbolicLinks: false,
    caseSensitiveMatch: input.caseSensitive ?? true,
    suppressErrors: true,
    unique: true,
    concurrency: settings.walkConcurrency,
    ...(input.maxDepth === undefined ? {} : { deep: input.maxDepth + 1 }),
  };
  // Every directory a walk starts from must be inside the roots (a pattern may climb out).
  const tasks = fastGlob.generateTasks(patterns, options);
  // One walk meets each path once: only several tasks (patterns from different directories)
  // can list a path twice. fast-glob's `unique` keeps every path listed in a set to check,
  // which cost more than the matching (400 ms of 16 globs over a 27,000-file tree).
  options.unique = tasks.length > 1;
  for (const task of tasks) {
    const index = patterns.findIndex((pattern) => task.positive.includes(pattern));
    const field = single ? 'pattern' : index === -1 ? 'patterns' : `patterns[${index}]`;
    const start = resolve(cwd, task.base);
    await roots.check(start, field);
    filter?.prepareSync(start);
  }
  signal.throwIfAborted();
  return { cwd, patterns, tasks, options, filter };
}

/** One glob as a member of its batch's pass (see `glob-pass.ts`). */
async function prepareGlob(input: GlobInput, ctx: AttemptContext, settle: Settle, settings: GlobSettings, shared: BatchShared): Promise<Prepared | undefined> {
  const fastGlob = await loadFastGlob();
  const filters = fastGlobFilters();
  if (filters === undefined) {
    // A fast-glob whose internals moved: the glob walks on its own, over the batch's listings.
    runGlob(input, ctx, settings, shared).then(settle.resolve, settle.reject);
    return undefined;
  }
  const plan = await planGlob(input, ctx, settings, shared, fastGlob);
  const max = input.maxResults ?? settings.defaultMax;
  return prepareGlobPass({ cwd: plan.cwd, tasks: plan.tasks, options: plan.options, filter: plan.filter, max, sort: input.sort ?? true }, filters, shared.listings, ctx, settle);
}

/** One glob walking on its own (fast-glob's walk), with the listings and `.gitignore` filter of its batch. */
async function runGlob(input: GlobInput, ctx: AttemptContext, settings: GlobSettings, shared: BatchShared): Promise<GlobOutput> {
  const { baseFs } = settings;
  const fastGlob = await loadFastGlob();
  const signal = ctx.signal;
  const { cwd, patterns, tasks, options, filter } = await planGlob(input, ctx, settings, shared, fastGlob);

  let stopped = false;
  const errors: GlobWalkError[] = [];
  const list = shared.listings.readdir(settings.baseReaddir);
  // fast-glob calls readdir(path, { withFileTypes: true }, callback) for each directory.
  const readdir = (path: string, readOptions: { withFileTypes: true }, callback: ReaddirCallback): void => {
    if (stopped) {
      // Never synchronously: fast-glob's queue would call the next readdir from inside this
      // one, and a walk stopped with thousands of directories queued would run out of stack.
      setImmediate(callback, stoppedError(path), []);
      return;
    }
    list(path, readOptions, (error, entries) => {
      if (error !== null) {
        if (error.code !== 'ENOENT' && errors.length < MAX_REPORTED_ERRORS) errors.push({ path, code: error.code ?? 'EIO', message: error.message });
        callback(error, []);
        return;
      }
      if (stopped) callback(stoppedError(path), []);
      else if (filter === undefined) callback(null, entries);
      else {
        let kept;
        try {
          kept = shared.listings.filter(filter, path, entries);
        } catch (failure) {
          callback(failure as NodeJS.ErrnoException, []);
          return;
        }
        callback(null, kept);
      }
    });
  };
  const globOptions: fg.Options = { ...options, fs: { ...baseFs, readdir: readdir as never } };

  const max = input.maxResults ?? settings.defaultMax;
  // Entries stay as fast-glob gives them until the end: sorting the short relative names
  // before they get the common cwd prefix makes each comparison cheaper.
  const entries: string[] = [];
  let plain = true;
  let truncated = false;
  await new Promise<void>((resolvePromise, reject) => {
    const finish = (error?: unknown): void => {
      if (stopped) return;
      stopped = true;
      signal.removeEventListener('abort', onAbort);
      walk.stop();
      if (error === undefined) resolvePromise();
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason);
    const onEntry = (entry: string): void => {
      if (stopped) return;
      if (entries.length === max) {
        truncated = true;
        finish();
        return;
      }
      // fast-glob gives paths relative to cwd ('a/b'), or as the pattern spelled them ('./a', '../b', '/abs').
      if (plain && (entry.charCodeAt(0) === 46 || entry.charCodeAt(0) === 47)) plain = false;
      entries.push(entry);
    };
    const walk = walkGlob(fastGlob, patterns, tasks, globOptions, onEntry, finish);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const sort = input.sort ?? true;
  if (sort && plain) entries.sort();
  const prefix = cwd.endsWith('/') ? cwd : `${cwd}/`;
  const files = new Array<string>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    files[i] = plain || (entry.charCodeAt(0) !== 46 && entry.charCodeAt(0) !== 47) ? prefix + entry : resolve(cwd, entry);
  }
  if (sort && !plain) files.sort();
  const output: GlobOutput = { files, count: files.length, truncated };
  if (errors.length > 0) output.errors = errors;
  return output;
}

/**
 * The directory a glob walks under: its `cwd`. Undefined (any tree) when a pattern may climb
 * out of it (`../x/*`, `/abs/*`, or a brace that could hide either).
 */
function globTrees(input: GlobInput, base: string): string[] | undefined {
  const patterns = [...(input.patterns ?? [input.pattern!]), ...(input.ignore ?? [])];
  if (patterns.some((pattern) => /^!?(\/|\.\.|\{)/.test(pattern) || pattern.includes('/..') || pattern.includes('{..') || pattern.includes(',..'))) return undefined;
  return [resolve(base, input.cwd ?? '.')];
}

async function checkedCwd(roots: AllowedRoots, asked: string | undefined): Promise<string> {
  const safe = await roots.check(asked ?? roots.base, 'cwd');
  let info;
  try {
    info = await stat(safe.real);
  } catch (error) {
    throw fromFsError(error, safe.path, 'cwd');
  }
  if (!info.isDirectory()) throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected cwd (${safe.path}) to be a directory, got a file`, { path: 'cwd' });
  return safe.path;
}

function stoppedError(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`the walk was stopped before reading ${path}`), { code: 'ECANCELED' });
}
