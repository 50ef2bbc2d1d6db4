/**
 * `--merge`: the clean branches merged one by one into a new integration branch
 * (`fanout/<run>/integration`, made from the base in a worktree of its own), stopping at the
 * first conflict. The user's branch and checkout are never touched: what to do with the
 * integration branch is theirs to decide.
 */
import { identityArgs } from './collect.js';
import { AgentsError } from './errors.js';
import { git, nulFields, type GitContext } from './git.js';
import { addWorktree, checkoutWorktree } from './worktree.js';
import type { BranchOf } from './conflicts.js';

/** What {@link mergeBranches} did. */
export interface MergeOutput {
  /** The integration branch and its worktree. */
  branch: string;
  worktree: string;
  /** Agents whose branches were merged, in order. */
  merged: string[];
  /** The merge that conflicted (and was aborted); the rest were not tried. */
  conflict?: { agent: string; files: string[] };
  /** Agents not tried because the merge stopped first. */
  notTried: string[];
  /** The integration branch's commit at the end. */
  head: string;
}

/** What {@link mergeBranches} needs. */
export interface MergeSpec {
  /** The repository's top-level directory. */
  repo: string;
  base: string;
  /** The integration branch to create. */
  into: string;
  /** Where its worktree goes. */
  path: string;
  lockReason: string;
  /** Branches to merge, in order. */
  branches: readonly BranchOf[];
}

/**
 * Merges `spec.branches` into a new branch `spec.into` made from the base. Resolves with what
 * was merged; a conflict rejects with `FANOUT_MERGE_CONFLICT`, its `data` the output so far.
 */
export async function mergeBranches(spec: MergeSpec, context: GitContext): Promise<MergeOutput> {
  const made = await addWorktree({ repo: spec.repo, path: spec.path, branch: spec.into, base: spec.base, lockReason: spec.lockReason }, context);
  await checkoutWorktree({ repo: spec.repo, path: spec.path, fresh: made.created }, context);
  const ctx = { ...context, cwd: spec.path };
  const identity = await identityArgs(ctx);
  const output: MergeOutput = { branch: spec.into, worktree: spec.path, merged: [], notTried: [], head: spec.base };
  for (let i = 0; i < spec.branches.length; i++) {
    const { agent, branch } = spec.branches[i]!;
    const merged = await git([...identity, '-c', 'commit.gpgSign=false', 'merge', '--no-ff', '--no-edit', '-m', `fanout: merge ${agent} (${branch})`, `refs/heads/${branch}`], ctx, {
      okCodes: [0, 1],
    });
    if (merged.exitCode === 0) {
      output.merged.push(agent);
      continue;
    }
    const files = nulFields((await git(['diff', '--name-only', '--diff-filter=U', '-z'], ctx)).stdout);
    await git(['merge', '--abort'], ctx);
    output.conflict = { agent, files };
    output.notTried = spec.branches.slice(i + 1).map((b) => b.agent);
    output.head = (await git(['rev-parse', 'HEAD'], ctx)).stdout.trim();
    throw new AgentsError(
      'FANOUT_MERGE_CONFLICT',
      `expected ${branch} (${agent}) to merge cleanly into ${spec.into} after ${output.merged.length === 0 ? 'nothing' : output.merged.join(', ')}, but ${
        files.length === 0 ? 'the merge failed' : `${files.join(', ')} conflict`
      }; the merge stopped there (${output.notTried.length} not tried)`,
      {
        data: output,
        path: spec.path,
      },
    );
  }
  output.head = (await git(['rev-parse', 'HEAD'], ctx)).stdout.trim();
  return output;
}
