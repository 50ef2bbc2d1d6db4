/**
 * One grep operation of the built-in engine as a member of a scan pass (alone, it is a pass
 * of one): its paths are checked and its pattern compiled up front; the pass walks and reads;
 * the member puts the per-file outcomes in its walk order, applies its caps in the collector
 * and streams each merged piece through `ctx.progress`. It ends as soon as a cap is reached,
 * when its targets are walked and every file merged, or when its regular expression ran past
 * its time budget on a file (`FANOUT_REGEX_TOO_SLOW`, see `regex-budget.ts`).
 */
import type { AttemptContext } from '@fanout/scheduler';
import { AdapterError, fromFsError } from '../../errors.js';
import { stat } from '../../path-calls.js';
import type { AllowedRoots } from '../../roots.js';
import { ScanMember, type Ordered, type Settle } from '../scan/member.js';
import type { Prepared } from '../scan/prepared.js';
import { runAlone, type FsScan } from '../scan/scan.js';
import { noMatchOutcome, type ConsumerOutcome } from '../scan/work.js';
import { Collector, type Caps } from './collect.js';
import { TOO_SLOW, type FileOutcome, type FileSearchConfig } from './file.js';
import { Globs } from './globs.js';
import type { GrepOutput, GrepProgress, GrepStats } from './output.js';
import { compilePattern, regexTooSlow } from './pattern.js';
import { REGEX_BUDGET_MS } from './regex-budget.js';
import type { GrepInput } from './schema.js';
import { errorOf, GrepLens, type GrepWalkOptions, type Target } from './walk.js';

/** Default caps when the input sets none (see the schema). */
const CONTENT_MAX_MATCHES = 10_000;

/** What the adapter gives the built-in engine (and the ripgrep engine, which hands it some inputs). */
export interface GrepEnvironment {
  roots: AllowedRoots;
  /** How long a regular expression may spend on one file (see `regex-budget.ts`). @default REGEX_BUDGET_MS */
  regexBudgetMs?: number;
  /** The scan the built-in engine runs in. */
  scan: FsScan;
}

/** Runs one grep on the built-in engine, alone (a batch of one of its scan, in its pass whatever the engine). */
export function runGrep(input: GrepInput, ctx: AttemptContext, env: GrepEnvironment): Promise<GrepOutput> {
  return runAlone<GrepOutput>(env.scan, 'grep', input, ctx, true);
}

/** The stats both engines know (see {@link GrepStats}). */
export function sharedStats(stats: GrepStats): GrepStats {
  return { filesWithMatches: stats.filesWithMatches, matches: stats.matches, matchedLines: stats.matchedLines };
}

