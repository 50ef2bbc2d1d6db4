/**
 * After an agent: what it left uncommitted is committed on its branch (so that nothing lives
 * only in a worktree that a cleanup could remove), then the branch is measured against the
 * base — commits, and `git diff --numstat` per file.
 */
import { git, nulFields, type GitContext } from './git.js';

/** One file's change against the base. */
export interface FileChange {
  path: string;
  /** Lines added and deleted; undefined for a binary file. */
  added: number | undefined;
  deleted: number | undefined;
}

/** What an agent's branch holds. */
export interface CollectOutput {
  branch: string;
  /** The branch's commit after collecting. */
  head: string;
  /** Commits beyond the base. */
  commits: number;
  /** Files the agent left uncommitted, committed by the collect step (0 when it left none). */
  leftovers: number;
  files: FileChange[];
  added: number;
  deleted: number;
  /** The worktree had another branch (or none) checked out: the agent switched away. */
  switchedBranch?: string;
}

/**
 * `-c` options that give git an identity when the user has none configured (a fresh machine, a
 * container), so that committing never fails for that alone.
 */
export async function identityArgs(context: GitContext): Promise<string[]> {
  const { stdout } = await git(['config', '--get-regexp', '^user\\.(name|email)$'], context, { okCodes: [0, 1] });
  const keys = new Set(stdout.split('\n').map((line) => line.split(' ')[0]));
  const args: string[] = [];
  if (!keys.has('user.name')) args.push('-c', 'user.name=fanout');
  if (!keys.has('user.email')) args.push('-c', 'user.email=fanout@localhost');
  return args;
}

/** Parses `git diff --numstat -z --no-renames`: `added\tdeleted\tpath\0` per file, `-` for binary. */
export function parseNumstat(text: string): FileChange[] {
  return nulFields(text).map((record) => {
    const [added, deleted, ...path] = record.split('\t');
    return {
      path: path.join('\t'),
      added: added === '-' ? undefined : Number(added),
      deleted: deleted === '-' ? undefined : Number(deleted),
    };
  });
}

/** What `git status --porcelain=v2 --branch -z` says: the commit and branch checked out, and the paths changed. */
export interface WorktreeStatus {
  /** HEAD's commit; undefined on an unborn branch. */
  head: string | undefined;
  /** The branch checked out (without `refs/heads/`); undefined when detached. */
  branch: string | undefined;
  /** Paths changed, staged or not, untracked ones included. */
  changed: number;
}

/**
 * Parses `git status --porcelain=v2 --branch -z`: `# branch.oid` and `# branch.head` headers,
 * then an entry per path — `1` (changed), `2` (renamed or copied: its original path follows
 * as a field of its own), `u` (unmerged), `?` (untracked), `!` (ignored, not counted).
 */
export function parseStatusV2(text: string): WorktreeStatus {
  const status: WorktreeStatus = { head: undefined, branch: undefined, changed: 0 };
  const fields = nulFields(text);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.startsWith('# branch.oid ')) {
      const oid = field.slice('# branch.oid '.length);
      if (oid !== '(initial)') status.head = oid;
    } else if (field.startsWith('# branch.head ')) {
      const head = field.slice('# branch.head '.length);
      if (head !== '(detached)') status.branch = head;
    } else if (field.startsWith('1 ') || field.startsWith('u ') || field.startsWith('? ')) {
      status.changed++;
    } else if (field.startsWith('2 ')) {
      status.changed++;
      i++; // the original path
    }
  }
  return status;
}

/**
 * Commits what the worktree at `context.cwd` holds uncommitted, then measures `branch` against
 * `base`. An agent that changed nothing costs one git process: the status names the commit and
 * the branch too.
 */
export async function collectBranch(spec: { branch: string; base: string; agent: string }, context: GitContext): Promise<CollectOutput> {
  let status = parseStatusV2((await git(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all'], context)).stdout);
  const dirty = status.changed;
  if (dirty > 0) {
    await git(['add', '-A'], context);
    // --no-verify: this commit only keeps the agent's files safe on its branch; a hook that
    // fails (a linter) must not leave them where a cleanup would lose them. No signing: a
    // passphrase prompt would hang an unattended run.
    const identity = await identityArgs(context);
    await git([...identity, '-c', 'commit.gpgSign=false', 'commit', '--no-verify', '--quiet', '-m', `fanout: what ${spec.agent} left uncommitted`], context);
    // The commit and what HEAD names ("HEAD" itself when detached), in one call.
    const [head = '', symbolic = 'HEAD'] = (await git(['rev-parse', 'HEAD', '--symbolic-full-name', 'HEAD'], context)).stdout.trim().split('\n');
    status = { head, branch: symbolic === 'HEAD' ? undefined : symbolic.replace(/^refs\/heads\//, ''), changed: 0 };
  }
  const head = status.head ?? '';
  const onBranch = status.branch === spec.branch;
  // Still at the base (an agent that changed nothing): nothing to count, two calls fewer.
  const moved = head !== spec.base;
  const commits = moved ? Number((await git(['rev-list', '--count', `${spec.base}..${head}`], context)).stdout.trim()) : 0;
  const files = moved ? parseNumstat((await git(['diff', '--numstat', '-z', '--no-renames', spec.base, head], context)).stdout) : [];
  const output: CollectOutput = {
    branch: spec.branch,
    head,
    commits,
    leftovers: dirty,
    files,
    added: files.reduce((sum, file) => sum + (file.added ?? 0), 0),
    deleted: files.reduce((sum, file) => sum + (file.deleted ?? 0), 0),
  };
  if (!onBranch) output.switchedBranch = status.branch ?? '(detached HEAD)';
  return output;
}
