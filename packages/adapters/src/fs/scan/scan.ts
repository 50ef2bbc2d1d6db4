/**
 * `fsScan`: the work-sharing object (`Batcher`) of the file adapters. The scheduler hands it
 * the glob, grep and analyze operations that are ready together; it lists each directory once
 * for all of them, and runs the greps and analyses as one pass (one walk, each file read once,
 * every operation's per-file work on the same bytes). A lone operation is a batch of one: the
 * adapters' own `run` goes through here too, so an output never depends on its company.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { AttemptContext, Batcher, BatchMember } from '@fanout/scheduler';
import { AdapterError } from '../../errors.js';
import { AllowedRoots, isInside } from '../../roots.js';
import { GREP_WORKER_SCRIPT, MAX_GREP_THREADS } from '../grep/pool.js';
import { Listings, MAX_SHARED_ENTRIES, type ScanCounters } from './listings.js';
import type { Settle } from './member.js';
import { Pass, type PassConsumer, type PassEnvironment } from './pass.js';
import type { Prepared } from './prepared.js';
import { Lens, type Start } from './walker.js';

/** Options of {@link fsScan}. */
export interface FsScanOptions {
  /**
   * The directories the operations may touch. The adapters that share the scan must have the
   * same roots (an adapter given a scan and no roots takes the scan's).
   * @default [process.cwd()]
   */
  roots?: readonly string[] | AllowedRoots;
  /**
   * Most worker threads one pass uses (all passes of the process share one thread per core in
   * any case). 0 does everything on the main thread: no thread start-up at all, but a runaway
   * regular expression then blocks the process and cannot be stopped.
   *
   * The default leaves a core to the main thread, which walks the tree, lists its directories,
   * feeds the workers and merges what they find: in `explore-codebase` on 2 cores it was the
   * busiest thread (profiles of TanStack Query and Babel: each of two workers idle 35–50% of
   * the run, waiting for it), and a second worker only took CPU from it (same-run medians, load
   * above 20: 2.73 s of CPU against 3.10 s on Query, 12.0 s against 13.9 s on Babel).
   * @default os.availableParallelism() - 1, at least 1
   */
  threads?: number;
  /**
   * Work time a pass whose work cannot run away (literal greps, `stats`, `markers`) spends on
   * the main thread before worker threads take over (skipped when warm workers are idle); 0
   * sends every file to a worker. Starting a worker costs 30–50 ms here: below that a thread
   * would not pay for itself, and none is started when what is left would take less.
   * @default 25
   */
  inlineBudgetMs?: number;
  /**
   * What starting a worker thread is taken to cost, in milliseconds of main-thread work: a
   * pass starts threads only when what is left would take the main thread longer than
   * starting them and sharing it out. Measured here at 30–50 ms; 0 hands over as soon as the
   * `inlineBudgetMs` is spent.
   * @default 40
   */
  threadStartMs?: number;
  /**
   * The worker thread's script, a URL or an absolute path (tests pass freshly compiled sources).
   * @default the built `fs/grep/worker.js` of this package
   */
  workerScript?: URL | string;
  /**
   * Most operations in one batch.
   * @default 64
   */
  maxBatchSize?: number;
}

/** The work-sharing object of the file adapters (see {@link fsScan}). */
export interface FsScan extends Batcher {
  /** The roots every operation of the scan is confined to. */
  readonly roots: AllowedRoots;
  /**
   * What the scan has done so far: batches run, directories listed, files and bytes read. With
   * sharing, a batch over one tree lists each directory and reads each file once, whatever the
   * number of its operations.
   */
  stats(): ScanCounters;
  /**
   * Keeps one set of directory listings (and `.gitignore`-filtered listings) for every batch
   * from now until the hold is released, instead of a fresh set per batch: a tree walked
   * again lists nothing again. Only for a caller that knows nothing it runs meanwhile changes
   * the tree — a read-only exploration whose plan depends on a first look (`explore-codebase`
   * counts the files to choose its size, then walks the same tree for its plan). A batch
   * under a hold sees the tree as the first batch that listed each directory saw it; what
   * another process changes in between is missed, as it would be by a walk already past it.
   * Holds nest: the listings go when the last one is released. Memory is
   * bounded as for one batch (`MAX_SHARED_ENTRIES`).
   *
   * @example
   * const hold = scan.holdListings();
   * try {
   *   const counted = await scheduler.execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**' } }] });
   *   await scheduler.execute(planFrom(counted)); // its walk finds every directory listed
   * } finally {
   *   hold.release();
   * }
   */
  holdListings(): ListingsHold;
}

/** A hold on a scan's listings (see {@link FsScan.holdListings}). */
export interface ListingsHold {
  /** Ends the hold; the listings are dropped once no hold is left. Idempotent. */
  release(): void;
}

/** What a batch's operations share besides the pass. */
export interface BatchShared {
  roots: AllowedRoots;
  listings: Listings;
}

