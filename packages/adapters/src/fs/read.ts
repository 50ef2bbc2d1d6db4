import { defaultClassify, type Adapter, type LockSpec } from '@fanout/scheduler';
import pLimit from 'p-limit';
import { z } from 'zod';
import { resolve } from 'node:path';
import { AdapterError, classifyAdapterError, fromFsError, type AdapterErrorCode } from '../errors.js';
import { RealDirectories } from '../open-inside.js';
import { FILE_OPERATION_DEFAULTS, fileLockKeys, toRoots, type FsAdapterOptions } from './fs-options.js';
import { readOneFile, type LineRange, type ReadFile, type ReadRequest } from './read-file.js';
import { sharedSyncSlices, SyncReads, SyncSlices, type SyncReadOptions } from './sync-slices.js';
import { canonicalEncoding, ENCODINGS } from './text-encoding.js';

/** Largest `maxBytes` and `maxTotalBytes`: about the longest string V8 makes (2^29 − 24 characters). */
const MAX_CAP_BYTES = 512 * 1024 * 1024;

const pathString = z
  .string()
  .min(1, 'expected a non-empty path')
  .refine((path) => !path.includes('\0'), 'expected a path without NUL bytes');
const lineNumber = z.int().min(1);

/**
 * The input of `read`: one `path` or a list of `paths`, an encoding, an optional line range
 * (`head`, `tail`, or `from`–`to`) and byte caps.
 *
 * @example
 * { "paths": ["src/index.ts", "README.md"], "head": 40 }
 */
export const readInputSchema = z
  .strictObject({
    /** One file, relative to the first root or absolute. */
    path: pathString.optional(),
    /** Several files; each gets its own entry in the output, in this order. */
    paths: z.array(pathString).min(1).max(100_000).optional(),
    /** @default "utf8" */
    encoding: z.enum(ENCODINGS).optional(),
    /** Only the first N lines. */
    head: lineNumber.optional(),
    /** Only the last N lines. */
    tail: lineNumber.optional(),
    /** First line to read (1-based). @default 1 when `to` is given */
    from: lineNumber.optional(),
    /** Last line to read (inclusive). @default the last line */
    to: lineNumber.optional(),
    /** Most bytes of content kept per file; more is cut and marked `truncated`. @default 1048576 (1 MiB) */
    maxBytes: z.int().min(0).max(MAX_CAP_BYTES).optional(),
    /** Most bytes kept over all the files of the operation. @default 33554432 (32 MiB) */
    maxTotalBytes: z.int().min(0).max(MAX_CAP_BYTES).optional(),
    /** Files read at once within the operation. @default 16 */
    concurrency: z.int().min(1).max(256).optional(),
    /**
     * Read a FIFO (named pipe) a path names, as a stream: the read waits for a writer and
     * ends when it closes, or at the timeout. Without it a FIFO is refused
     * (`FANOUT_SPECIAL_FILE`), like sockets and devices: a pipe nobody writes to would hold
     * the read until its timeout, attempt after attempt.
     * @default false
     */
    fifo: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    if (input.path === undefined && input.paths === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'expected "path" (one file) or "paths" (a list), got neither' });
    } else if (input.path !== undefined && input.paths !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['paths'], message: 'expected "path" or "paths", got both' });
    }
    const ranges = [
      input.head === undefined ? undefined : 'head',
      input.tail === undefined ? undefined : 'tail',
      input.from === undefined && input.to === undefined ? undefined : input.from === undefined ? 'to' : 'from',
    ].filter((name) => name !== undefined);
    if (ranges.length > 1) {
      ctx.addIssue({ code: 'custom', path: [ranges[1]!], message: `expected one line range (head, tail, or from/to), got ${ranges.join(' and ')}` });
    }
    if (input.from !== undefined && input.to !== undefined && input.to < input.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `expected "to" ≥ "from" (${input.from}), got ${input.to}` });
    }
  });

/** What `read` receives. */
export type ReadInput = z.output<typeof readInputSchema>;

/** What `read` returns: one entry per path asked for, in order. */
export interface ReadOutput {
  files: ReadFile[];
}

