import { defaultClassify, defineAdapter, type Adapter } from '@fanout/scheduler';
import { AdapterError, classifyAdapterError } from '../../errors.js';
import { FILE_OPERATION_DEFAULTS, scanOf, type FsAdapterOptions } from '../fs-options.js';
import { register, runAlone, type FsScan, type FsScanOptions } from '../scan/scan.js';
import type { GrepOutput } from './output.js';
import { prepareGrep } from './run.js';
import { grepInputSchema, type GrepInput } from './schema.js';

/** Timeout of a grep attempt unless the plan says otherwise: it is what ends a runaway regular expression. */
export const GREP_TIMEOUT_MS = 120_000;

/** Options of {@link grepAdapter} (and `roots`, `timeoutMs` like every fs adapter). */
export interface GrepAdapterOptions extends FsAdapterOptions {
  /**
   * Most worker threads one operation uses (all grep operations of the process share one
   * thread per core in any case). 0 runs every search on the main thread: no thread start-up
   * at all, but a runaway regular expression then blocks the process and cannot be stopped.
   * @default os.availableParallelism()
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
   * The scan this adapter shares work with (see `fsScan`): greps and analyses ready together
   * walk the tree once and read each file once. `threads`, `inlineBudgetMs` and
   * `workerScript` are then the scan's options, not the adapter's.
   * @default a scan of its own (made with the three options above)
   */
  scan?: FsScan;
}

/**
 * The `grep` adapter: ripgrep's search with ripgrep's `--json` output, by our own engine
 * (no helper program), across worker threads.
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
    throw new AdapterError('FANOUT_OPTIONS_INVALID', `expected ${Object.keys(own).join(', ')} on the fsScan given as scan, got them on the grep adapter`, { path: Object.keys(own)[0]! });
  }
  const { roots, scan } = scanOf(options, own);
  // Which engine runs an input: only the built-in engine's greps are batched (the ripgrep
  // engine's run alone through their own process).
  const engineOf = (_input: GrepInput): 'builtin' | 'ripgrep' => 'builtin';
  register(scan, 'grep', { mode: 'pass', batched: (input: GrepInput) => engineOf(input) === 'builtin', prepare: (input: GrepInput, ctx, settle, shared) => prepareGrep(input, ctx, settle, shared.roots) }, roots);
  return defineAdapter({
    kind: 'grep',
    input: grepInputSchema,
    defaults: { maxConcurrency: FILE_OPERATION_DEFAULTS.maxConcurrency, optimalConcurrency: 8, timeoutMs: options.timeoutMs ?? GREP_TIMEOUT_MS, idempotent: true },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks: () => [],
    batcher: scan,
    // A lone built-in grep is a batch of one.
    run: (input, ctx) => runAlone<GrepOutput>(scan, 'grep', input, ctx),
  });
}