/** Resolves every input path through the allowed roots; the error names the field (the ripgrep engine's check too). */
export async function resolveTargets(paths: readonly string[], roots: AllowedRoots): Promise<Target[]> {
  const targets: Target[] = [];
  for (const [i, path] of paths.entries()) {
    const field = `paths[${i}]`;
    const safe = await roots.check(path, field);
    if (!safe.exists) throw new AdapterError('FANOUT_NOT_FOUND', `expected ${field} (${JSON.stringify(path)}) to exist, but ${safe.path} does not`, { path: field });
    let info;
    try {
      info = await stat(safe.real);
    } catch (error) {
      throw fromFsError(error, safe.path, field);
    }
    if (!info.isDirectory() && !info.isFile()) {
      throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to be a file or a directory, got something else at ${safe.path}`, { path: field });
    }
    targets.push({ path: safe.path, real: safe.real, isDir: info.isDirectory() });
  }
  return targets;
}

/**
 * Prepares a grep operation for a pass: compiles its pattern and checks its paths. Throws the
 * error the operation fails with (a bad pattern, a path outside the roots or missing).
 * `sharedStatsOnly`: report only the stats the ripgrep engine knows too (an `auto` grep, which
 * runs on either engine depending on its company, so its output does not depend on it).
 */
export async function prepareGrep(input: GrepInput, context: AttemptContext, settle: Settle, roots: AllowedRoots, budgetMs = REGEX_BUDGET_MS, sharedStatsOnly = false): Promise<Prepared> {
  const signal = context.signal;
  signal.throwIfAborted();
  const matcher = compilePattern(input.pattern, input);
  const targets = await resolveTargets(input.paths, roots);
  signal.throwIfAborted();
  const maxMatches = input.maxMatches ?? (input.mode === 'content' ? CONTENT_MAX_MATCHES : Number.POSITIVE_INFINITY);
  const config: FileSearchConfig = {
    matcher,
    mode: input.mode,
    before: input.before ?? input.context,
    after: input.after ?? input.context,
    maxCount: input.maxCount ?? Number.POSITIVE_INFINITY,
    maxFileSize: input.maxFileSize,
    followSymlinks: input.followSymlinks,
    lineMatches: input.mode === 'count' && Number.isFinite(maxMatches),
    budgetMs,
  };
  const member = new GrepMember(
    input,
    targets.map((target) => target.path),
    context,
    settle,
    { maxMatches, maxOutputBytes: input.maxOutputBytes, after: config.after },
    budgetMs,
    sharedStatsOnly,
  );
  const walk: GrepWalkOptions = {
    hidden: input.hidden,
    ignore: input.ignore,
    gitignore: input.gitignore,
    requireGit: input.requireGit,
    followSymlinks: input.followSymlinks,
    globs: new Globs(input.include, input.exclude),
    roots,
  };
  // Greps with the same walk rules share a lens (and so the rules' evaluation) per target.
  const rules = `grep\0${JSON.stringify([input.hidden, input.ignore, input.gitignore, input.requireGit, input.followSymlinks, input.include, input.exclude])}`;
  return {
    consumer: { member, spec: { type: 'grep', config }, hint: () => member.remainingLines, stalled: (path) => member.tooSlow(path) },
    targets: targets.map((target) =>
      target.isDir ? { type: 'dir', path: target.path, rules, lens: () => new GrepLens(walk), state: (lens) => (lens as GrepLens).startState(target) } : { type: 'file', path: target.path, open: target.real },
    ),
  };
}

/** A grep operation in a pass: its collector, fed in walk order. */
class GrepMember extends ScanMember {
  readonly #collector: Collector;
  readonly #started = performance.now();
  readonly #pattern: string;
  readonly #budgetMs: number;
  readonly #stats: (stats: GrepStats) => GrepStats;
  #index = 0;
  /** Files its walk found binary: named in the input as well, they are searched again. */
  readonly #walkedBinary = new Set<string>();

  constructor(input: GrepInput, paths: readonly string[], context: AttemptContext, settle: Settle, caps: Caps, budgetMs: number, sharedStatsOnly: boolean) {
    super(paths, context, settle);
    this.#pattern = input.pattern;
    this.#budgetMs = budgetMs;
    this.#stats = sharedStatsOnly ? sharedStats : (stats) => ({ ...stats });
    this.#collector = new Collector(caps, input.mode, (messages) => {
      // ctx is only valid until the operation settles.
      if (this.ended) return;
      const progress: GrepProgress = { type: 'grep-results', messages, stats: this.#stats(this.#collector.stats) };
      context.progress(progress);
    });
  }

  /** Matching lines the total cap still allows (a hint for the per-file search). */
  get remainingLines(): number {
    return this.#collector.remainingLines;
  }

  /** A file's outcome: past the regular expression's budget, the operation fails at once, whatever its order. */
  override deliver(id: number, outcome: ConsumerOutcome): void {
    const file = outcome as FileOutcome | number;
    if (typeof file !== 'number' && file.status === 'error' && file.code === TOO_SLOW) {
      this.tooSlow(file.path);
      return;
    }
    super.deliver(id, outcome);
  }

  /** Fails the operation: its regular expression ran past its time budget on `path`. */
  tooSlow(path: string): void {
    this.fail(regexTooSlow(this.#pattern, path, this.#budgetMs));
  }

  /**
   * ripgrep searches a file named in its input even when its walk met the file first, and
   * reports the file once (the first report wins, see `ripgrep-stream.ts`). Only a file the
   * walk found binary can tell: the walk drops it, while a named file is searched whole.
   */
  protected override retakesNamed(): boolean {
    return true;
  }

  protected take(items: readonly Ordered[]): void {
    const outcomes: FileOutcome[] = [];
    for (const item of items) {
      if (item.kind === 'file') {
        const delivered = item.outcome as FileOutcome | number;
        const outcome = typeof delivered === 'number' ? noMatchOutcome(0, delivered) : delivered;
        if (item.again === true) {
          if (!this.#walkedBinary.delete(item.path)) continue;
        } else if (outcome.status === 'binary') {
          this.#walkedBinary.add(item.path);
        }
        outcome.index = this.#index++;
        outcomes.push(outcome);
      } else {
        const index = this.#index++;
        const error = item.item.kind === 'error' ? item.item.error : errorOf(item.item.path, item.item.error);
        outcomes.push({ index, status: 'error', path: error.path, code: error.code, message: error.message });
      }
    }
    this.#collector.add(outcomes);
    if (this.#collector.full) this.finish();
  }

  protected finish(): void {
    const collector = this.#collector;
    const summary = collector.summary((performance.now() - this.#started) * 1e6);
    const output: GrepOutput = { messages: [...collector.messages, summary], stats: this.#stats(collector.stats), truncated: collector.truncated, errors: collector.errors };
    this.resolve(output);
  }
}