/** Options of {@link readAdapter}. */
export interface ReadAdapterOptions extends FsAdapterOptions {
  /** Default of the input's `maxBytes`. @default 1048576 (1 MiB) */
  maxBytes?: number;
  /** Default of the input's `maxTotalBytes`. @default 33554432 (32 MiB) */
  maxTotalBytes?: number;
  /** Default of the input's `concurrency`. @default 16 */
  concurrency?: number;
  /**
   * Small files read whole are opened and read on the main thread, in slices of each turn of
   * the event loop (see the README, "read"); `false` sends every open and read through the
   * thread pool. Options given here make slices of this adapter's own; by default all
   * `read` adapters of a thread share one.
   * @default { ms: 2, bytes: 1048576, fileBytes: 65536, slowMs: 50 }
   */
  syncReads?: SyncReadOptions | false;
}

/** Default `timeoutMs` of `read`. @default 30000 */
export const READ_TIMEOUT_MS = 30_000;

function pathsOf(input: ReadInput): string[] {
  return input.paths ?? [input.path!];
}

function rangeOf(input: ReadInput): LineRange | undefined {
  if (input.head !== undefined) return { kind: 'head', count: input.head };
  if (input.tail !== undefined) return { kind: 'tail', count: input.tail };
  if (input.from !== undefined || input.to !== undefined) return { kind: 'span', from: input.from ?? 1, to: input.to ?? Infinity };
  return undefined;
}

/**
 * The bytes left for the files of one operation. Each file reserves what it may keep (its
 * cap, or its size when smaller) once it is open, before reading, and gives back what it
 * did not use, so the operation never holds more than `maxTotalBytes`; when the budget runs
 * out, which files are cut depends on the order the reads finish in.
 */
