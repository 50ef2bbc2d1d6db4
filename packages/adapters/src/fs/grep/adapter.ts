import { resolve } from 'node:path';
import { defaultClassify, defineAdapter, type Adapter, type AttemptContext } from '@fanout/scheduler';
import { AdapterError, classifyAdapterError } from '../../errors.js';
import { FILE_OPERATION_DEFAULTS, scanOf, type FsAdapterOptions } from '../fs-options.js';
import { register, type FsScan, type FsScanOptions } from '../scan/scan.js';
import type { GrepOutput } from './output.js';
import { chooseEngine, type GrepEngineName } from './engine.js';
import { REGEX_BUDGET_MS } from './regex-budget.js';
import type { RipgrepSpawn } from './early.js';
import { runRipgrep } from './ripgrep.js';
import { overlapping } from '../scan/member.js';
import { prepareGrep, runGrep, type GrepEnvironment } from './run.js';
import { grepInputSchema, type GrepInput } from './schema.js';

/** Timeout of a grep attempt unless the plan says otherwise: it is what ends a runaway regular expression. */
export const GREP_TIMEOUT_MS = 120_000;

/** Options of {@link grepAdapter} (and `roots`, `timeoutMs` like every fs adapter). */
export interface GrepAdapterOptions extends FsAdapterOptions {
  /**
   * Which engine searches: `ripgrep` runs the `rg` program (13 or newer) through its
   * `--json` stream; `builtin` is fanout's own engine in worker threads; `auto` is ripgrep
   * when `rg` is on PATH, else the built-in engine. Both give the same output (see
   * `ripgrep.ts` for the few cases the ripgrep engine hands to the built-in one). `ripgrep`
   * without an `rg` on PATH throws `FANOUT_RIPGREP_NOT_FOUND` here.
   * @default "auto"
   */
  engine?: GrepEngineName;
  /** The ripgrep program to run instead of the `rg` found on PATH (tests pin one this way). */
  rgPath?: string;
  /**
   * How the ripgrep engine starts `rg`. `fanout grep` passes an `EarlyRipgrep`'s
   * `spawner()`: its launcher starts `rg` before it loads the command, and the engine adopts
   * that process when it would have started the same one.
   * @default spawnRipgrep (node:child_process's spawn, standard input closed, output piped)
   */
  spawnRipgrep?: RipgrepSpawn;
  /**
   * How long a regular expression may spend on one file before the operation fails with
   * `FANOUT_REGEX_TOO_SLOW` (built-in engine; see `regex-budget.ts`).
   * @default 10000
   */
  regexBudgetMs?: number;
  /**
   * Most worker threads one operation uses (all grep operations of the process share one
   * thread per core in any case). 0 runs every search on the main thread: no thread start-up
   * at all, but a runaway regular expression then blocks the process and cannot be stopped.
   * @default os.availableParallelism() - 1, at least 1 (a core is left to the main thread: see `FsScanOptions.threads`)
   */
  threads?: number;
  /**
   * Search time a literal search spends on the main thread before worker threads take over
   * (skipped when warm workers are idle); 0 sends every file to a worker. Starting a worker
   * costs about 30 ms here, so below ~25 ms of search (about 25 MB of literal search) a thread
   * would not pay for itself. Regular expressions always run in workers, unless `threads` is
   * 0 (see `run.ts`).
   * @default 25
   */
  inlineBudgetMs?: number;
  /**
   * The worker thread's script, a URL or an absolute path (tests pass freshly compiled sources).
   * @default new URL('./worker.js', import.meta.url), the built worker beside this module
   */
  workerScript?: URL | string;
  /**
   * The scan this adapter shares work with (see `fsScan`): the built-in engine's greps and
   * the analyses ready together walk the tree once and read each file once (the ripgrep
   * engine's greps run alone, in their own process). `threads`, `inlineBudgetMs` and
   * `workerScript` are then the scan's options, not the adapter's.
   * @default a scan of its own (made with the three options above)
   */
  scan?: FsScan;
}

