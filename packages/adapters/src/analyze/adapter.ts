import { stat } from 'node:fs/promises';
import { defaultClassify, type Adapter, type AttemptContext } from '@fanout/scheduler';
import { AdapterError, classifyAdapterError, fromFsError } from '../errors.js';
import { AllowedRoots } from '../roots.js';
import { discoverFiles } from './discover.js';
import type { MarkersResult } from './markers.js';
import type { AnalyzeOutput, ModuleOutput } from './output.js';
import { WorkerPool, type WorkerCounts } from './pool.js';
import { analyzeInputSchema, type AnalyzeInput } from './schema.js';
import type { StatsResult } from './stats.js';

/** Options of {@link analyzeAdapter}. */
export interface AnalyzeAdapterOptions {
  /** Where files and analyzer modules may be. @default [process.cwd()] */
  roots?: string[] | AllowedRoots;
  /** Hard cap of concurrent analyses, and so of worker threads. @default 24 */
  maxConcurrency?: number;
  /** Where the scheduler's adaptive limit starts. @default 12 */
  optimalConcurrency?: number;
  /** Timeout of each analysis; it ends the worker thread. @default 120000 */
  timeoutMs?: number;
  /**
   * Whether an analysis may run again after a failure the scheduler retries (a timeout).
   * The built-ins only read; analyzer modules are expected to (see the contract) — pass
   * `false` if yours has side effects.
   * @default true
   */
  idempotent?: boolean;
  /** Default of the input's `maxFiles`. @default 100000 */
  maxFiles?: number;
  /** Default of the input's `maxMarkers`. @default 1000 */
  maxMarkers?: number;
  /** Directory listings at once while finding files. @default 16 */
  discoveryConcurrency?: number;
  /** An idle worker thread ends after this long (`Infinity`: at `close()`). @default 30000 */
  idleTimeoutMs?: number;
  /**
   * The worker's entry module. Only needed when this package is bundled and `worker.js` no
   * longer sits next to this module.
   * @default new URL('./worker.js', import.meta.url)
   */
  workerScript?: URL | string;
}

/** The analyze adapter: an `Adapter` that owns a pool of worker threads. */
export interface AnalyzeAdapter extends Adapter<AnalyzeInput, AnalyzeOutput> {
  /** Thread counts of its pool right now (`live` threads, `busy`, `idle`, `queued` tasks). */
  workers(): WorkerCounts;
  /** Ends the pool's threads (running analyses reject with `FANOUT_ABORTED`); later analyses start new ones. */
  close(): Promise<void>;
}

/**
 * The `analyze` adapter: CPU-bound analysis of files on a pool of worker threads. Built-in
 * `stats` (files, lines, bytes per language) and `markers` (TODO / FIXME / HACK / XXX with
 * positions), or a user analyzer module (see `Analyzer`). Files are found in the main thread
 * (I/O), analysed in a worker (CPU); an abort or a timeout terminates that worker at once.
 * Idle workers never keep the process alive; `close()` ends them all.
 *
 * @example
 * const analyze = analyzeAdapter({ roots: ['/work/project'] });
 * const scheduler = createScheduler({ adapters: [analyze] });
 * const result = await scheduler.execute({ operations: [
 *   { id: 'todo', kind: 'analyze', input: { analyzer: 'markers', paths: ['src'] } },
 * ] });
 * await analyze.close();
 */
export function analyzeAdapter(options: AnalyzeAdapterOptions = {}): AnalyzeAdapter {
  const roots = options.roots instanceof AllowedRoots ? options.roots : AllowedRoots.of(options.roots);
  const maxConcurrency = options.maxConcurrency ?? 24;
  const discoveryConcurrency = options.discoveryConcurrency ?? 16;
  const defaults = { maxConcurrency, optimalConcurrency: Math.min(options.optimalConcurrency ?? 12, maxConcurrency), timeoutMs: options.timeoutMs ?? 120_000, idempotent: options.idempotent ?? true };
  const pool = new WorkerPool({ script: options.workerScript ?? new URL('./worker.js', import.meta.url), maxWorkers: maxConcurrency, idleTimeoutMs: options.idleTimeoutMs ?? 30_000 });
  const schemaDefaults: { maxFiles?: number; maxMarkers?: number } = {};
  if (options.maxFiles !== undefined) schemaDefaults.maxFiles = options.maxFiles;
  if (options.maxMarkers !== undefined) schemaDefaults.maxMarkers = options.maxMarkers;

  async function checkModule(module: string): Promise<{ path: string; real: string }> {
    const safe = await roots.check(module, 'module');
    if (!safe.exists) throw new AdapterError('FANOUT_ANALYZER_INVALID', `expected module to name an analyzer module file, got ${JSON.stringify(module)} (${safe.path} does not exist)`, { path: 'module' });
    let info;
    try {
      info = await stat(safe.real);
    } catch (error) {
      throw fromFsError(error, safe.path, 'module');
    }
    if (!info.isFile()) throw new AdapterError('FANOUT_ANALYZER_INVALID', `expected module to name an analyzer module file, got ${JSON.stringify(module)} (${safe.path} is not a file)`, { path: 'module' });
    return safe;
  }

  async function run(input: AnalyzeInput, context: AttemptContext): Promise<AnalyzeOutput> {
    const signal = context.signal;
    const progress = (data: unknown): void => context.progress(data);
    const module = input.analyzer === 'module' ? await checkModule(input.module) : undefined;
    const found = await discoverFiles(input, roots, signal, discoveryConcurrency);
    switch (input.analyzer) {
      case 'stats': {
        const stats = (await pool.run({ analyzer: 'stats', files: found.files }, signal, progress)) as StatsResult;
        return { ...stats, skipped: [...found.skipped, ...stats.skipped], truncated: found.truncated };
      }
      case 'markers': {
        const job = { analyzer: 'markers', files: found.files, kinds: input.kinds, maxMarkers: input.maxMarkers } as const;
        const markers = (await pool.run(job, signal, progress)) as MarkersResult;
        return { ...markers, skipped: [...found.skipped, ...markers.skipped], truncated: markers.truncated || found.truncated };
      }
      case 'module': {
        const job = { analyzer: 'module', files: found.files, truncated: found.truncated, module: module!.real, options: input.options, roots: roots.paths } as const;
        const result = await pool.run(job, signal, progress);
        const output: ModuleOutput = { analyzer: 'module', module: module!.path, files: found.files.length, truncated: found.truncated, result };
        return output;
      }
    }
  }

  return {
    kind: 'analyze',
    input: analyzeInputSchema(schemaDefaults),
    defaults,
    run,
    classify: (error) => classifyAdapterError(error, defaultClassify),
    // Analyses only read; files being written meanwhile are read as they are.
    locks: () => [],
    workers: () => pool.counts(),
    close: () => pool.close(),
  };
}
