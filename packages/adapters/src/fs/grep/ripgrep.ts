/**
 * The ripgrep engine: one grep operation as `rg --json` processes, read into the same
 * collector as the built-in engine (`collect.ts`), so that the output — messages, order,
 * caps, `truncated`, errors — is the built-in engine's, message by message.
 *
 * - Paths are checked against the allowed roots first, by the built-in engine's own check
 *   (`resolveTargets`); ripgrep is then given only those absolute paths.
 * - With include or exclude globs, each directory named in the input is one run of `rg`,
 *   started inside it (ripgrep matches anchored globs from its working directory, the
 *   built-in engine from the search path); without globs, consecutive directories go to one
 *   run; files named in the input go together in one run. Runs follow the input's order, and a
 *   file reported twice (`paths: ['src', '.']`) counts once, as in the built-in engine.
 * - `rg --sort path` walks in the built-in engine's order (see `ripgrep-args.ts`), so each
 *   file is reported as it ends and a cap ends the run at once: `rg` is killed (SIGKILL) and
 *   the operation settles once it has exited. An abort kills it too. A count or files search
 *   of one directory runs unsorted, on every core (`unsortedRun`): its files and file errors
 *   are merged, in the walk's order, when the run is over, so they are streamed then. Once
 *   what it found is past what the caps still allow, a cap will cut it: it is stopped and made
 *   again sorted, which stops at the cap (nothing of the first is kept).
 * - ripgrep's errors on standard error (`rg: PATH: Permission denied (os error 13)`) become
 *   the `errors` of the output with the errno's code (`EACCES`); the search goes on, as in
 *   the built-in engine. Exit 1 means no match; exit 2 with only such errors is a search
 *   that had errors.
 *
 * The built-in engine answers in the cases ripgrep cannot answer the same way, which are
 * deliberate: `followSymlinks` (ripgrep would follow a link out of the allowed roots, and
 * checking every reported path afterwards could not undo having read there); a pattern with
 * JavaScript-only syntax (lookaround, backreferences) or one ripgrep refuses; a line whose
 * JSON is over 64 MiB (ripgrep lists every match of a 10 MB line: hundreds of megabytes).
 * Once ripgrep has reported some files,
 * the built-in engine's stream skips what was already reported, so nothing is streamed
 * twice. With `engine: "auto"`, an `rg` that refuses fanout's flags (older than 13, or not
 * ripgrep) is not used again by the process.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { sep } from 'node:path';
import type { AttemptContext } from '@fanout/scheduler';
import { AdapterError } from '../../errors.js';
import { Collector } from './collect.js';
import { withoutBom } from './decode.js';
import { ripgrepEnvironment, spawnRipgrep, type RipgrepProcess, type RipgrepSpawn } from './early.js';
import { checkRipgrepVersion, markUnusable, unusableReason, type GrepEngineName } from './engine.js';
import type { FileOutcome } from './file.js';
import type { GrepOutput, GrepProgress, GrepStats } from './output.js';
import { compilePattern, type MatcherSpec } from './pattern.js';
import { ripgrepArgs, unsortedRun, type RipgrepTargets } from './ripgrep-args.js';
import type { RipgrepEnd } from './messages.js';
import { END_LINE, LineSplitter, RipgrepFiles } from './ripgrep-stream.js';
import { resolveTargets, runGrep, type GrepEnvironment } from './run.js';
import type { GrepInput } from './schema.js';
import type { Target } from './walk.js';

/** What the adapter passes to the ripgrep engine: the built-in engine's environment and the program. */
export interface RipgrepEnvironment extends GrepEnvironment {
  /** The `rg` program. */
  rg: string;
  /** `auto` falls back to the built-in engine when `rg` turns out unusable; `ripgrep` fails. */
  engine: Exclude<GrepEngineName, 'builtin'>;
  /** How `rg` is started (see `GrepAdapterOptions.spawnRipgrep`). @default spawnRipgrep */
  spawn?: RipgrepSpawn | undefined;
}

/** Default caps when the input sets none (the same as the built-in engine's, see the schema). */
const CONTENT_MAX_MATCHES = 10_000;
/** A line of `rg --json` longer than this is not read: the built-in engine answers (see above). */
const LONGEST_LINE = 64 * 1024 * 1024;

let running = 0;

/** `rg` processes of this process that have not exited yet (for tests and monitoring). */
export function ripgrepProcessCount(): number {
  return running;
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, number]) => [number, name]));

