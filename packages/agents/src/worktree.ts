/**
 * One worktree per agent: `git worktree add --lock <path> fanout/<run>/<agent>`, outside the
 * repository, on a branch of its own (git refuses one branch checked out twice). Locked, so
 * that nobody's `git worktree prune` drops it while it is away; the lock's reason names the run
 * and the process, which is how `clean` knows a worktree is in use. Adding is idempotent: a
 * worktree already there for the branch (a resumed run) is taken as it is.
 *
 * A fleet's branches are made first, all of them in one `git update-ref --stdin` transaction,
 * together with `refs/fanout/<run>/base`, the ref that records the commit they start from (so
 * that "commits beyond the base" can be answered later even without the journal or a
 * worktree's lock, and the base stays reachable). A git process costs tens of milliseconds on
 * a loaded machine, and every one of them is on the path to the first agent: `git worktree add
 * -b` starts `git branch` as a child, and the base recorded per branch in the configuration
 * was one more process per agent.
 *
 * Adding and checking out are two steps: adding writes what the repository's worktrees share
 * (the worktree list) and is done one at a time per repository — for a fleet's own branches by
 * writing the worktree's administrative files directly ({@link registerWorktree}, no git
 * process), otherwise by `git worktree add --no-checkout`;
 * the checkout writes only the worktree's own files and index, so the checkouts of a fleet run
 * side by side (sixteen checkouts of a large tree one after another would hold the last agent
 * back by all of them).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { access, cp, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { worktreeGitDir } from './agent-state.js';
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
  /**
   * The branch was made beforehand ({@link createBranches}): the worktree checks it out
   * rather than creating it (one git process fewer).
   */
  branchMade?: boolean;
  /**
   * The repository's common git directory. Given with `branchMade`, a new worktree is
   * registered by writing its administrative files ({@link registerWorktree}) rather than by
   * `git worktree add`, when nothing calls for git's own.
   */
  gitDir?: string;
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
  // Synchronous, so that nothing waits on the event loop (see registerWorktree).
  if (spec.branchMade === true && spec.gitDir !== undefined && registerWorktree({ gitDir: spec.gitDir, path: spec.path, branch: spec.branch, lockReason: spec.lockReason }))
    return { path: spec.path, branch: spec.branch, base: spec.base, created: true };
  if (!(await exists(spec.path))) {
    await mkdir(dirname(spec.path), { recursive: true });
    const target = spec.branchMade === true ? [spec.path, spec.branch] : ['-b', spec.branch, spec.path, spec.base];
    const added = await git(['worktree', 'add', ...lock, ...target], ctx, { okCodes: [0, 128, 255] });
    if (added.exitCode === 0) return { path: spec.path, branch: spec.branch, base: spec.base, created: true };
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
  return { path: spec.path, branch: spec.branch, base: spec.base, created: true };
}

/** A worktree's name in `<git dir>/worktrees/` that git itself could have given (it names them after the directory). */
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/** A small file's text, or '' when it cannot be read. */
function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Registers a new worktree of an existing branch, checked out later ({@link checkoutWorktree}),
 * by writing what `git worktree add --no-checkout --lock --reason <reason> <path> <branch>`
 * writes (gitrepository-layout(5): `worktrees/<name>/` with `locked`, `gitdir`, `commondir`,
 * `HEAD`, and the worktree's `.git` file), in the same order (locked first: no prune takes it
 * half made). `git worktree add` is two git processes (it runs `git symbolic-ref` as a child),
 * 100-400 ms on a loaded machine, and a fleet's worktrees are made one at a time: sixteen of
 * them held the last agent of a -j 16 fleet back by seconds. This is a few small files,
 * written synchronously on purpose: a few hundred microseconds, where each hop through the
 * event loop waits behind the agents being launched (tens of milliseconds each under load).
 *
 * Returns false, having written nothing, when git's own should do it: the path is taken or
 * registered, the branch is checked out in a worktree, or the repository has what `worktree
 * add` would copy or set up (sparse checkout patterns, per-worktree configuration, reftable
 * refs) or a name git would spell differently.
 */
