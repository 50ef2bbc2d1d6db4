import type { z } from 'zod';
import { describeValue, FanoutError, type PlanIssue } from './errors.js';

/** Appends a zod path to a plan path: `operations[2]` + `["input", "paths", 0]`. */
export function joinPath(base: string, steps: readonly PropertyKey[]): string {
  let out = base;
  for (const step of steps) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (typeof step === 'string' && /^[A-Za-z_$][\w$]*$/.test(step)) out += out === '' ? step : `.${step}`;
    else out += `[${JSON.stringify(String(step))}]`;
  }
  return out;
}

/** The value at a path of keys inside `root`, or undefined where the path leaves it. */
export function valueAt(root: unknown, steps: readonly PropertyKey[]): unknown {
  let current = root;
  for (const step of steps) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[step];
  }
  return current;
}

/**
 * Turns zod issues into plan issues that say what was expected, what was got and where.
 * `root` is the value that was parsed, used to describe what was found.
 */
export function fromZodIssues(error: z.ZodError, root: unknown, base: string, code: string, allowedKeys?: readonly string[]): PlanIssue[] {
  const issues: PlanIssue[] = [];
  for (const issue of error.issues) {
    const got = valueAt(root, issue.path);
    let message: string;
    switch (issue.code) {
      case 'invalid_type':
        message = `expected ${issue.expected}, got ${describeValue(got)}`;
        break;
      case 'unrecognized_keys': {
        for (const key of issue.keys) {
          issues.push({
            code,
            path: joinPath(base, [...issue.path, key]),
            message: `unknown field "${key}"${allowedKeys === undefined ? '' : ` (expected one of: ${allowedKeys.join(', ')})`}`,
          });
        }
        continue;
      }
      case 'invalid_union':
        message = `${describeValue(got)} does not match any accepted form${issue.message && issue.message !== 'Invalid input' ? ` (${issue.message})` : ''}`;
        break;
      default:
        message = `${issue.message.replace(/^Invalid input: /, '')}; got ${describeValue(got)}`;
    }
    issues.push({ code, path: joinPath(base, issue.path), message });
  }
  return issues;
}

/** An input that fails its adapter's schema once its references are resolved (or a fan-out child's item put in). */
export function inputError(error: z.ZodError, input: unknown, base: string, id: string): FanoutError {
  const issues = fromZodIssues(error, input, base, 'FANOUT_INPUT_INVALID');
  return new FanoutError('FANOUT_INPUT_INVALID', `the input of "${id}" is invalid once resolved: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
    path: issues[0]?.path ?? base,
  });
}