class ByteBudget {
  #left: number;
  constructor(total: number) {
    this.#left = total;
  }
  take(wanted: number): number {
    const granted = Math.min(wanted, this.#left);
    this.#left -= granted;
    return granted;
  }
  giveBack(bytes: number): void {
    this.#left += bytes;
  }
}

/**
 * The `read` adapter: reads files inside the allowed roots, many in one operation (at most
 * `concurrency` at once, through p-limit), each with a byte cap, binary detection (a NUL in
 * the first 8 KiB, like git and ripgrep), any encoding Node supports and line ranges.
 *
 * One path failing does not fail the others: it gets `{ ok: false, error }` in its place.
 * The operation fails only when **every** path failed (with that error when there was one
 * path), so a dependent operation is skipped only when there is nothing to give it.
 *
 * Takes a read lock on each path's resolved `file:` key (see `fileLockKey`), so a read waits
 * for a write of the same file in flight, whatever the path it is named by. What was opened
 * is checked inside the roots on the descriptor (a directory swapped for a symlink to the
 * outside after the check is refused with `FANOUT_PATH_OUTSIDE_ROOT`). Only regular files are
 * read: FIFOs, sockets and devices are refused with `FANOUT_SPECIAL_FILE`, unless the input
 * sets `fifo: true` (then a FIFO is read, not its tail, through a pipe handle an abort closes).
 *
 * Small files read whole are opened and read on the main thread, a bounded slice of each turn
 * of the event loop (see `sync-slices.ts` and `syncReads`); the rest through the thread pool.
 *
 * @example
 * const scheduler = createScheduler({ adapters: [readAdapter({ roots: ['.'] })] });
 * await scheduler.execute({ operations: [{ id: 'r', kind: 'read', input: { path: 'README.md', head: 20 } }] });
 */
export function readAdapter(options: ReadAdapterOptions = {}): Adapter<ReadInput, ReadOutput> {
  const roots = toRoots(options.roots);
  const defaultMaxBytes = options.maxBytes ?? 1024 * 1024;
  const defaultMaxTotal = options.maxTotalBytes ?? 32 * 1024 * 1024;
  const defaultConcurrency = options.concurrency ?? 16;
  const slices = options.syncReads === false ? undefined : options.syncReads === undefined ? sharedSyncSlices : new SyncSlices(options.syncReads);
  return {
    kind: 'read',
    input: readInputSchema,
    defaults: { ...FILE_OPERATION_DEFAULTS, timeoutMs: options.timeoutMs ?? READ_TIMEOUT_MS, idempotent: true },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks: (input) => fileLockKeys(roots.base, pathsOf(input)).map((key): LockSpec => ({ key, mode: 'read' })),
    async run(input, ctx) {
      const signal = ctx.signal;
      const paths = pathsOf(input);
      const single = input.paths === undefined;
      const encoding = canonicalEncoding(input.encoding ?? 'utf8');
      const range = rangeOf(input);
      const fifo = input.fifo ?? false;
      const maxBytes = input.maxBytes ?? defaultMaxBytes;
      const budget = new ByteBudget(input.maxTotalBytes ?? defaultMaxTotal);
      // The files of one operation are mostly in a few directories: each is resolved once.
      const directories = new RealDirectories();
      const sync = slices === undefined ? undefined : new SyncReads(slices);
      const errors: (AdapterError | undefined)[] = new Array(paths.length);
      let failed = 0;
      const readOne = async (path: string, index: number): Promise<ReadFile> => {
        signal.throwIfAborted();
        const field = single ? 'path' : `paths[${index}]`;
        // Taken once the file's size is known: a small file holds back what it can keep, not
        // the whole cap, so many small files read at once do not starve each other.
        let reserved = 0;
        const reserve = (size: number | undefined): number => {
          reserved = budget.take(size === undefined ? maxBytes : Math.min(size, maxBytes));
          return reserved;
        };
        const request: ReadRequest = { encoding, range, reserve, fifo, directories, ...(sync === undefined ? {} : { sync }) };
        try {
          const { file, kept } = await readOneFile(roots, path, field, request, signal);
          budget.giveBack(reserved - kept);
          return file;
        } catch (caught) {
          budget.giveBack(reserved);
          if (signal.aborted) throw signal.reason;
          const error = caught instanceof AdapterError ? caught : fromFsError(caught, path, field);
          errors[index] = error;
          failed++;
          return { path: resolve(roots.base, path), ok: false, error: { code: error.code, message: error.message } };
        }
      };
      if (paths.length === 1) {
        // One file: nothing to queue, so no limiter, abort listener or set of reads under way
        // (an abort reaches the read itself, which lets go of its file before it settles).
        const file = await readOne(paths[0]!, 0);
        if (failed === 1) throw errors[0]!;
        return { files: [file] };
      }
      const limit = pLimit({ concurrency: Math.min(input.concurrency ?? defaultConcurrency, paths.length), rejectOnClear: true });
      const onAbort = (): void => limit.clearQueue();
      signal.addEventListener('abort', onAbort, { once: true });
      // The reads under way: an abort settles the operation only once they have let go of
      // their files (each stops at its next step), so nothing stays open after it.
      const active = new Set<Promise<ReadFile>>();
      const tracked = (path: string, index: number): Promise<ReadFile> => {
        const reading = readOne(path, index);
        active.add(reading);
        return reading.finally(() => active.delete(reading));
      };
      let files: ReadFile[];
      try {
        files = await limit.map(paths, tracked);
      } catch (error) {
        await Promise.allSettled(active);
        signal.throwIfAborted();
        throw error;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (failed === paths.length) throw allFailed(errors as AdapterError[]);
      return { files };
    },
  };
}

function allFailed(errors: AdapterError[]): AdapterError {
  const count = errors.length;
  if (count === 1) return errors[0]!;
  const first = errors[0]!;
  const listed = errors
    .slice(0, 5)
    .map((error) => `${error.path}: ${error.message}`)
    .join('; ');
  const retryable = errors.some((error) => error.classification.class !== 'fatal');
  return new AdapterError(first.code as AdapterErrorCode, `expected at least one of the ${count} paths to be read, all failed (${listed}${count > 5 ? '; …' : ''})`, {
    path: 'paths',
    cause: new AggregateError(errors, 'every path failed'),
    classification: { class: retryable ? 'retryable' : 'fatal' },
  });
}