/**
 * `rg: PATH: MESSAGE (os error N)` → a file error; anything else → undefined. ripgrep 13
 * (Debian 12's) writes the line without the `rg: ` prefix.
 */
function fileError(line: string): { path: string; code: string; message: string } | undefined {
  const parsed = /^(?:rg: )?(.+): (.+) \(os error (\d+)\)$/.exec(line);
  if (parsed === null) return undefined;
  return { path: parsed[1]!, code: ERRNO_NAMES.get(Number(parsed[3])) ?? 'EIO', message: `${parsed[2]} (os error ${parsed[3]})` };
}

/** The stats the ripgrep engine can know: those of the files that matched (see {@link GrepStats}). */
function knownStats(stats: Required<GrepStats>): GrepStats {
  return { filesWithMatches: stats.filesWithMatches, matches: stats.matches, matchedLines: stats.matchedLines };
}

/** The progress callback without the first `skip` messages (already streamed by ripgrep). */
function skipping(progress: AttemptContext['progress'], skip: number): AttemptContext['progress'] {
  let left = skip;
  return (data) => {
    const report = data as GrepProgress;
    if (left === 0 || report?.type !== 'grep-results') {
      progress(data);
      return;
    }
    const dropped = Math.min(left, report.messages.length);
    left -= dropped;
    if (dropped < report.messages.length) progress({ ...report, messages: report.messages.slice(dropped) });
  };
}

/**
 * The size of `path`'s text as the built-in engine searches it: without a UTF-8 byte order
 * mark, transcoded from UTF-16 (read whole only then). -1 when it cannot be read.
 */
