/**
 * zod's issues as plan issues: the kit's messages (diagnostics.ts) with the plan's codes, and
 * the error of an input that fails its adapter's schema once its references are resolved.
 */
import type { z } from 'zod';
import { describeZodIssues } from './diagnostics.js';
import { FanoutError, type PlanIssue, type SchedulerErrorCode } from './errors.js';

/**
 * Turns zod issues into plan issues that say what was expected, what was got and where.
 * `root` is the value that was parsed, used to describe what was found.
 */
export function fromZodIssues(error: z.ZodError, root: unknown, base: string, code: SchedulerErrorCode, allowedKeys?: readonly string[]): PlanIssue[] {
  return describeZodIssues(error, root, base, allowedKeys).map((d) => ({ code, path: d.path, message: d.message }));
}

/** An input that fails its adapter's schema once its references are resolved (or a fan-out child's item put in). */
export function inputError(error: z.ZodError, input: unknown, base: string, id: string): FanoutError<SchedulerErrorCode> {
  const issues = fromZodIssues(error, input, base, 'FANOUT_INPUT_INVALID');
  return new FanoutError<SchedulerErrorCode>('FANOUT_INPUT_INVALID', `the input of "${id}" is invalid once resolved: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    path: issues[0]?.path ?? base,
  });
}