/**
 * The `grep` adapter: ripgrep's search with ripgrep's `--json` output, by ripgrep itself
 * (`engine: "ripgrep"`, or `"auto"` when `rg` is on PATH) or by fanout's own engine across
 * worker threads (`"builtin"`), with the same results either way.
 *
 * - `locks` is empty: grep only reads, and the scheduler's lock keys are exact paths, so a
 *   read lock on a search root would not wait for writes to the files under it anyway; order
 *   a grep after a write with `after`.
 * - Defaults: max 48 like every file operation, but an optimal concurrency of 8, not 24: one
 *   large grep already spreads its files over every core (the process shares one thread per
 *   core between all greps), so more at once only queue for the same threads; 8 still lets
 *   small greps, done on the main thread in milliseconds, pass while a large one searches.
 * - A timeout of 2 minutes by default ({@link GREP_TIMEOUT_MS}): a runaway regular
 *   expression is ended by it.
 *
 * @example
 * const scheduler = createScheduler({ adapters: [grepAdapter({ roots: ['/work/project'] })] });
 * const result = await scheduler.execute({ operations: [{ id: 'find', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } }] });
 */
export function grepAdapter(options: GrepAdapterOptions = {}): Adapter<GrepInput, GrepOutput> {
  const own: FsScanOptions = {};
  if (options.threads !== undefined) own.threads = options.threads;
  if (options.inlineBudgetMs !== undefined) own.inlineBudgetMs = options.inlineBudgetMs;
  if (options.workerScript !== undefined) own.workerScript = options.workerScript;
  if (options.scan !== undefined && Object.keys(own).length > 0) {
    throw new AdapterError('FANOUT_OPTION_INVALID', `expected ${Object.keys(own).join(', ')} on the fsScan given as scan, got them on the grep adapter`, { path: Object.keys(own)[0]! });
  }
  const { roots, scan } = scanOf(options, own);
  const { engine, rg } = chooseEngine(options.engine ?? 'auto', options.rgPath);
  const regexBudgetMs = options.regexBudgetMs ?? REGEX_BUDGET_MS;
  const env: GrepEnvironment = { roots, regexBudgetMs, scan };
  // The built-in engine's greps are batched (one walk, one read, one pass with the scan's
  // other operations); the ripgrep engine's run alone, in their own process. `auto` with an
  // `rg` is both: batched, a grep joins the pass when another operation of its batch is over
  // the same tree (one walk and one read for all of them beats one more process reading it
  // all again), and runs `rg` when nothing of its batch shares its tree (a lone grep). Its
  // output is the same either way, down to its stats: it reports those both engines know.
  const builtin = rg === undefined || engine === 'builtin';
  const auto = rg !== undefined && engine === 'auto';
  register(
    scan,
    'grep',
    {
      mode: 'pass',
      batched: () => builtin || auto,
      prepare: (input: GrepInput, ctx, settle, shared) => prepareGrep(input, ctx, settle, shared.roots, regexBudgetMs, auto),
      // Paths one inside another (`['.', 'a/f.bin']`) stay in the pass: which of them a file is
      // taken under (walked, or named) decides how it is searched, and separate rg runs cannot
      // tell (a named binary file matches, a walked one is skipped).
      ...(auto
        ? {
            alone: (input: GrepInput, ctx: AttemptContext) =>
              overlapping(input.paths.map((path) => resolve(roots.base, path))) ? runGrep(input, ctx, env) : runRipgrep(input, ctx, { ...env, rg, engine: 'auto', spawn: options.spawnRipgrep }),
          }
        : {}),
      trees: (input: GrepInput) => input.paths.map((path) => resolve(roots.base, path)),
    },
    roots,
  );
  return defineAdapter({
    kind: 'grep',
    input: grepInputSchema,
    defaults: { maxConcurrency: FILE_OPERATION_DEFAULTS.maxConcurrency, optimalConcurrency: 8, timeoutMs: options.timeoutMs ?? GREP_TIMEOUT_MS, idempotent: true },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks: () => [],
    batcher: scan,
    // A lone built-in grep is a batch of one.
    run: (input, ctx) => (rg === undefined || engine === 'builtin' ? runGrep(input, ctx, env) : runRipgrep(input, ctx, { ...env, rg, engine, spawn: options.spawnRipgrep })),
  });
}
