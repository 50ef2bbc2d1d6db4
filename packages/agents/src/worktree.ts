/**
 * One worktree per agent: `git worktree add --lock -b fanout/<run>/<agent> <path> <base>`,
 * outside the repository, on a branch of its own (git refuses one branch checked out twice).
 * Locked, so that nobody's `git worktree prune` drops it while it is away; the lock's reason
 * names the run and the process, which is how `clean` knows a worktree is in use. Adding is
 * idempotent: a worktree already there for the branch (a resumed run) is taken as it is.
 * The base is recorded in the lock's reason and in the branch's configuration
 * (`branch.<name>.fanoutBase`), so that "commits beyond the base" can be answered later even
 * without the journal.
 *
 * Adding and checking out are two steps: `worktree add --no-checkout` writes what the
 * repository's worktrees share (a branch, the worktree list, the configuration) and is done
 * one at a time per repository; the checkout writes only the worktree's own files and index,
 * so the checkouts of a fleet run side by side (sixteen checkouts of a large tree one after
 * another would hold the last agent back by all of them).
 */
import { access, cp, mkdir, readdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { AgentsError } from './errors.js';
import { git, nulFields, type GitContext } from './git.js';

/** An entry of `git worktree list --porcelain -z`. */
export interface WorktreeEntry {
  path: string;
  head: string | undefined;
  /** Its branch without `refs/heads/`, undefined when detached. */
  branch: string | undefined;
  bare: boolean;
  /** The lock's reason ('' when locked without one); undefined when not locked. */
  locked: string | undefined;
  /** Git's reason to prune it (its directory is gone); undefined when it is fine. */
  prunable: string | undefined;
}

/** Every worktree of the repository `context.cwd` belongs to, the main one first. */
export async function listWorktrees(context: GitContext): Promise<WorktreeEntry[]> {
  const { stdout } = await git(['worktree', 'list', '--porcelain', '-z'], context);
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const field of nulFields(stdout)) {
    if (field === '') {
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space === -1 ? field : field.slice(0, space);
    const value = space === -1 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      current = { path: value, head: undefined, branch: undefined, bare: false, locked: undefined, prunable: undefined };
      entries.push(current);
    } else if (current !== undefined) {
      if (key === 'HEAD') current.head = value;
      else if (key === 'branch') current.branch = value.replace(/^refs\/heads\//, '');
      else if (key === 'bare') current.bare = true;
      else if (key === 'locked') current.locked = value;
      else if (key === 'prunable') current.prunable = value;
    }
  }
  return entries;
}

/** Whether `refs/heads/<branch>` exists. */
export async function branchExists(branch: string, context: GitContext): Promise<boolean> {
  const { exitCode } = await git(['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], context, { okCodes: [0, 1] });
  return exitCode === 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** What {@link addWorktree} makes. */
export interface WorktreeSpec {
  /** The repository's top-level directory (its main worktree). */
  repo: string;
  path: string;
  branch: string;
  /** The commit the branch starts from. */
  base: string;
  /** Why it is locked (run, agent, process), read back by `clean`. */
  lockReason: string;
}

/** A worktree made for an agent (not checked out yet when `created`). */
export interface WorktreeInfo {
  path: string;
  branch: string;
  base: string;
  /** False when it was already there (a resumed run): it is then left as it is. */
  created: boolean;
}

/** A worktree checked out. */
export interface CheckoutInfo {
  path: string;
  /** False when the worktree was already there and was left as it is. */
  checkedOut: boolean;
  /** Files copied in because `.worktreeinclude` lists them (paths relative to the repository). */
  included: string[];
  /** Files `.worktreeinclude` matched that were not copied, with why. */
  skipped: string[];
}

/**
 * Creates (or finds) the worktree of `spec`. The common case — a new branch at a free path —
 * is one `git worktree add`; only when that fails are the worktree list and the branch looked
 * at, to take over what a resumed run left, or to say what is in the way.
 */
export async function addWorktree(spec: WorktreeSpec, context: GitContext): Promise<WorktreeInfo> {
  const ctx = { ...context, cwd: spec.repo };
  const lock = ['--no-checkout', '--lock', '--reason', spec.lockReason];
  if (!(await exists(spec.path))) {
    await mkdir(dirname(spec.path), { recursive: true });
    const added = await git(['worktree', 'add', ...lock, '-b', spec.branch, spec.path, spec.base], ctx, { okCodes: [0, 128, 255] });
    if (added.exitCode === 0) return finishWorktree(spec, context);
  }
  const entries = await listWorktrees(ctx);
  const holder = entries.find((entry) => entry.branch === spec.branch);
  if (holder !== undefined) {
    if (holder.path === spec.path && (await exists(spec.path))) return { path: spec.path, branch: spec.branch, base: spec.base, created: false };
    throw new AgentsError(
      'FANOUT_WORKTREE_FAILED',
      `expected branch ${spec.branch} to be free for a worktree at ${spec.path}, but it is checked out at ${holder.path}${
        holder.prunable === undefined ? '' : ' (a worktree whose directory is gone: "git worktree prune" or "fanout agents clean" frees it)'
      }`,
      { path: spec.path },
    );
  }
  if (await exists(spec.path)) {
    const inside = await readdir(spec.path).catch(() => ['?']);
    if (inside.length > 0) throw new AgentsError('FANOUT_WORKTREE_FAILED', `expected ${spec.path} to be free for the worktree of ${spec.branch}, but something is already there`, { path: spec.path });
  }
  await mkdir(dirname(spec.path), { recursive: true });
  if (await branchExists(spec.branch, ctx)) {
    await git(['worktree', 'add', ...lock, spec.path, spec.branch], ctx, { code: 'FANOUT_WORKTREE_FAILED' });
  } else {
    await git(['worktree', 'add', ...lock, '-b', spec.branch, spec.path, spec.base], ctx, { code: 'FANOUT_WORKTREE_FAILED' });
  }
  return finishWorktree(spec, context);
}

async function finishWorktree(spec: WorktreeSpec, context: GitContext): Promise<WorktreeInfo> {
  await recordBase(spec.branch, spec.base, { ...context, cwd: spec.repo });
  return { path: spec.path, branch: spec.branch, base: spec.base, created: true };
}

/** Records the base a fanout branch was made from in its configuration (see {@link recordedBase}). */
export async function recordBase(branch: string, base: string, context: GitContext): Promise<void> {
  await git(['config', `branch.${branch}.fanoutBase`, base], context);
}

/**
 * Checks out a worktree made with `--no-checkout` (its files and its own index, from its
 * branch), then copies the `.worktreeinclude` files. A worktree that was already there
 * (`fresh` false: a resumed run, or a run name used again) is left as it is: its files may be
 * an agent's work.
 */
export async function checkoutWorktree(spec: { repo: string; path: string; fresh: boolean }, context: GitContext): Promise<CheckoutInfo> {
  if (!spec.fresh) return { path: spec.path, checkedOut: false, included: [], skipped: [] };
  await git(['reset', '--hard', '--quiet'], { ...context, cwd: spec.path });
  const { included, skipped } = await copyIncluded(spec.repo, spec.path, context);
  return { path: spec.path, checkedOut: true, included, skipped };
}

/**
 * Copies into a new worktree the files `.worktreeinclude` (gitignore syntax, at the top of the
 * repository) lists that git ignores — `.env` files, local settings: what a fresh checkout
 * lacks. Git itself matches the patterns (`ls-files --others --ignored --exclude-from`), so
 * the syntax is exactly .gitignore's. Nothing under a `node_modules` directory is copied
 * (installing is the setup command's job; a plain copy of it breaks links and costs gigabytes).
 */
export async function copyIncluded(repo: string, target: string, context: GitContext): Promise<{ included: string[]; skipped: string[] }> {
  const list = join(repo, '.worktreeinclude');
  if (!(await exists(list))) return { included: [], skipped: [] };
  const ctx = { ...context, cwd: repo };
  const matched = nulFields((await git(['ls-files', '-z', '--others', '--ignored', `--exclude-from=${list}`], ctx)).stdout);
  if (matched.length === 0) return { included: [], skipped: [] };
  const ignored = new Set(nulFields((await git(['check-ignore', '-z', '--stdin'], ctx, { okCodes: [0, 1], input: `${matched.join('\0')}\0` })).stdout));
  const included: string[] = [];
  const skipped: string[] = [];
  for (const path of matched) {
    if (path.split('/').includes('node_modules')) {
      skipped.push(`${path}: under node_modules`);
      continue;
    }
    if (!ignored.has(path)) {
      skipped.push(`${path}: not ignored by git (only ignored files are copied)`);
      continue;
    }
    const from = join(repo, path);
    const to = join(target, path);
    if (relative(target, to).startsWith(`..${sep}`)) continue;
    await mkdir(dirname(to), { recursive: true });
    await cp(from, to, { verbatimSymlinks: true, preserveTimestamps: true, errorOnExist: false, force: false });
    included.push(path);
  }
  return { included, skipped };
}

/** The base a fanout branch was made from (its `fanoutBase`), or undefined. */
export async function recordedBase(branch: string, context: GitContext): Promise<string | undefined> {
  const { stdout, exitCode } = await git(['config', '--get', `branch.${branch}.fanoutBase`], context, { okCodes: [0, 1] });
  return exitCode === 0 ? stdout.trim() : undefined;
}

/** The base a fanout worktree's lock reason names (`… from <commit> (pid …)`), or undefined. */
export function baseFromLock(reason: string | undefined): string | undefined {
  return reason === undefined ? undefined : / from ([0-9a-f]{40,64}) \(pid \d+\)$/.exec(reason)?.[1];
}

/** Commits on `branch` that `base` does not have. */
export async function commitsBeyond(base: string, branch: string, context: GitContext): Promise<number> {
  const { stdout } = await git(['rev-list', '--count', `${base}..refs/heads/${branch}`], context);
  return Number(stdout.trim());
}

/**
 * Removes a worktree: `--force` twice (a locked worktree needs both; uncommitted files in it
 * go — callers check first that nothing there is kept only there).
 */
export async function removeWorktree(path: string, context: GitContext): Promise<void> {
  await git(['worktree', 'remove', '--force', '--force', path], context);
}
