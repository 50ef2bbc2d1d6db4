/**
 * The `checkout` kind: fills an agent's new worktree with its branch's files, then copies the
 * `.worktreeinclude` files in. It writes only that worktree's files and index, never what the
 * repository's worktrees share, so checkouts run side by side (see worktree.ts); they are
 * limited like agents, not serialised like the `git` kind.
 */
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { classifyAgentsError } from '../errors.js';
import { checkoutWorktree } from '../worktree.js';
import { agentStepFields, type AgentsShared } from './context.js';

/** The input of a `checkout` operation (the plan builder writes it). */
export const checkoutInputSchema = z
  .object({
    agent: agentStepFields.agent,
    /** The repository's top-level directory (where `.worktreeinclude` is). */
    repo: z.string().min(1),
    path: agentStepFields.path,
    /** Whether the worktree step made the worktree (a reference to its `created`): one already there is left as it is. */
    fresh: z.boolean(),
  })
  .strict();

export type CheckoutInput = z.output<typeof checkoutInputSchema>;

/** Checks worktrees out; built by `createAgentsAdapters`. */
export function checkoutAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'checkout',
    input: checkoutInputSchema,
    defaults: { maxConcurrency: 8, optimalConcurrency: 8, idempotent: false },
    classify: classifyAgentsError,
    run: async (input: CheckoutInput, context: AttemptContext) => {
      // A worktree left as it was is not a checkout: no agent waits for it.
      if (!input.fresh) return checkoutWorktree({ repo: input.repo, path: input.path, fresh: false }, { cwd: input.path, env: shared.env, signal: context.signal });
      const ended = shared.checkouts.begin(input.path);
      try {
        return await checkoutWorktree({ repo: input.repo, path: input.path, fresh: true }, { cwd: input.path, env: shared.env, signal: context.signal });
      } finally {
        ended();
      }
    },
  });
}