export function searchedSize(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return -1;
  }
  try {
    const head = Buffer.alloc(3);
    const read = readSync(fd, head, 0, 3, 0);
    const size = fstatSync(fd).size;
    if (read === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return size - 3;
    if (read >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return withoutBom(readFileSync(fd)).length;
    return size;
  } catch {
    return -1;
  } finally {
    closeSync(fd);
  }
}

/** One run of `rg`: where, over what. */
interface Run {
  cwd: string;
  targets: RipgrepTargets;
}

/** Runs one grep operation with ripgrep (the adapter's `run` for the ripgrep engine). */
export async function runRipgrep(input: GrepInput, ctx: AttemptContext, env: RipgrepEnvironment): Promise<GrepOutput> {
  ctx.signal.throwIfAborted();
  // The same validation and errors as the built-in engine, and its case decision.
  const spec = compilePattern(input.pattern, input);
  if (input.followSymlinks || spec.builtinOnly !== undefined) return runGrep(input, ctx, env);
  const unusable = unusableReason(env.rg);
  if (unusable !== undefined) {
    if (env.engine === 'auto') return runGrep(input, ctx, env);
    throw new AdapterError('FANOUT_RIPGREP_FAILED', `expected ripgrep 13 or newer for grep.engine "ripgrep", got: ${unusable}`, { path: 'grep.engine' });
  }
  const targets = await resolveTargets(input.paths, env.roots);
  ctx.signal.throwIfAborted();
  const named = new Set<string>();
  const runs: Run[] = [];
  let files: string[] = [];
  const flush = (): void => {
    if (files.length > 0) runs.push({ cwd: env.roots.base, targets: { kind: 'files', paths: files } });
    files = [];
  };
  // Without globs nothing is anchored to the directory a run starts in, so consecutive
  // directories go to one process: a plan's search over the 40 top-level entries of a tree is
  // one rg, not 40 (each spawn blocks the event loop for milliseconds).
  const together = input.include.length === 0 && input.exclude.length === 0;
  for (const target of targets) {
    if (target.isDir) {
      flush();
      const last = runs.at(-1);
      if (together && last !== undefined && last.targets.kind === 'directories') last.targets.paths.push(target.path);
      else runs.push(together ? { cwd: env.roots.base, targets: { kind: 'directories', paths: [target.path] } } : directoryRun(target));
      continue;
    }
    // ripgrep searches a named file whatever its size; the built-in engine keeps its cap.
    let size: number;
    try {
      size = statSync(target.real).size;
    } catch {
      size = 0;
    }
    if (size > input.maxFileSize) continue;
    named.add(target.path);
    files.push(target.path);
  }
  flush();
  return new RipgrepSearch(input, spec, named, ctx, env).run(runs);
}

/** Can the pattern match nothing somewhere (tried where an empty match would show: at the start, between letters)? */
function mayMatchEmpty(spec: MatcherSpec): boolean {
  if (spec.literal !== undefined) return false;
  const regex = new RegExp(spec.source, spec.flags);
  for (const probe of ['', 'é', 'éé', 'x', 'xx', ' é ']) {
    regex.lastIndex = 0;
    for (let found = regex.exec(probe); found !== null; found = regex.exec(probe)) {
      if (found[0] === '') return true;
      regex.lastIndex = found.index + found[0].length;
    }
  }
  return false;
}

function directoryRun(target: Target): Run {
  return { cwd: target.real, targets: { kind: 'directory', path: target.path } };
}

/** Why a run ended early and the built-in engine has to answer. */
class HandOver extends Error {
  override name = 'HandOver';
}

/**
 * A run whose process was given up (`RipgrepProcess.abandoned`): it is made again, and what
 * the first one reported is not reported twice — its files are skipped (`seen`), its file
 * errors (`errors`, each line once per time it was said) are not said again.
 */
class Restart extends Error {
  override name = 'Restart';
  readonly errors: string[];
  constructor(errors: string[]) {
    super('the ripgrep process was given up');
    this.errors = errors;
  }
}

/**
 * Puts the files of an unsorted run ({@link unsortedRun}) in the walk's order: by path,
 * component by component, each compared as the walk compares a directory's entries (UTF-16
 * code units, see `scan/walker.ts`). Outcomes take the walk indices the run's files had, in
 * that order.
 */
function inWalkOrder(files: ReadonlyArray<{ path: string; outcome: FileOutcome }>, firstIndex: number): FileOutcome[] {
  const keyed = files.map((file) => ({ parts: file.path.split(sep), outcome: file.outcome }));
  keyed.sort((a, b) => {
    const n = Math.min(a.parts.length, b.parts.length);
    for (let i = 0; i < n; i++) {
      const x = a.parts[i]!;
      const y = b.parts[i]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.parts.length - b.parts.length;
  });
  return keyed.map((file, i) => ({ ...file.outcome, index: firstIndex + i }));
}

class RipgrepSearch {
  readonly #input: GrepInput;
  readonly #ignoreCase: boolean;
  readonly #mayMatchEmpty: boolean;
  readonly #named: ReadonlySet<string>;
  readonly #ctx: AttemptContext;
  readonly #env: RipgrepEnvironment;
  readonly #collector: Collector;
  readonly #started = performance.now();
  readonly #seen = new Set<string>();
  #index = 0;
  /**
   * The current unsorted run's files and errors, merged once it is over (see {@link unsortedRun}),
   * with what they will print; `overCap` once that is past what the caps still allow.
   */
  #unsorted: { files: Array<{ path: string; outcome: FileOutcome }>; lines: number; bytes: number; overCap: boolean } | undefined;
  #streamed = 0;
  #done = false;
  #child: RipgrepProcess | undefined;

  constructor(input: GrepInput, spec: MatcherSpec, named: ReadonlySet<string>, ctx: AttemptContext, env: RipgrepEnvironment) {
    this.#input = input;
    this.#ignoreCase = spec.flags.includes('i');
    this.#mayMatchEmpty = mayMatchEmpty(spec);
    this.#named = named;
    this.#ctx = ctx;
    this.#env = env;
    const maxMatches = input.maxMatches ?? (input.mode === 'content' ? CONTENT_MAX_MATCHES : Number.POSITIVE_INFINITY);
    // `after`: the collector's cut at `maxMatches` keeps the context after the last line let through, as the built-in engine's does.
    this.#collector = new Collector({ maxMatches, maxOutputBytes: input.maxOutputBytes, after: input.after ?? input.context }, input.mode, (messages) => {
      // ctx is only valid until the operation settles.
      if (this.#done) return;
      this.#streamed += messages.length;
      const progress: GrepProgress = { type: 'grep-results', messages, stats: knownStats(this.#collector.stats) };
      this.#ctx.progress(progress);
    });
  }

  async run(runs: readonly Run[]): Promise<GrepOutput> {
    const signal = this.#ctx.signal;
    const onAbort = (): void => this.#kill();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (const run of runs) {
        if (this.#collector.full) break;
        const firstIndex = this.#index;
        const unsortedRunning = unsortedRun(this.#input, run.targets);
        // What was seen before an unsorted run, for its sorted run again should a cap cut it.
        const seenBefore = unsortedRunning ? new Set(this.#seen) : undefined;
        this.#unsorted = unsortedRunning ? { files: [], lines: 0, bytes: 0, overCap: false } : undefined;
        await this.#runToEnd(run);
        signal.throwIfAborted();
        const unsorted = this.#unsorted;
        this.#unsorted = undefined;
        if (unsorted?.overCap === true) {
          // A cap will cut this run: it is made again sorted, which streams in order and stops
          // at the cap. Nothing of the first was merged; its files are reported by the second.
          this.#index = firstIndex;
          this.#seen.clear();
          for (const path of seenBefore!) this.#seen.add(path);
          await this.#runToEnd(run);
          signal.throwIfAborted();
        } else if (unsorted !== undefined) {
          this.#collector.add(inWalkOrder(unsorted.files, firstIndex));
          this.#index = firstIndex + unsorted.files.length;
        }
      }
    } catch (error) {
      this.#kill();
      if (!(error instanceof HandOver) || signal.aborted) throw signal.aborted ? signal.reason : error;
      // Nothing of the built-in engine's stream is reported twice.
      this.#done = true;
      const ctx = this.#ctx;
      const progress = skipping((data) => ctx.progress(data), this.#streamed);
      // The context's fields one by one: it may hold them as getters, which a spread would lose.
      return runGrep(this.#input, { id: ctx.id, kind: ctx.kind, attempt: ctx.attempt, signal: ctx.signal, deadline: ctx.deadline, progress }, this.#env);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    this.#done = true;
    const collector = this.#collector;
    const summary = collector.summary((performance.now() - this.#started) * 1e6);
    return { messages: [...collector.messages, summary], stats: knownStats(collector.stats), truncated: collector.truncated, errors: collector.errors };
  }

  #kill(): void {
    this.#child?.kill('SIGKILL');
  }

  /**
   * One run, made again once should its process be given up (see {@link Restart}); unsorted
   * while {@link #unsorted} holds its files.
   */
  async #runToEnd(run: Run): Promise<void> {
    try {
      await this.#runOnce(run, []);
    } catch (error) {
      if (!(error instanceof Restart)) throw error;
      // The spawner now starts a process of its own (an early one is adopted once). What
      // the given-up one reported stays (its files are skipped by the new one).
      await this.#runOnce(run, error.errors);
    }
  }

  /**
   * One `rg` process, to its exit (or until a cap is reached, an abort, or a hand-over).
   * `said`: the file errors an abandoned process of the same run reported (see {@link Restart}).
   */
  #runOnce(run: Run, said: readonly string[]): Promise<void> {
    const input = this.#input;
    const collector = this.#collector;
    const start = this.#env.spawn ?? spawnRipgrep;
    const child = start(this.#env.rg, ripgrepArgs(input, this.#ignoreCase, run.targets, this.#unsorted !== undefined), { cwd: run.cwd, env: ripgrepEnvironment() });
    this.#child = child;
    running++;
    let stopped = false;
    let handOver: string | undefined;
    let sawOutput = false;
    const otherErrors: string[] = [];
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      child.kill('SIGKILL');
    };
    const files = new RipgrepFiles({
      mode: input.mode,
      maxCount: input.maxCount ?? Number.POSITIVE_INFINITY,
      lineMatches: input.mode === 'count' && input.maxMatches !== undefined,
      mayMatchEmpty: this.#mayMatchEmpty,
      named: this.#named,
      sizeOf: searchedSize,
      seen: this.#seen,
      nextIndex: () => this.#index++,
      emit: (outcome: FileOutcome, path: string) => {
        const held = this.#unsorted;
        if (held === undefined) {
          batch.push(outcome);
          return;
        }
        held.files.push({ path, outcome });
        if (outcome.status !== 'searched' || outcome.messages.length === 0) return;
        // What the file will print, as its end message says: past what the caps still allow,
        // the cap cuts this run somewhere, and only a sorted run says where without searching
        // the rest of the tree (and holding all of it here).
        held.lines += outcome.matchedLines;
        held.bytes += (outcome.messages.at(-1) as RipgrepEnd).data.stats.bytes_printed;
        if (held.lines > collector.remainingLines || held.bytes > collector.remainingBytes) {
          held.overCap = true;
          stop();
        }
      },
    });
    // The files of one chunk of output are merged (and streamed as progress) together: one
    // event per file would cost more than the search on a tree of small files.
    let batch: FileOutcome[] = [];
    const lines = new LineSplitter(
      LONGEST_LINE,
      (line, start, end) => {
        if (stopped) return;
        sawOutput = true;
        files.line(line, start, end);
      },
      () => {
        handOver = `a line of ripgrep's output over ${LONGEST_LINE} bytes (in ${files.current ?? 'a file'})`;
        stop();
      },
      (type) => files.keep(type),
      // What keep refuses (match and context lines, in count and files modes) runs up to the file's end line.
      END_LINE,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      if (stopped) return;
      lines.push(chunk);
      if (batch.length === 0) return;
      const outcomes = batch;
      batch = [];
      collector.add(outcomes);
      if (collector.full) stop();
    });
    let stderr = '';
    const reported: string[] = [];
    const repeated = new Map<string, number>();
    for (const line of said) repeated.set(line, (repeated.get(line) ?? 0) + 1);
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      let newline = stderr.indexOf('\n');
      while (newline !== -1) {
        const line = stderr.slice(0, newline);
        stderr = stderr.slice(newline + 1);
        const error = fileError(line);
        const again = repeated.get(line) ?? 0;
        if (error !== undefined && again > 0) repeated.set(line, again - 1);
        else if (error !== undefined) {
          reported.push(line);
          // In an unsorted run, an error takes its place in the walk's order with the files
          // (and, past a cap, goes unreported, as the built-in engine's does).
          if (this.#unsorted === undefined) collector.error(error);
          else this.#unsorted.files.push({ path: error.path, outcome: { index: -1, status: 'error', ...error } });
        } else if (line.trim() !== '') otherErrors.push(line);
        newline = stderr.indexOf('\n');
      }
    });
    let exited = false;
    const exit = (): void => {
      if (exited) return;
      exited = true;
      running--;
      this.#child = undefined;
    };
    return new Promise<void>((resolve, reject) => {
      child.once('error', (error) => {
        exit();
        reject(new AdapterError('FANOUT_RIPGREP_FAILED', `expected to run ripgrep (${this.#env.rg}), got: ${error.message}`, { cause: error, classification: { class: 'retryable' } }));
      });
      child.once('close', (code, signal) => {
        exit();
        if (stderr.trim() !== '') otherErrors.push(stderr.trim());
        if (handOver !== undefined) reject(new HandOver(handOver));
        else if (child.abandoned === true && !stopped && !this.#ctx.signal.aborted) {
          // The file it was reading is reported whole by the next run.
          files.abandon();
          reject(new Restart([...said, ...reported]));
        } else if (stopped || this.#ctx.signal.aborted) resolve();
        else if (code === 0 || code === 1 || (code === 2 && (sawOutput || otherErrors.length === 0))) resolve();
        else this.#refused(code, signal, otherErrors).then(resolve, reject);
      });
    });
  }

  /**
   * `rg` failed before searching anything. Too old or not ripgrep: `auto` hands over to the
   * built-in engine (and the process stops using this `rg`), `ripgrep` fails. A pattern or
   * glob it refuses: the built-in engine, which accepted it, answers.
   */
  async #refused(code: number | null, signal: NodeJS.Signals | null, messages: string[]): Promise<never> {
    const said = messages.join('\n').slice(0, 2000);
    if (signal !== null) throw new AdapterError('FANOUT_RIPGREP_FAILED', `expected ripgrep (${this.#env.rg}) to exit, got signal ${signal}: ${said}`, { classification: { class: 'retryable' } });
    if (/regex parse error|error parsing glob|exceeds size limit/i.test(said)) throw new HandOver(`ripgrep refused the input: ${said}`);
    const version = await checkRipgrepVersion(this.#env.rg);
    if (version !== undefined) {
      markUnusable(this.#env.rg, version);
      if (this.#env.engine === 'auto') throw new HandOver(version);
      throw new AdapterError('FANOUT_RIPGREP_FAILED', `expected ripgrep 13 or newer for grep.engine "ripgrep", got: ${version}`, { path: 'grep.engine' });
    }
    throw new AdapterError('FANOUT_RIPGREP_FAILED', `expected ripgrep (${this.#env.rg}) to search, got exit ${code}: ${said}`, {});
  }
}