/** How the scan runs one kind of operation; an adapter registers it when it is given the scan. */
// biome-ignore lint/suspicious/noExplicitAny: the scan's registry holds handlers of every input type, as a map of adapters does.
export type ScanHandler<I = any> =
  /** Operations that walk on their own, sharing the batch's listings (glob). */
  (
    | { mode: 'listing'; batched(input: I): boolean; run(input: I, context: AttemptContext, shared: BatchShared): Promise<unknown> }
    /** Operations of the pass (grep, analyze): prepared, then fed by the shared walk and reads. */
    | {
        mode: 'pass';
        batched(input: I): boolean;
        /** Resolves undefined when it settled the operation itself (it could not join the pass). */
        prepare(input: I, context: AttemptContext, settle: Settle, shared: BatchShared): Promise<Prepared | undefined>;
        /**
         * How the operation runs when no other operation of its batch is over the same tree
         * (there is nothing to share): grep with `engine: "auto"` runs `rg` then. Undefined: the
         * pass, alone or not.
         */
        alone?(input: I, context: AttemptContext): Promise<unknown>;
      }
  ) & {
    /**
     * The directories (absolute) the operation walks or reads under, to tell which members of a
     * batch are over the same tree. Undefined: over every tree (it shares with anything).
     */
    trees?(input: I): readonly string[] | undefined;
  };

/** Registers an adapter's handler with a scan (internal: adapters call it when given `scan`). */
export const registerWithScan = Symbol('fanout.fs-scan.register');

interface ScanInternals {
  [registerWithScan](kind: string, handler: ScanHandler, roots: AllowedRoots): void;
}

/** The one batch key of a scan: every operation it batches shares the listings, and grep and analyze the pass. */
const BATCH_KEY = 'fs-scan';

/**
 * Creates a scan: give the same one to the glob, grep and analyze adapters (their `scan`
 * option) and the scheduler batches their operations that are ready together. Without it,
 * each adapter makes its own (sharing work within its kind only).
 *
 * What is shared: every directory listing (globs and the pass), the parsed `.gitignore`
 * files of the globs and analyses, and for greps and analyses one walk of the union of their
 * targets with each file read once for all of them. Each operation keeps its own view (its
 * paths and rules), its own caps, order, progress, errors and result: the same as alone.
 *
 * @example
 * const scan = fsScan({ roots: ['/work/project'] });
 * const scheduler = createScheduler({ adapters: [globAdapter({ scan }), grepAdapter({ scan }), analyzeAdapter({ scan })] });
 */
export function fsScan(options: FsScanOptions = {}): FsScan {
  const roots = options.roots instanceof AllowedRoots ? options.roots : AllowedRoots.of(options.roots);
  const script = options.workerScript;
  const env: PassEnvironment = {
    threads: Math.max(0, Math.min(options.threads ?? Math.max(1, availableParallelism() - 1), MAX_GREP_THREADS)),
    inlineBudgetMs: options.inlineBudgetMs ?? 25,
    threadStartMs: options.threadStartMs ?? 40,
    workerScript: script === undefined ? GREP_WORKER_SCRIPT : typeof script === 'string' && !script.startsWith('file:') ? pathToFileURL(script) : new URL(script),
    roots: roots.realPaths,
  };
  const counters: ScanCounters = { batches: 0, directoriesListed: 0, filesRead: 0, bytesRead: 0 };
  env.counters = counters;
  const handlers = new Map<string, ScanHandler>();
  const listings = (): Listings => new Listings(MAX_SHARED_ENTRIES, counters, env.roots);
  // The listings every batch shares while a hold is on (see `holdListings`).
  let held: Listings | undefined;
  let holds = 0;
  const scan: FsScan & ScanInternals = {
    roots,
    stats: () => ({ ...counters }),
    maxSize: options.maxBatchSize ?? 64,
    key(kind, input) {
      return handlers.get(kind)?.batched(input) === true ? BATCH_KEY : undefined;
    },
    holdListings() {
      holds++;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          if (--holds === 0) held = undefined;
        },
      };
    },
    run(members) {
      counters.batches++;
      const shared = holds > 0 ? (held ??= listings()) : listings();
      runBatch(members, handlers, env, { roots, listings: shared }).catch((error: unknown) => {
        for (const member of members) member.reject(error);
      });
    },
    [registerWithScan](kind, handler, adapterRoots) {
      if (!sameRoots(adapterRoots, roots)) {
        throw new AdapterError('FANOUT_PATH_INVALID', `expected the ${kind} adapter to have the roots of its scan (${roots.paths.join(', ')}), got ${adapterRoots.paths.join(', ')}`, { path: 'roots' });
      }
      if (handlers.has(kind)) throw new AdapterError('FANOUT_OPTION_INVALID', `expected one ${kind} adapter per scan, got a second one: create another fsScan() for it`, { path: 'scan' });
      handlers.set(kind, handler);
    },
  };
  return scan;
}

/** Registers an adapter with `scan`, which must come from {@link fsScan}. */
export function register(scan: FsScan, kind: string, handler: ScanHandler, roots: AllowedRoots): void {
  const internals = scan as Partial<ScanInternals>;
  if (typeof internals[registerWithScan] !== 'function') throw new AdapterError('FANOUT_OPTION_INVALID', 'expected scan to come from fsScan(), got another object', { path: 'scan' });
  internals[registerWithScan](kind, handler, roots);
}

