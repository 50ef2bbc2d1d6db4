/**
 * The files a run will write (`--journal`, `--report`, `--trace`), checked before anything
 * runs: a plan's side effects must not happen only for fanout to find at the end that it
 * cannot write what it was asked to, and exit with nothing to show for them.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { readJournal } from '@fanout/scheduler';
import { UsageError } from '../args.js';

/** The output flags of a run, as parsed. */
export interface OutputPathFlags {
  journal?: string | undefined;
  report?: string | undefined;
  trace?: string | undefined;
}

const FLAGS = ['journal', 'report', 'trace'] as const;

/**
 * Checks every output path a run was given: its directory exists and is one, the path is not
 * a directory, and the file (or, when it does not exist yet, its directory) is writable; no
 * two flags name the same file. Throws a {@link UsageError} naming the flag (exit 2). A
 * journal that exists is read through: one that is not a journal throws its
 * `FANOUT_JOURNAL_INVALID` error (exit 2 too).
 */
export async function checkOutputPaths(flags: OutputPathFlags, cwd: string = process.cwd()): Promise<void> {
  const seen = new Map<string, string>();
  for (const flag of FLAGS) {
    const given = flags[flag];
    if (given === undefined) continue;
    if (given === '') throw new UsageError(`expected --${flag} to name a file, got an empty path`);
    const path = resolve(cwd, given);
    const other = seen.get(path);
    if (other !== undefined) throw new UsageError(`expected --${other} and --${flag} to name different files, got ${given} for both`);
    seen.set(path, flag);
    await checkOne(`--${flag}`, given, path);
  }
  // A journal that is there must be one: refused now (FANOUT_JOURNAL_INVALID, exit 2), not
  // after the run, when nothing of it could be written.
  if (flags.journal !== undefined) {
    const path = resolve(cwd, flags.journal);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && info.size > 0) await readJournal(path);
  }
}

async function checkOne(flag: string, given: string, path: string): Promise<void> {
  const directory = dirname(path);
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    if (error.code === 'ENOTDIR') throw new UsageError(`expected ${flag} ${given} in a directory, but a file is on the way to it`);
    throw new UsageError(`expected ${flag} ${given} to be a file fanout can write, but it cannot be looked at: ${error.message}`);
  });
  if (info?.isDirectory() === true) throw new UsageError(`expected ${flag} ${given} to be a file, got a directory`);
  if (info !== undefined) {
    await access(path, constants.W_OK).catch(() => {
      throw new UsageError(`expected ${flag} ${given} to be writable, but it is not (permissions)`);
    });
    return;
  }
  const parent = await stat(directory).catch(() => undefined);
  if (parent === undefined) throw new UsageError(`expected the directory of ${flag} ${given} (${directory}) to exist, but it does not: create it first`);
  if (!parent.isDirectory()) throw new UsageError(`expected ${directory}, the directory of ${flag} ${given}, to be a directory, got a file`);
  await access(directory, constants.W_OK).catch(() => {
    throw new UsageError(`expected to create ${flag} ${given} in ${directory}, but that directory is not writable`);
  });
}