export function registerWorktree(spec: { gitDir: string; path: string; branch: string; lockReason: string }): boolean {
  const name = basename(spec.path);
  if (!PLAIN_NAME.test(name) || name.endsWith('.lock') || existsSync(spec.path)) return false;
  if (['info/sparse-checkout', 'config.worktree', 'reftable'].some((file) => existsSync(join(spec.gitDir, file)))) return false;
  const admin = join(spec.gitDir, 'worktrees');
  const gitFile = join(spec.path, '.git');
  const ref = `ref: refs/heads/${spec.branch}`;
  // Git refuses a branch checked out elsewhere and a path registered already (a missing worktree).
  if (readOr(join(spec.gitDir, 'HEAD')).trim() === ref) return false;
  let names: string[];
  try {
    names = readdirSync(admin);
  } catch {
    names = [];
  }
  for (const other of names) {
    if (readOr(join(admin, other, 'HEAD')).trim() === ref || readOr(join(admin, other, 'gitdir')).trim() === gitFile) return false;
  }
  mkdirSync(admin, { recursive: true });
  let dir = join(admin, name);
  for (let n = 1; ; n++) {
    try {
      mkdirSync(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      dir = join(admin, `${name}${n}`);
    }
  }
  let made = false;
  try {
    writeFileSync(join(dir, 'locked'), `${spec.lockReason}\n`);
    mkdirSync(dirname(spec.path), { recursive: true });
    mkdirSync(spec.path);
    made = true;
    const path = realpathSync(spec.path);
    writeFileSync(join(path, '.git'), `gitdir: ${realpathSync(dir)}\n`);
    writeFileSync(join(dir, 'gitdir'), `${join(path, '.git')}\n`);
    writeFileSync(join(dir, 'commondir'), '../..\n');
    writeFileSync(join(dir, 'HEAD'), `${ref}\n`);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    if (made) rmSync(spec.path, { recursive: true, force: true });
    if (!made && (error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  return true;
}

/** The ref that records the commit a run's branches start from. */
export function runBaseRef(run: string): string {
  return `refs/fanout/${run}/base`;
}

/** What {@link createBranches} did. */
export interface BranchesOutput {
  run: string;
  base: string;
  /** {@link runBaseRef} of the run. */
  baseRef: string;
  /** Branches it made. */
  created: string[];
  /** Branches that were there already (a resumed run, a run name used again), left as they are. */
  existing: string[];
}

/**
 * Makes a run's branches at `base`, and records the base in {@link runBaseRef}, in one
 * `git update-ref --stdin` transaction. Branches already there are left as they are: the
 * transaction is then made again with only the missing ones.
 */
export async function createBranches(spec: { run: string; base: string; branches: readonly string[] }, context: GitContext): Promise<BranchesOutput> {
  const baseRef = runBaseRef(spec.run);
  const transaction = (branches: readonly string[]): string => [`update ${baseRef} ${spec.base}`, ...branches.map((branch) => `create refs/heads/${branch} ${spec.base}`), ''].join('\n');
  const args = ['update-ref', '-m', `branch: Created from ${spec.base}`, '--stdin'];
  const first = await git(args, context, { okCodes: [0, 128], input: transaction(spec.branches) });
  if (first.exitCode === 0) return { run: spec.run, base: spec.base, baseRef, created: [...spec.branches], existing: [] };
  const { stdout } = await git(['for-each-ref', '--format=%(refname:lstrip=2)', `refs/heads/fanout/${spec.run}/`], context);
  const there = new Set(stdout.split('\n'));
  const missing = spec.branches.filter((branch) => !there.has(branch));
  await git(args, context, { input: transaction(missing), code: 'FANOUT_WORKTREE_FAILED' });
  return { run: spec.run, base: spec.base, baseRef, created: missing, existing: spec.branches.filter((branch) => there.has(branch)) };
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
  // Looked at synchronously: an await here waited behind the agents being launched (20-200 ms
  // under load), on the way to every agent's start.
  if (!existsSync(list)) return { included: [], skipped: [] };
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

/**
 * The bases recorded for fanout branches, by branch: the base of the run each was made in
 * ({@link runBaseRef}), or, for a branch that names one, its configuration's
 * `branch.<name>.fanoutBase` (where earlier versions recorded it). Two git processes for all
 * of them.
 */
export async function recordedBases(context: GitContext): Promise<{ ofRun: Map<string, string>; ofBranch: Map<string, string> }> {
  const [runs, config] = await Promise.all([
    git(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/fanout/'], context),
    git(['config', '-z', '--get-regexp', '^branch\\..*\\.fanoutbase$'], context, { okCodes: [0, 1] }),
  ]);
  const ofRun = new Map<string, string>();
  for (const line of runs.stdout.split('\n')) {
    const match = /^refs\/fanout\/(.+)\/base ([0-9a-f]+)$/.exec(line);
    if (match !== null) ofRun.set(match[1]!, match[2]!);
  }
  const ofBranch = new Map<string, string>();
  for (const entry of nulFields(config.stdout)) {
    const match = /^branch\.(.+)\.fanoutbase\n([0-9a-f]+)$/.exec(entry);
    if (match !== null) ofBranch.set(match[1]!, match[2]!);
  }
  return { ofRun, ofBranch };
}

/** The run a fanout branch (`fanout/<run>/<agent>`) belongs to. */
export function runOfBranch(branch: string): string | undefined {
  return /^fanout\/([^/]+)\//.exec(branch)?.[1];
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
 * The administrative directory of the worktree at `path` (real path), when git itself would
 * take it for that worktree: the worktree's `.git` file points into `<gitDir>/worktrees/`, and
 * that directory's `gitdir` file points back to the worktree's `.git` (git's validate_worktree,
 * builtin/worktree.c). A copied worktree's `.git` points at another worktree's directory, whose
 * `gitdir` does not point back: undefined then, and on any error.
 */
function adminDirectory(path: string, gitDir: string): string | undefined {
  const named = worktreeGitDir(path);
  if (named === undefined) return undefined;
  try {
    const admin = realpathSync(named);
    if (dirname(admin) !== realpathSync(join(gitDir, 'worktrees'))) return undefined;
    // Absolute as git writes it; relative to the directory itself with worktree.useRelativePaths (git 2.48).
    const back = gitTrim(readFileSync(join(admin, 'gitdir'), 'utf8'));
    return realpathSync(resolve(admin, back)) === realpathSync(join(path, '.git')) ? admin : undefined;
  } catch {
    return undefined;
  }
}

/** A file's text without the whitespace git's strbuf_trim takes off. */
function gitTrim(text: string): string {
  return text.replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, '');
}

/**
 * The lock reason of the worktree at `path` as it is now ('' when locked without one; undefined
 * when not locked): read from its administrative directory when `gitDir` is given and git would
 * take that directory for the worktree's (as {@link removeWorktree} does), else from `git
 * worktree list`. `clean` asks again right before it removes a worktree.
 */
export async function currentLock(path: string, context: GitContext, gitDir?: string): Promise<string | undefined> {
  const admin = gitDir === undefined ? undefined : adminDirectory(path, gitDir);
  if (admin !== undefined) {
    try {
      return gitTrim(await readFile(join(admin, 'locked'), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    }
  }
  return (await listWorktrees(context)).find((entry) => entry.path === path)?.locked;
}

/**
 * Removes a worktree: its directory, then its administrative directory in the repository —
 * what `git worktree remove --force --force` does (a locked worktree needs both; uncommitted
 * files in it go — callers check first that nothing there is kept only there). Given the
 * common `gitDir`, without a git process when git would take the worktree's administrative
 * directory for its own (its `.git` file points into `worktrees/`, and that directory's
 * `gitdir` points back); by git's own command otherwise. With `--force` twice git checks
 * nothing more (builtin/worktree.c: the working tree removed, then its administrative
 * directory, even when the tree could not all be removed, then `worktrees/` if left empty).
 * `clean`, with a `git status` and a `git worktree remove` per worktree one after another,
 * took 370-450 ms per worktree under load; see clean.ts.
 */
export async function removeWorktree(path: string, context: GitContext, gitDir?: string): Promise<void> {
  const admin = gitDir === undefined ? undefined : adminDirectory(path, gitDir);
  if (admin === undefined) {
    await git(['worktree', 'remove', '--force', '--force', path], context);
    return;
  }
  const failures: Error[] = [];
  await rm(path, { recursive: true, force: true }).catch((error: Error) => failures.push(error));
  // Whatever is left of the tree, git forgets the worktree ("there's no going back from here").
  await rm(admin, { recursive: true, force: true }).catch((error: Error) => failures.push(error));
  await rmdir(dirname(admin)).catch((error: NodeJS.ErrnoException) => {
    if (!['ENOTEMPTY', 'EEXIST', 'ENOENT'].includes(error.code ?? '')) failures.push(error);
  });
  if (failures.length > 0) {
    throw new AgentsError('FANOUT_WORKTREE_FAILED', `expected to remove the worktree ${path} and its administrative directory ${admin}, but ${failures.map((error) => error.message).join('; ')}`, {
      path,
      cause: failures[0],
    });
  }
}
