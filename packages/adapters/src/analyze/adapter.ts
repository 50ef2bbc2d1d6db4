import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defaultClassify, type Adapter, type AttemptContext } from '@fanout/scheduler';
import { AdapterError, classifyAdapterError, fromFsError } from '../errors.js';
import { scanOf } from '../fs/fs-options.js';
import { register, runAlone, type FsScan } from '../fs/scan/scan.js';
import type { AllowedRoots } from '../roots.js';
import { discoverFiles } from './discover.js';
import { prepareAnalyze } from './members.js';
import type { AnalyzeOutput, ModuleOutput } from './output.js';
import { WorkerPool, type WorkerCounts } from './pool.js';
import type { Job } from './protocol.js';
import { analyzeInputSchema, type AnalyzeInput } from './schema.js';

/** Options of {@link analyzeAdapter}. */
export interface AnalyzeAdapterOptions {
  /** Where files and analyzer modules may be. @default [process.cwd()], or the scan's roots */
  roots?: readonly string[] | AllowedRoots;
  /**
   * The scan the built-in analyses share work with (see `fsScan`): `stats` and `markers` ready
   * together with greps walk the tree with them and read each file once; the per-file work
   * runs in the scan's threads (or on the main thread when it is small), not in this
   * adapter's pool, which runs analyzer modules only.
   * @default a scan of its own
   */
  scan?: FsScan;
  /** Hard cap of concurrent analyses, and so of this adapter's worker threads (analyzer modules). @default 24 */
  maxConcurrency?: number;
  /** Where the scheduler's adaptive limit starts. @default 12 */
  optimalConcurrency?: number;
  /** Timeout of each analysis; it ends the work (an analyzer module's worker thread). @default 120000 */
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
  /**
   * No longer used: files are found by the scan's walk, which lists directories
   * synchronously between yields to the event loop.
   * @deprecated
   */
  discoveryConcurrency?: number;
  /** An idle worker thread ends after this long (`Infinity`: at `close()`). @default 30000 */
  idleTimeoutMs?: number;
  /**
   * The entry module of the analyzer-module workers. Only needed when this package is bundled
   * and `worker.js` no longer sits next to this module.
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
 * The `analyze` adapter: CPU-bound analysis of files. Built-in `stats` (files, lines, bytes
 * per language) and `markers` (TODO / FIXME / HACK / XXX with positions) run in the shared
 * scan (see `fsScan`): one walk and one read of each file with the greps and analyses ready
 * at the same time. A user analyzer module (see `Analyzer`) runs on this adapter's own pool
 * of worker threads, over the files the same walk finds; an abort or a timeout terminates
 * its worker at once. Idle workers never keep the process alive; `close()` ends them all.
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
  const { roots, scan } = scanOf(options);
  const maxConcurrency = options.maxConcurrency ?? 24;
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

  register(
    scan,
    'analyze',
    {
      mode: 'pass',
      batched: (input: AnalyzeInput) => input.analyzer !== 'module',
      prepare: (input: AnalyzeInput, context, settle, shared) => prepareAnalyze(input as Exclude<AnalyzeInput, { analyzer: 'module' }>, context, settle, shared),
      trees: (input: AnalyzeInput) => input.paths.map((path) => resolve(roots.base, path)),
    },
    roots,
  );

  async function run(input: AnalyzeInput, context: AttemptContext): Promise<AnalyzeOutput> {
    // A lone built-in analysis is a batch of one.
    if (input.analyzer !== 'module') return runAlone<AnalyzeOutput>(scan, 'analyze', input, context);
    const signal = context.signal;
    const progress = (data: unknown): void => context.progress(data);
    const module = await checkModule(input.module);
    const found = await discoverFiles(input, roots, signal);
    const job: Job = { analyzer: 'module', files: found.files, truncated: found.truncated, module: module.real, options: input.options, roots: [...roots.paths] };
    const result = await pool.run(job, signal, progress);
    const output: ModuleOutput = { analyzer: 'module', module: module.path, files: found.files.length, truncated: found.truncated, result };
    return output;
  }

  return {
    kind: 'analyze',
    input: analyzeInputSchema(schemaDefaults),
    defaults,
    batcher: scan,
    run,
    classify: (error) => classifyAdapterError(error, defaultClassify),
    // Analyses only read; files being written meanwhile are read as they are.
    locks: () => [],
    workers: () => pool.counts(),
    close: () => pool.close(),
  };
}