function sameRoots(a: AllowedRoots, b: AllowedRoots): boolean {
  return a === b || (a.paths.length === b.paths.length && a.paths.every((path, i) => path === b.paths[i]));
}

/** Marks a member that must run in the pass even with nothing to share (a hand-over from the ripgrep engine). */
const IN_PASS = Symbol('fanout.fs-scan.in-pass');

/**
 * Runs `input` of `kind` alone through `scan`, as one attempt: a batch of one. Rejects with
 * the signal's reason as soon as it aborts. `inPass`: in the shared pass, never the handler's
 * `alone` (the ripgrep engine hands inputs it cannot answer to the built-in engine this way).
 */
export function runAlone<O>(scan: Batcher, kind: string, input: unknown, context: AttemptContext, inPass = false): Promise<O> {
  const signal = context.signal;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<O>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (settle()) reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const member: BatchMember & { [IN_PASS]?: true } = {
      ...(inPass ? { [IN_PASS]: true as const } : {}),
      kind,
      input,
      context,
      resolve: (output) => {
        if (settle()) resolve(output as O);
      },
      reject: (error) => {
        if (settle()) reject(error);
      },
    };
    try {
      scan.run([member]);
    } catch (error) {
      member.reject(error);
    }
  });
}

/** A lens for a file named in an input, or a target that failed its checks: it has no directory to visit. */
class PlainLens extends Lens {
  visit(): void {
    throw new Error('expected a file target not to be walked');
  }
}

async function runBatch(members: readonly BatchMember[], handlers: ReadonlyMap<string, ScanHandler>, env: PassEnvironment, shared: BatchShared): Promise<void> {
  const preparing: Promise<Prepared | undefined>[] = [];
  const trees = members.map((member) => {
    const handler = handlers.get(member.kind);
    try {
      return handler?.trees?.(member.input);
    } catch {
      return undefined;
    }
  });
  for (const [index, member] of members.entries()) {
    const handler = handlers.get(member.kind);
    const settle: Settle = { resolve: (output) => member.resolve(output), reject: (error) => member.reject(error) };
    if (handler?.mode === 'pass' && handler.alone !== undefined && (member as { [IN_PASS]?: true })[IN_PASS] !== true && !sharesTree(index, trees)) {
      handler.alone(member.input, member.context).then(settle.resolve, settle.reject);
      continue;
    }
    if (handler === undefined) {
      member.reject(new AdapterError('FANOUT_OPTION_INVALID', `expected a ${member.kind} adapter created with this scan, got an operation of a kind it does not know`, { path: 'scan' }));
    } else if (handler.mode === 'listing') {
      handler.run(member.input, member.context, shared).then(settle.resolve, settle.reject);
    } else {
      preparing.push(
        handler.prepare(member.input, member.context, settle, shared).then(
          (prepared) => prepared,
          (error: unknown) => {
            settle.reject(error);
            return undefined;
          },
        ),
      );
    }
  }
  const prepared = (await Promise.all(preparing)).filter((entry): entry is Prepared => entry !== undefined);
  if (prepared.length === 0) return;
  const { consumers, starts } = assemble(prepared);
  await new Pass(env, shared.listings, consumers, starts).run();
}

/** Is member `index` over a tree another member of the batch walks or reads (one of the directories inside the other)? */
function sharesTree(index: number, trees: readonly (readonly string[] | undefined)[]): boolean {
  const mine = trees[index];
  return trees.some((theirs, other) => {
    if (other === index) return false;
    if (mine === undefined || theirs === undefined) return true;
    return mine.some((a) => theirs.some((b) => isInside(a, b) || isInside(b, a)));
  });
}

/** Puts prepared operations together: one lens per target and set of rules, and the walk's starts in the operations' order. */
export function assemble(prepared: readonly Prepared[]): { consumers: PassConsumer[]; starts: Start[] } {
  const lenses = new Map<string, Lens>();
  const starts: Start[] = [];
  for (const { consumer, targets } of prepared) {
    targets.forEach((target, index) => {
      let lens: Lens | undefined;
      if (target.type === 'fatal') {
        lens = new PlainLens();
        starts.push({ type: 'fatal', lens, error: target.error });
      } else {
        const key = target.type === 'dir' ? `${target.rules}\0${target.path}` : `file\0${target.path}\0${target.open}`;
        lens = lenses.get(key);
        if (lens === undefined) {
          if (target.type === 'dir') {
            lens = target.lens();
            starts.push({ type: 'dir', path: target.path, lens, state: target.state(lens) });
          } else {
            lens = new PlainLens();
            starts.push({ type: 'file', path: target.path, open: target.open, lens });
          }
          lenses.set(key, lens);
        }
      }
      lens.subscriptions.push({ member: consumer.member, target: index });
    });
  }
  return { consumers: prepared.map((entry) => entry.consumer), starts };
}
