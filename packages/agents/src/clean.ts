/**
 * `fanout agents clean`: removes the worktrees and branches of fleets that hold nothing worth
 * keeping, and never anything that is. A worktree goes only when its branch has no commit
 * beyond the base it was made from, nothing uncommitted is in it, and no live fanout process
 * holds it (the lock's reason names the process). Everything else is kept and said why.
 * Branches left without a worktree are treated the same way, entries whose directory is gone
 * are unlocked and pruned, and with a journal, what it recorded is reconciled with what
 * `git worktree list` says.
 */
import { access, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { JournalState } from '@fanout/scheduler';
import { stringEnv } from './adapters/context.js';
import { git, nulFields, type GitContext } from './git.js';
import { findRepository } from './plan.js';
import { baseFromLock, commitsBeyond, currentLock, listWorktrees, recordedBases, removeWorktree, runBaseRef, runOfBranch, type WorktreeEntry } from './worktree.js';

/** Options of {@link cleanAgents}. */
export interface CleanOptions {
  /** A directory inside the repository. */
  repo: string;
  /** Only this run's branches (`fanout/<run>/…`). @default every fanout branch */
  run?: string | undefined;
  /** Say what would be done, do nothing. */
  dryRun?: boolean;
  /** A run's journal (`readJournal`), to reconcile with git's list. */
  journal?: JournalState | undefined;
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** One branch (and its worktree), and what became of it. */
export interface CleanEntry {
  branch: string;
  worktree?: string;
  /** `removed` (worktree and branch), `kept`, or `pruned` (an entry whose directory was gone). */
  action: 'removed' | 'kept' | 'pruned';
  why: string;
  commits?: number;
}

/** What {@link cleanAgents} did (or, with `dryRun`, would do). */
export interface CleanReport {
  repo: string;
  dryRun: boolean;
  entries: CleanEntry[];
  /** Worktrees the journal records that git no longer lists (removed outside fanout). */
  journalOnly: string[];
  /** Fanout worktrees git lists that the journal does not know (another run's, or made by hand). */
  unknownToJournal: string[];
}

/** The pid a fanout lock reason names, if its process is alive and is Node (fanout). */
async function liveHolder(reason: string | undefined): Promise<number | undefined> {
  const match = reason === undefined ? null : /^fanout agents .*\(pid (\d+)\)$/.exec(reason);
  if (match === null) return undefined;
  const pid = Number(match[1]);
  if (pid === process.pid) return undefined; // this process: the caller knows it is done
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but someone else's — not a fanout of ours; ESRCH: gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /node|fanout/.test(cmdline) ? pid : undefined;
  } catch {
    return pid; // no /proc here: alive is all that can be known
  }
}

/**
 * Whether a worktree's directory is gone. Git says so (`prunable`) only of unlocked ones, and
 * fanout locks its worktrees, so the directory is looked at too.
 */
async function missing(entry: WorktreeEntry): Promise<boolean> {
  if (entry.prunable !== undefined) return true;
  try {
    await access(entry.path);
    return false;
  } catch {
    return true;
  }
}

/** What is known of the repository's fanout branches, read once for all of them. */
interface Branches {
  /** Each branch's commit. */
  heads: Map<string, string>;
  bases: Awaited<ReturnType<typeof recordedBases>>;
  context: GitContext;
}

/** Why a worktree must be kept, or undefined when it may go. */
async function keepWorktree(entry: WorktreeEntry, gone: boolean, known: Branches): Promise<{ why: string; commits?: number } | undefined> {
  const branch = entry.branch!;
  const holder = await liveHolder(entry.locked);
  if (holder !== undefined) return { why: `in use by fanout (pid ${holder})` };
  if (!gone) {
    const status = await git(['status', '--porcelain', '-z', '--untracked-files=normal'], { ...known.context, cwd: entry.path }, { okCodes: [0, 128] });
    if (status.exitCode !== 0) return { why: `git cannot read it: ${status.stderr.trim().slice(0, 200)}` };
    const dirty = nulFields(status.stdout).length;
    if (dirty > 0) return { why: `${dirty} uncommitted change${dirty === 1 ? '' : 's'} in it` };
  }
  return keepBranch(branch, known, baseFromLock(entry.locked));
}

/**
 * Why a branch must be kept (commits beyond its base, or no known base), or undefined. Its
 * base: the one its configuration names (branches made by earlier versions), else its run's
 * (`refs/fanout/<run>/base`), else its worktree lock's. A branch still at its base has none
 * beyond it without asking git.
 */
async function keepBranch(branch: string, known: Branches, lockedBase?: string): Promise<{ why: string; commits?: number } | undefined> {
  const run = runOfBranch(branch);
  const base = known.bases.ofBranch.get(branch) ?? (run === undefined ? undefined : known.bases.ofRun.get(run)) ?? lockedBase;
  if (base === undefined) {
    return { why: `no recorded base (${run === undefined ? 'refs/fanout/<run>/base' : runBaseRef(run)}, branch.<name>.fanoutBase, or the lock of its worktree): not made by fanout agents, or its record was lost` };
  }
  const commits = known.heads.get(branch) === base ? 0 : await commitsBeyond(base, branch, known.context).catch(() => undefined);
  if (commits === undefined) return { why: `its base ${base.slice(0, 10)} cannot be read` };
  if (commits > 0) return { why: `${commits} commit${commits === 1 ? '' : 's'} beyond its base`, commits };
  return undefined;
}

/**
 * `fn` over `items`, at most `limit` at once; the results in the items' order. After a failure
 * no item is started, and the first error is thrown once those under way are done: nothing is
 * still being removed when `clean` has thrown.
 */
async function inTurns<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed !== undefined) throw failed.error;
  return out;
}

