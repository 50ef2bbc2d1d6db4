/**
 * Which agents' branches conflict with each other, found before anyone merges: for each pair,
 * `git merge-tree --write-tree` (Git ≥ 2.38) merges the two in memory — no worktree, no index,
 * nothing checked out — and names the files that conflict. Crystal did this dry run before
 * merging; here it is a matrix over the whole fleet. Pairs whose changes touch no common path
 * (no file in common, no file where the other has a directory) cannot conflict, and are not
 * merged: sixteen agents make 120 pairs, most of them apart.
 */
import { git, nulFields, requireGit, type GitContext } from './git.js';

/** A branch to check, and whose it is. */
export interface BranchOf {
  agent: string;
  branch: string;
  /** The paths it changes against the base (`git diff --name-only --no-renames`), when known. */
  paths?: readonly string[];
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
  /** Pairs merged in memory. */
  checked: number;
  /** Pairs not merged because their changes touch no common path. */
  apart: number;
  pairs: ConflictPair[];
}

/** Merges `a` and `b` in memory: the conflicting files, empty when they merge cleanly. */
export async function mergeConflicts(a: string, b: string, context: GitContext): Promise<string[]> {
  const { stdout, exitCode } = await git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', `refs/heads/${a}`, `refs/heads/${b}`], context, { okCodes: [0, 1] });
  if (exitCode === 0) return [];
  // The merged tree's id first, then the conflicted paths.
  return [
    ...new Set(
      nulFields(stdout)
        .slice(1)
        .filter((path) => path !== ''),
    ),
  ];
}

/** Each directory above a path: `a/b/c` → `a`, `a/b`. */
function* parents(path: string): Generator<string> {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) yield path.slice(0, i);
}

/** Whether two sets of changed paths meet: a file in common, or a file where the other has a directory. */
export function pathsMeet(a: readonly string[], b: readonly string[]): boolean {
  const files = new Set(a);
  const dirs = new Set<string>();
  for (const path of a) for (const dir of parents(path)) dirs.add(dir);
  for (const path of b) {
    if (files.has(path) || dirs.has(path)) return true;
    for (const dir of parents(path)) if (files.has(dir)) return true;
  }
  return false;
}

/** Checks every pair of `branches` (in order: a before b). */
export async function conflictMatrix(branches: readonly BranchOf[], context: GitContext): Promise<ConflictMatrix> {
  const pairs: ConflictPair[] = [];
  let checked = 0;
  let apart = 0;
  let gitChecked = false;
  for (let i = 0; i < branches.length; i++) {
    for (let j = i + 1; j < branches.length; j++) {
      const a = branches[i]!.paths;
      const b = branches[j]!.paths;
      if (a !== undefined && b !== undefined && !pathsMeet(a, b)) {
        apart++;
        continue;
      }
      if (!gitChecked) {
        await requireGit(2, 38, 'the conflict matrix (git merge-tree --write-tree)', context);
        gitChecked = true;
      }
      checked++;
      const files = await mergeConflicts(branches[i]!.branch, branches[j]!.branch, context);
      if (files.length > 0) pairs.push({ a: branches[i]!.agent, b: branches[j]!.agent, files });
    }
  }
  return { agents: branches.map((b) => b.agent), checked, apart, pairs };
}
