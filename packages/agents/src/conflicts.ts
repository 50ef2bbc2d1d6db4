/**
 * Which agents' branches conflict with each other, found before anyone merges: for each pair,
 * `git merge-tree --write-tree` (Git ≥ 2.38) merges the two in memory — no worktree, no index,
 * nothing checked out — and names the files that conflict. Crystal did this dry run before
 * merging; here it is a matrix over the whole fleet.
 */
import { git, nulFields, requireGit, type GitContext } from './git.js';

/** A branch to check, and whose it is. */
export interface BranchOf {
  agent: string;
  branch: string;
}

/** Two agents whose branches do not merge cleanly. */
export interface ConflictPair {
  a: string;
  b: string;
  /** The files that conflict. */
  files: string[];
}

/** The matrix: every pair of branches with commits, checked. */
export interface ConflictMatrix {
  /** Agents whose branches were compared (those with commits beyond the base). */
  agents: string[];
  /** Pairs checked. */
  checked: number;
  pairs: ConflictPair[];
}

/** Merges `a` and `b` in memory: the conflicting files, empty when they merge cleanly. */
export async function mergeConflicts(a: string, b: string, context: GitContext): Promise<string[]> {
  const { stdout, exitCode } = await git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', `refs/heads/${a}`, `refs/heads/${b}`], context, { okCodes: [0, 1] });
  if (exitCode === 0) return [];
  // The merged tree's id first, then the conflicted paths.
  return [...new Set(nulFields(stdout).slice(1).filter((path) => path !== ''))];
}

/** Checks every pair of `branches` (in order: a before b). */
export async function conflictMatrix(branches: readonly BranchOf[], context: GitContext): Promise<ConflictMatrix> {
  if (branches.length >= 2) await requireGit(2, 38, 'the conflict matrix (git merge-tree --write-tree)', context);
  const pairs: ConflictPair[] = [];
  let checked = 0;
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      checked++;
      const files = await mergeConflicts(branches[i]!.branch, branches[j]!.branch, context);
      if (files.length > 0) pairs.push({ a: branches[i]!.agent, b: branches[j]!.agent, files });
    }
  }
  return { agents: branches.map((b) => b.agent), checked, pairs };
}
