/**
 * The `git` kind: every git operation of a fleet that writes to the repository — making the
 * fleet's branches, adding a worktree, collecting an agent's branch, the conflict matrix, the
 * integration merge. Its
 * sub-limit key is the repository's common git directory with a limit of 1, so the operations
 * of one repository run one at a time (`git worktree add` and commits in parallel race for
 * the repository's locks), while two repositories go on side by side.
 */
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { collectBranch, type CollectOutput } from '../collect.js';
import { conflictMatrix, type BranchOf } from '../conflicts.js';
import { classifyAgentsError } from '../errors.js';
import { mergeBranches, type MergeOutput } from '../merge.js';
import { addWorktree, createBranches } from '../worktree.js';
import { agentStepFields, type AgentsShared } from './context.js';

const common = {
  /** The repository's top-level directory (its main worktree). */
  repo: z.string().min(1),
  /** The repository's common git directory: the sub-limit key. */
  gitDir: z.string().min(1),
};

/** Makes every branch of the fleet at the base, and records the base (one git process). */
const branchesAction = z.object({ action: z.literal('branches'), ...common, run: z.string().min(1), base: z.string().min(1), branches: z.array(z.string().min(1)).min(1) }).strict();

/** Adds an agent's worktree on its branch. */
const worktreeAction = z
  .object({
    action: z.literal('worktree'),
    ...common,
    run: z.string().min(1),
    agent: z.string().min(1),
    path: z.string().min(1),
    branch: z.string().min(1),
    base: z.string().min(1),
    /** A reference to the branches step (its `baseRef`): the branch is made. */
    baseRef: z.string().min(1),
  })
  .strict();

/** Commits what an agent left and measures its branch. */
const collectAction = z
  .object({
    action: z.literal('collect'),
    ...common,
    ...agentStepFields,
    branch: z.string().min(1),
    base: z.string().min(1),
  })
  .strict();

/** A branch whose agent's steps are referenced: null outputs mean the step did not succeed. */
const candidate = z.object({ agent: z.string().min(1), branch: z.string().min(1), collected: z.unknown().optional(), agentResult: z.unknown().optional(), verified: z.unknown().optional() }).strict();

const conflictsAction = z.object({ action: z.literal('conflicts'), ...common, epoch: z.string().optional(), branches: z.array(candidate) }).strict();

const mergeAction = z
  .object({
    action: z.literal('merge'),
    ...common,
    run: z.string().min(1),
    base: z.string().min(1),
    into: z.string().min(1),
    path: z.string().min(1),
    epoch: z.string().optional(),
    /** Only branches whose verify command passed are merged. */
    verifyRequired: z.boolean(),
    branches: z.array(candidate),
    conflicts: z.unknown().optional(),
  })
  .strict();

/** The input of a `git` operation (the plan builder writes it). */
export const gitInputSchema = z.discriminatedUnion('action', [branchesAction, worktreeAction, collectAction, conflictsAction, mergeAction]);

export type GitInput = z.output<typeof gitInputSchema>;

/** The reason a worktree is locked: read back by `clean`, for its base and to tell a worktree in use. */
export function lockReason(run: string, agent: string, base: string): string {
  return `fanout agents run ${run}, ${agent} from ${base} (pid ${process.pid})`;
}

/** Branches with collected commits (the ones worth comparing or merging), with the paths they change. */
function withCommits(branches: readonly z.output<typeof candidate>[]): BranchOf[] {
  return branches
    .filter((b) => b.collected !== null && b.collected !== undefined && (b.collected as CollectOutput).commits > 0)
    .map((b) => {
      const files = (b.collected as CollectOutput).files;
      return Array.isArray(files) ? { agent: b.agent, branch: b.branch, paths: files.map((f) => f.path) } : { agent: b.agent, branch: b.branch };
    });
}

async function runGit(input: GitInput, context: AttemptContext, shared: AgentsShared): Promise<unknown> {
  const ctx = { cwd: input.repo, env: shared.env, signal: context.signal };
  switch (input.action) {
    case 'branches':
      return createBranches({ run: input.run, base: input.base, branches: input.branches }, ctx);
    case 'worktree':
      return addWorktree({ repo: input.repo, path: input.path, branch: input.branch, base: input.base, lockReason: lockReason(input.run, input.agent, input.base), branchMade: true, gitDir: input.gitDir }, ctx);
    case 'collect':
      return collectBranch({ branch: input.branch, base: input.base, agent: input.agent }, { ...ctx, cwd: input.path });
    case 'conflicts':
      return conflictMatrix(withCommits(input.branches), ctx);
    case 'merge': {
      const clean = input.branches.filter((b) => b.agentResult !== null && b.agentResult !== undefined && (!input.verifyRequired || (b.verified !== null && b.verified !== undefined)));
      const result: MergeOutput = await mergeBranches(
        { repo: input.repo, base: input.base, into: input.into, path: input.path, lockReason: lockReason(input.run, 'integration', input.base), branches: withCommits(clean) },
        ctx,
      );
      return result;
    }
  }
}

/** Runs the git steps; built by `createAgentsAdapters`. */
export function gitAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'git',
    input: gitInputSchema,
    // Serialised per repository by the key; repositories side by side.
    defaults: { maxConcurrency: 16, optimalConcurrency: 16, idempotent: false, keyLimit: 1 },
    key: (input: GitInput) => input.gitDir,
    classify: classifyAgentsError,
    run: (input: GitInput, context: AttemptContext) => runGit(input, context, shared),
  });
}
