/**
 * The `checkout` kind: fills an agent's new worktree with its branch's files, then copies the
 * `.worktreeinclude` files in. It writes only that worktree's files and index, never what the
 * repository's worktrees share, so checkouts run side by side (see worktree.ts); they are
 * limited like agents, not serialised like the `git` kind.
 *
 * The fleet's template (template.ts) is a step of this kind too: git checks the base out once,
 * into a directory of its own with an index of its own, and this process holds it, so that
 * each worktree's checkout is written from memory instead of by a git process of its own.
 */
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { classifyAgentsError } from '../errors.js';
import { makeTemplate, type CheckoutTemplate, type TemplateResult } from '../template.js';
import { checkoutWorktree } from '../worktree.js';
import { agentStepFields, type AgentsShared } from './context.js';

/** Checks an agent's worktree out. */
const worktreeCheckout = z
  .object({
    agent: agentStepFields.agent,
    /** The repository's top-level directory (where `.worktreeinclude` is). */
    repo: z.string().min(1),
    path: agentStepFields.path,
    /** Whether the worktree step made the worktree (a reference to its `created`): one already there is left as it is. */
    fresh: z.boolean(),
    /** The repository's common git directory (where the branch's ref is read). */
    gitDir: z.string().min(1).optional(),
    /** The key of the fleet's template: used when it is there by the time the checkout starts. */
    template: z.string().min(1).optional(),
    /** A reference that orders the checkout after the template step (optional: without a template, git checks out). */
    ready: z.unknown().optional(),
  })
  .strict();

/** Checks the base out once, for the fleet's worktrees to be written from. */
const templateCheckout = z
  .object({
    action: z.literal('template'),
    /** The repository's top-level directory (where git runs). */
    repo: z.string().min(1),
    gitDir: z.string().min(1),
    base: z.string().min(1),
    /** Where git checks it out (removed once read). */
    dir: z.string().min(1),
    /** Where it is held (the checkouts name it); it lives in this process's memory, so the key holds the run's id. */
    key: z.string().min(1),
    /** The checkouts that may use it: it is let go after the last. */
    uses: z.number().int().nonnegative(),
  })
  .strict();

/** The input of a `checkout` operation (the plan builder writes it). */
export const checkoutInputSchema = z.union([templateCheckout, worktreeCheckout]);

export type CheckoutInput = z.output<typeof checkoutInputSchema>;

/** What the template step says (the template itself stays in memory, under its key). */
export interface TemplateOutput {
  /** Whether there is one (else `why`). */
  made: boolean;
  base: string;
  files?: number;
  bytes?: number;
  why?: string;
}

/** The record of a template key: the template once made, and the checkouts done so far. */
function heldAt(shared: AgentsShared, key: string): { template: CheckoutTemplate | undefined; uses: number; done: number } {
  let held = shared.templates.get(key);
  if (held === undefined) {
    held = { template: undefined, uses: Number.POSITIVE_INFINITY, done: 0 };
    shared.templates.set(key, held);
  }
  return held;
}

async function makeIt(input: z.output<typeof templateCheckout>, context: AttemptContext, shared: AgentsShared): Promise<TemplateOutput> {
  const held = heldAt(shared, input.key);
  held.uses = input.uses;
  if (shared.templateBytes === 0) return { made: false, base: input.base, why: 'templates are turned off (templateBytes 0)' };
  let made: TemplateResult;
  try {
    made = await makeTemplate({ gitDir: input.gitDir, base: input.base, dir: input.dir, maxBytes: shared.templateBytes }, { cwd: input.repo, env: shared.env, signal: context.signal });
  } catch (error) {
    // Nothing waits for the template: without it every worktree is checked out by git, as
    // they all were before it, and the run goes on.
    if (context.signal.aborted) throw error;
    return { made: false, base: input.base, why: error instanceof Error ? error.message : String(error) };
  }
  if (made.template === undefined) return { made: false, base: input.base, why: made.why };
  held.template = made.template;
  return { made: true, base: input.base, files: made.template.files.length, bytes: made.template.bytes };
}

async function runCheckout(input: CheckoutInput, context: AttemptContext, shared: AgentsShared): Promise<unknown> {
  if ('action' in input) return makeIt(input, context, shared);
  const held = input.template === undefined ? undefined : heldAt(shared, input.template);
  // One worktree at a time is written from memory: it is this process's one thread. A
  // checkout that finds one under way (a large tree, written a slice at a time) goes to git,
  // on another core, rather than stretching both: two copies of 1,000 files interleaved on the
  // thread each took twice as long, and the first wave waited for both.
  const template = shared.filling ? undefined : held?.template;
  if (template !== undefined) shared.filling = true;
  try {
    return await checkoutWorktree({ repo: input.repo, path: input.path, fresh: input.fresh, template, gitDir: input.gitDir }, { cwd: input.path, env: shared.env, signal: context.signal });
  } finally {
    if (template !== undefined) shared.filling = false;
    // Let go of the template after the last checkout.
    if (held !== undefined && ++held.done >= held.uses) held.template = undefined;
  }
}

/** Checks worktrees out; built by `createAgentsAdapters`. */
export function checkoutAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'checkout',
    input: checkoutInputSchema,
    defaults: { maxConcurrency: 8, optimalConcurrency: 8, idempotent: false },
    classify: classifyAgentsError,
    run: (input: CheckoutInput, context: AttemptContext) => runCheckout(input, context, shared),
  });
}
