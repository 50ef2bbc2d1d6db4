/**
 * The `disk` kind: how much disk an agent's worktree takes once its agent has ended. A step of
 * its own, not the end of the agent's: a walk of a 1,000-file worktree takes 65–200 ms on a
 * loaded machine, and inside the agent's step it held the agent's slot — the next agent waited
 * for it. Beside the collect step it changes nothing (a commit writes the repository's objects
 * and the worktree's index, both outside the worktree's directory).
 */
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { diskUsage } from '../disk-usage.js';
import { classifyAgentsError } from '../errors.js';
import { agentStepFields, type AgentsShared } from './context.js';

/** The input of a `disk` operation (the plan builder writes it). */
export const diskInputSchema = z.object({ ...agentStepFields }).strict();

export type DiskInput = z.output<typeof diskInputSchema>;

/** A worktree's disk use; `bytes` undefined when measuring is turned off (`diskUsage: false`). */
export interface DiskOutput {
  agent: string;
  bytes: number | undefined;
}

/** Measures worktrees; built by `createAgentsAdapters`. */
export function diskAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'disk',
    input: diskInputSchema,
    defaults: { maxConcurrency: 2, optimalConcurrency: 2, idempotent: true },
    classify: classifyAgentsError,
    run: async (input: DiskInput, _context: AttemptContext): Promise<DiskOutput> => ({ agent: input.agent, bytes: shared.diskUsage ? await diskUsage(input.path) : undefined }),
  });
}