/**
 * Cleans up after fleets.
 *
 * @example
 * const report = await cleanAgents({ repo: '.', dryRun: true });
 * for (const entry of report.entries) console.log(entry.action, entry.branch, entry.why);
 */
export async function cleanAgents(options: CleanOptions): Promise<CleanReport> {
  const env = stringEnv(options.env ?? process.env);
  const { repo, gitDir } = await findRepository(resolve(options.repo), { env });
  const context: GitContext = { cwd: repo, env };
  const prefix = options.run === undefined ? 'fanout/' : `fanout/${options.run}/`;
  const dryRun = options.dryRun === true;
  const report: CleanReport = { repo, dryRun, entries: [], journalOnly: [], unknownToJournal: [] };

  // Everything read up front, in four git processes: the worktrees, the branches and their
  // commits, and the recorded bases.
  const [listed, refs, bases] = await Promise.all([listWorktrees(context), git(['for-each-ref', '--format=%(refname:lstrip=2)%00%(objectname)', `refs/heads/${prefix}`], context), recordedBases(context)]);
  const heads = new Map<string, string>();
  for (const line of refs.stdout.split('\n')) {
    const [branch, head] = line.split('\0');
    if (branch !== undefined && branch !== '' && head !== undefined) heads.set(branch, head);
  }
  const known: Branches = { heads, bases, context };
  const worktrees = listed.filter((entry) => entry.branch?.startsWith(prefix) === true);
  const withWorktree = new Set(worktrees.map((entry) => entry.branch!));
  // Deleted together, in one git process, once their worktrees are gone.
  const deleted: string[] = [];
  // Branches of worktrees whose directory is gone: git holds them as checked out until the
  // entry is pruned, so they are deleted after the prune.
  const afterPrune: string[] = [];
  // Each worktree looked at (a git status in it, which writes only its own index) a core
  // each: one after another, clean took 370-450 ms per worktree under load (agents-fleet).
  const looked = await inTurns(worktrees, availableParallelism(), async (entry) => {
    const gone = await missing(entry);
    return { gone, keep: await keepWorktree(entry, gone, known) };
  });
  // Removed a core each too, once every decision is made: each removal touches only its own
  // worktree and its own directory in the repository. Each with the index of its report entry.
  const removals: { entry: WorktreeEntry; at: number }[] = [];
  for (const [i, entry] of worktrees.entries()) {
    const branch = entry.branch!;
    const { gone, keep } = looked[i]!;
    if (keep !== undefined) {
      report.entries.push({ branch, worktree: entry.path, action: 'kept', why: keep.why, ...(keep.commits === undefined ? {} : { commits: keep.commits }) });
      continue;
    }
    if (gone) {
      // Its directory is gone: unlock it so that prune may drop it (prune skips locked ones).
      if (!dryRun && entry.locked !== undefined) await git(['worktree', 'unlock', entry.path], context);
      afterPrune.push(branch);
    } else if (!dryRun) {
      removals.push({ entry, at: report.entries.length });
    }
    report.entries.push({
      branch,
      worktree: entry.path,
      action: gone ? 'pruned' : 'removed',
      why: gone ? 'its directory is gone; no commits beyond its base' : 'no commits beyond its base, nothing uncommitted',
      commits: 0,
    });
  }

  // A fleet resumed since the decisions may have taken a worktree (its lock now names a live
  // fanout): the lock is read again right before each removal, and such a worktree is kept.
  const removed = await inTurns(removals, availableParallelism(), async ({ entry, at }) => {
    const holder = await liveHolder(await currentLock(entry.path, context, gitDir));
    if (holder !== undefined) {
      report.entries[at] = { branch: entry.branch!, worktree: entry.path, action: 'kept', why: `in use by fanout (pid ${holder})` };
      return false;
    }
    await removeWorktree(entry.path, context, gitDir);
    return true;
  });
  for (const [i, { entry }] of removals.entries()) if (removed[i] === true) deleted.push(entry.branch!);

  // Branches whose worktree is already gone.
  for (const branch of heads.keys()) {
    if (withWorktree.has(branch)) continue;
    const keep = await keepBranch(branch, known);
    if (keep !== undefined) {
      report.entries.push({ branch, action: 'kept', why: `${keep.why} (no worktree)`, ...(keep.commits === undefined ? {} : { commits: keep.commits }) });
      continue;
    }
    deleted.push(branch);
    report.entries.push({ branch, action: 'removed', why: 'no worktree, no commits beyond its base', commits: 0 });
  }
  if (!dryRun) {
    await git(['worktree', 'prune'], context);
    deleted.push(...afterPrune);
    if (deleted.length > 0) await git(['branch', '-D', ...deleted], context);
    // A run's base is kept while any branch of the run is.
    const left = new Set([...heads.keys()].filter((branch) => !deleted.includes(branch)).map(runOfBranch));
    const done = [...new Set(deleted.map(runOfBranch))].filter((run): run is string => run !== undefined && !left.has(run) && bases.ofRun.has(run));
    if (done.length > 0) await git(['update-ref', '--stdin'], context, { input: done.map((run) => `delete ${runBaseRef(run)}\n`).join('') });
  }

  if (options.journal !== undefined) {
    const listed = new Set(worktrees.map((entry) => entry.path));
    const known = new Set<string>();
    for (const record of options.journal.values()) {
      if (record.kind !== 'git' || !record.id.startsWith('worktree:') || record.state !== 'succeeded') continue;
      const path = (record.output as { path?: unknown; branch?: unknown } | undefined)?.path;
      const branch = (record.output as { branch?: unknown } | undefined)?.branch;
      if (typeof path !== 'string' || typeof branch !== 'string' || !branch.startsWith(prefix)) continue;
      known.add(path);
      if (!listed.has(path)) report.journalOnly.push(path);
    }
    for (const entry of worktrees) if (!known.has(entry.path) && !entry.branch!.endsWith('/integration')) report.unknownToJournal.push(entry.path);
  }
  return report;
}
