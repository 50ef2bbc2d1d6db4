/**
 * The structured result every run tool answers with (`outputSchema`): one entry per
 * operation, the run's counts, the text rendered for a model, and what did not fit.
 */
import { z } from 'zod';

const count = z.number().int().min(0);

/** One operation of a result. */
export const operationEntrySchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: z.enum(['succeeded', 'failed', 'skipped', 'cancelled', 'timed-out', 'pending']).describe('pending: still queued or running (the call passed its deadline)'),
    attempts: count,
    durationMs: z.number().min(0).describe('Duration of the last attempt'),
    parent: z.string().optional().describe('The fan-out operation this one is an item of'),
    error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }).optional().describe('Why it did not succeed'),
    output: z.unknown().optional().describe("The adapter's output, when it fits the budget"),
    outputOmitted: z.literal(true).optional().describe('The output did not fit the budget: it is in spill.results'),
  })
  .strict();

/** What the structured result of a run tool holds. */
export const runResultSchema = z
  .object({
    handle: z.string().describe('The run: pass it to fanout_status or fanout_cancel'),
    done: z.boolean().describe('Every operation has ended; false: the call passed its deadline and the rest carries on'),
    root: z.string().describe('Paths in text are relative to this directory'),
    roots: z.array(z.string()).describe('The directories operations may touch'),
    summary: z
      .object({
        operations: count,
        succeeded: count,
        failed: count,
        timedOut: count,
        skipped: count,
        cancelled: count,
        pending: count,
        wallMs: z.number().min(0),
        sequentialMs: z.number().min(0).describe('Estimated time one at a time'),
        speedup: z.number().min(0),
      })
      .strict(),
    operations: z.array(operationEntrySchema).describe('One entry per operation: plan order, then fan-out items'),
    operationsOmitted: count.optional().describe('Entries of operations that succeeded left out to fit the budget (all are in spill.results)'),
    text: z.string().describe('The aggregated report for a model (also the text content)'),
    budget: z.object({ tokens: count, chars: count, used: count, fits: z.boolean() }).strict().describe('The output budget (≈ 4 characters a token) and what this result used'),
    cut: z
      .object({
        text: z.boolean().describe('The text is a preview'),
        outputs: count.describe('Outputs left out'),
        entries: count.describe('Operation entries left out'),
      })
      .strict()
      .optional()
      .describe('What did not fit'),
    spill: z
      .object({ dir: z.string(), report: z.string().describe('The full text'), results: z.string().describe("Every operation's entry and output (JSON)") })
      .strict()
      .optional()
      .describe('Where what did not fit was written'),
  })
  .strict();

/** The structured result of a run tool. */
export type RunResultContent = z.infer<typeof runResultSchema>;
