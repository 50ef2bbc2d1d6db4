import { constants, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { defaultClassify, type Adapter } from '@fanout/scheduler';
import { z } from 'zod';
import { AdapterError, classifyAdapterError, fromFsError } from '../errors.js';
import { openDirectoryInside, type DirectoryInside } from '../open-inside.js';
import type { AllowedRoots } from '../roots.js';
import { syncDirectory, writeAtomically } from './atomic-write.js';
import { closeQuietly, fdatasyncFd, fstatFd, openFd, writeAll } from './fd.js';
import { FILE_OPERATION_DEFAULTS, fileLockKey, toRoots, type FsAdapterOptions } from './fs-options.js';
import { writePipe } from './pipe.js';
import { canonicalEncoding, ENCODINGS } from './text-encoding.js';

/** How `write` treats an existing file. */
export const WRITE_MODES = ['create', 'overwrite', 'append'] as const;

/** One of {@link WRITE_MODES}. */
export type WriteMode = (typeof WRITE_MODES)[number];

/**
 * The input of `write`.
 *
 * @example
 * { "path": "out/report.md", "content": "# Report\n", "mkdirp": true }
 */
export const writeInputSchema = z.strictObject({
  /** The file, relative to the first root or absolute. */
  path: z
    .string()
    .min(1, 'expected a non-empty path')
    .refine((path) => !path.includes('\0'), 'expected a path without NUL bytes'),
  /** What to write, in `encoding`. */
  content: z.string(),
  /** How `content` is spelled: `base64` or `hex` for bytes. @default "utf8" */
  encoding: z.enum(ENCODINGS).optional(),
  /**
   * `create` fails if the file exists; `overwrite` replaces it; `append` adds to its end
   * (creating it if needed). `create` and `overwrite` are atomic; `append` is not.
   * @default "overwrite"
   */
  mode: z.enum(WRITE_MODES).optional(),
  /** Create missing parent directories. @default false */
  mkdirp: z.boolean().optional(),
  /** Flush the data and the directory entry to the disk before succeeding (fdatasync, fsync). @default true */
  fsync: z.boolean().optional(),
});

/** What `write` receives. */
export type WriteInput = z.output<typeof writeInputSchema>;

/** What `write` returns. */
export interface WriteOutput {
  /** Absolute path, as asked for. */
  path: string;
  /** Bytes written. */
  bytes: number;
  mode: WriteMode;
  /** The file did not exist before. */
  created: boolean;
}

/** Options of {@link writeAdapter}. */
export type WriteAdapterOptions = FsAdapterOptions;

/** Default `timeoutMs` of `write`. @default 30000 */
export const WRITE_TIMEOUT_MS = 30_000;

const OPEN_APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The `write` adapter: writes a file inside the allowed roots.
 *
 * - `create` and `overwrite` are **atomic**: a temporary file in the same directory, then
 *   `rename(2)` (`link(2)` for `create`, which fails if the file appeared meanwhile). A reader
 *   sees the old content or the new one, never a mix, even without locks. An overwritten file
 *   keeps its permission bits (and its owner, when the process may set it); other hard links
 *   to it keep the old content.
 * - `append` cannot be atomic by rename (the old content must stay). It opens with `O_APPEND`,
 *   so each write lands at the end even with other writers; the content goes in one `write(2)`
 *   up to 4 MiB (several beyond). A reader may see part of an append while it runs, and a
 *   crash may leave a prefix of it. Appending to a FIFO writes into the pipe.
 * - A symlink at the target is **refused**, even one that points inside the roots; a symlink
 *   put there after the check is replaced by `rename`, or refused by `O_NOFOLLOW`, never followed.
 * - The write happens in the directory as opened and checked (`openDirectoryInside`): the
 *   temporary file, the rename and the append go through its descriptor, so a directory on
 *   the way swapped for a symlink to the outside after the check is refused
 *   (`FANOUT_PATH_OUTSIDE_ROOT`), never written through; `mkdirp` makes each missing
 *   directory inside the one checked before it.
 * - `locks(input)` takes a write lock on the resolved `file:` key (see `fileLockKey`), so two
 *   writes of one file never overlap in a run, whatever names they use, and reads of it wait.
 *
 * The adapter is not idempotent as a whole (`append` and `create` are not), so the scheduler
 * retries a write only when the plan forces it.
 *
 * @example
 * const scheduler = createScheduler({ adapters: [writeAdapter({ roots: ['.'] })] });
 * await scheduler.execute({ operations: [{ id: 'w', kind: 'write', input: { path: 'notes.md', content: 'hi\n', mode: 'create' } }] });
 */
export function writeAdapter(options: WriteAdapterOptions = {}): Adapter<WriteInput, WriteOutput> {
  const roots = toRoots(options.roots);
  return {
    kind: 'write',
    input: writeInputSchema,
    defaults: { ...FILE_OPERATION_DEFAULTS, timeoutMs: options.timeoutMs ?? WRITE_TIMEOUT_MS, idempotent: false },
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks: (input) => [{ key: fileLockKey(roots.base, input.path), mode: 'write' }],
    async run(input, ctx) {
      const signal = ctx.signal;
      const mode = input.mode ?? 'overwrite';
      const data = Buffer.from(input.content, canonicalEncoding(input.encoding ?? 'utf8'));
      const durable = input.fsync ?? true;
      const safe = await roots.check(input.path, 'path');
      const existing = await lstatOrUndefined(safe.path, 'path');
      if (existing?.isSymbolicLink()) {
        throw new AdapterError('FANOUT_SYMLINK_REFUSED', `expected path (${safe.path}) not to be a symlink (writes never follow one), got a symlink`, { path: 'path' });
      }
      if (existing?.isDirectory()) throw new AdapterError('FANOUT_IS_DIRECTORY', `expected path (${safe.path}) to be a file, got a directory`, { path: 'path' });
      if (existing !== undefined && mode === 'create') {
        throw new AdapterError('FANOUT_EXISTS', `expected path (${safe.path}) not to exist (mode "create"), but it does`, { path: 'path' });
      }
      if (existing !== undefined && !existing.isFile() && !(mode === 'append' && existing.isFIFO())) {
        throw new AdapterError('FANOUT_SPECIAL_FILE', `expected path (${safe.path}) to be a regular file, got a ${existing.isFIFO() ? 'FIFO (mode "append" writes into one)' : 'special file'}`, { path: 'path' });
      }
      // Everything from here happens in the directory as opened and checked, through its
      // descriptor: a directory on the way swapped for a symlink to the outside after the path
      // was checked is refused, never written through.
      const directory = await openTargetDirectory(roots, safe.real, input.mkdirp ?? false);
      const name = basename(safe.real);
      try {
        signal.throwIfAborted();
        if (mode === 'append') {
          const created = await append(directory, name, safe.path, data, durable, signal);
          return { path: safe.path, bytes: data.length, mode, created };
        }
        const keep = existing === undefined ? {} : { permissions: existing.mode & 0o7777, owner: { uid: existing.uid, gid: existing.gid } };
        await writeAtomically(directory, name, data, { exclusive: mode === 'create', durable, ...keep }, signal);
        return { path: safe.path, bytes: data.length, mode, created: existing === undefined };
      } catch (error) {
        if (error instanceof AdapterError || signal.aborted) throw error;
        if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
          throw new AdapterError('FANOUT_SYMLINK_REFUSED', `expected path (${safe.path}) not to be a symlink, got one put there during the write`, { path: 'path', cause: error });
        }
        throw fromFsError(error, safe.path, 'path');
      } finally {
        await directory.close();
      }
    },
  };
}

async function lstatOrUndefined(path: string, field: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw fromFsError(error, path, field);
  }
}

/**
 * Opens the directory of the file to write (`real` is its checked real path), creating it and
 * its missing parents with `mkdirp`, each one inside the one checked before it.
 */
async function openTargetDirectory(roots: AllowedRoots, real: string, mkdirp: boolean): Promise<DirectoryInside> {
  const directory = dirname(real);
  try {
    return await openDirectoryInside(roots, directory, 'path', { create: mkdirp });
  } catch (error) {
    if (error instanceof AdapterError && error.code === 'FANOUT_NOT_FOUND' && !mkdirp) {
      throw new AdapterError('FANOUT_NOT_FOUND', `expected the directory ${directory} to exist (set mkdirp: true to create it), but it does not`, { path: 'path', cause: error });
    }
    if (error instanceof AdapterError && error.code === 'FANOUT_NOT_DIRECTORY') {
      throw new AdapterError('FANOUT_NOT_DIRECTORY', `expected a directory on the way to path (${real}), got a file`, { path: 'path', cause: error });
    }
    throw error;
  }
}

/** Appends `data` to `name` in `directory`; resolves whether the file was created. */
async function append(directory: DirectoryInside, name: string, shown: string, data: Buffer, durable: boolean, signal: AbortSignal): Promise<boolean> {
  const target = directory.entry(name);
  let created = true;
  let fd: number;
  try {
    // O_EXCL first, so `created` says what really happened even with another writer racing.
    fd = await openFd(target, OPEN_APPEND | constants.O_CREAT | constants.O_EXCL, 0o666);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw error;
    created = false;
    try {
      fd = await openFd(target, OPEN_APPEND);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'ENXIO') {
        throw new AdapterError('FANOUT_IO', `expected a process reading the FIFO at path (${shown}), got none`, { path: 'path', cause: again });
      }
      throw again;
    }
  }
  const info = await fstatFd(fd).catch(async (error: unknown) => {
    await closeQuietly(fd);
    throw error;
  });
  if (info.isFIFO()) {
    await writePipe(fd, data, signal); // owns fd from here
    return false;
  }
  try {
    if (!info.isFile()) throw new AdapterError('FANOUT_SPECIAL_FILE', `expected path (${shown}) to be a regular file or a FIFO, got a special file`, { path: 'path' });
    await writeAll(fd, data, signal);
    if (durable) await fdatasyncFd(fd);
  } finally {
    await closeQuietly(fd);
  }
  if (created && durable) await syncDirectory(directory.fd);
  return created;
}
