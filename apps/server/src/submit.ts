/**
 * What `POST /v1/runs` takes: a plan, or `{ profile, args }` that a built-in profile turns
 * into one. The plan is checked here, before anything is stored: kinds the server does not
 * allow (403), more operations than a run may have (429), and the scheduler's validation of
 * the whole plan (400, every problem with its path). Directories named in `args` must be
 * inside the configured roots: a request never widens what the server touches.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { exploreCodebase, exploreWeb, PROFILES, startPlan } from '@fanout/profiles';
import { describeValue, type CompiledPlan, type Plan, type Scheduler } from '@fanout/scheduler';
import { ServerError, type RequestIssue } from './errors.js';

/** Kinds that change the machine: off unless the server was started to allow them. */
export const GUARDED_KINDS = { write: '--allow-write', bash: '--allow-shell' } as const;

export interface SubmitPolicy {
  scheduler: Scheduler;
  roots: readonly string[];
  allowWrite: boolean;
  allowShell: boolean;
  maxOperations: number;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(issues: RequestIssue[]): ServerError {
  return new ServerError(
    'FANOUT_INPUT_INVALID',
    `expected a plan or { profile, args }, got a body with ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** A directory of `args`, resolved against the first root, that must be inside a root. */
function directory(value: unknown, path: string, roots: readonly string[]): string {
  if (value === undefined) return roots[0]!;
  if (typeof value !== 'string' || value === '') throw invalid([{ path, code: 'FANOUT_INPUT_INVALID', message: `expected a directory, got ${describeValue(value)}` }]);
  const dir = resolve(roots[0]!, value);
  if (!roots.some((root) => inside(root, dir))) {
    throw invalid([{ path, code: 'FANOUT_INPUT_INVALID', message: `expected a directory inside the server's roots (${roots.join(', ')}), got ${JSON.stringify(dir)}` }]);
  }
  return dir;
}

/** The plan a profile builds from its arguments. */
async function profilePlan(body: Record<string, unknown>, policy: SubmitPolicy): Promise<{ plan: Plan; title: string }> {
  const { profile } = body;
  const args = body.args ?? {};
  if (typeof profile !== 'string' || !Object.hasOwn(PROFILES, profile)) {
    throw invalid([{ path: 'profile', code: 'FANOUT_INPUT_INVALID', message: `expected one of ${Object.keys(PROFILES).join(', ')}, got ${describeValue(profile)}` }]);
  }
  if (!isRecord(args)) throw invalid([{ path: 'args', code: 'FANOUT_INPUT_INVALID', message: `expected an object, got ${describeValue(args)}` }]);
  try {
    switch (profile) {
      case 'explore-codebase': {
        const dir = directory(args.dir, 'args.dir', policy.roots);
        const size = args.size ?? 'small';
        if (size !== 'small' && size !== 'medium' && size !== 'large') throw invalid([{ path: 'args.size', code: 'FANOUT_INPUT_INVALID', message: `expected small, medium or large, got ${describeValue(size)}` }]);
        const patterns = args.patterns;
        if (patterns !== undefined && !(Array.isArray(patterns) && patterns.every((p) => typeof p === 'string'))) {
          throw invalid([{ path: 'args.patterns', code: 'FANOUT_INPUT_INVALID', message: `expected a list of regular expressions, got ${describeValue(patterns)}` }]);
        }
        const { plan } = await exploreCodebase(dir, { size, ...(patterns === undefined ? {} : { patterns: patterns as string[] }) });
        return { plan, title: plan.name ?? `explore-codebase ${dir}` };
      }
      case 'explore-web': {
        const { topic, depth } = args;
        if (typeof topic !== 'string' || topic.trim() === '') throw invalid([{ path: 'args.topic', code: 'FANOUT_INPUT_INVALID', message: `expected a topic, got ${describeValue(topic)}` }]);
        if (depth !== undefined && depth !== 'simple' && depth !== 'complex' && depth !== 'comprehensive') {
          throw invalid([{ path: 'args.depth', code: 'FANOUT_INPUT_INVALID', message: `expected simple, complex or comprehensive, got ${describeValue(depth)}` }]);
        }
        const plan = exploreWeb(topic, depth === undefined ? {} : { depth });
        return { plan, title: plan.name ?? `explore-web ${topic}` };
      }
      case 'start': {
        const plan = startPlan(directory(args.dir, 'args.dir', policy.roots));
        return { plan, title: plan.name ?? 'start' };
      }
      default:
        throw invalid([{ path: 'profile', code: 'FANOUT_INPUT_INVALID', message: `expected a profile that builds a plan (explore-codebase, explore-web, start), got ${JSON.stringify(profile)}` }]);
    }
  } catch (error) {
    if (error instanceof ServerError) throw error;
    throw invalid([{ path: 'args', code: 'FANOUT_INPUT_INVALID', message: (error as Error).message }]);
  }
}

/**
 * The plan a request body asks for, checked against the server's policy, and as the
 * scheduler compiled it while validating it (the run takes that, not the plan again).
 */
export async function planFromBody(body: unknown, policy: SubmitPolicy): Promise<{ plan: Plan; title: string; compiled: CompiledPlan }> {
  if (!isRecord(body)) throw invalid([{ path: '', code: 'FANOUT_INPUT_INVALID', message: `expected a JSON object, got ${describeValue(body)}` }]);
  const { plan, title } = 'profile' in body ? await profilePlan(body, policy) : { plan: body as unknown as Plan, title: typeof body.name === 'string' ? body.name : 'plan' };
  const operations: unknown = (plan as { operations?: unknown }).operations;
  if (Array.isArray(operations)) {
    if (operations.length > policy.maxOperations) {
      throw new ServerError('FANOUT_SERVER_TOO_MANY_OPERATIONS', `expected at most ${policy.maxOperations} operations in a run (--max-operations), got ${operations.length}; split the plan`, { retryAfter: 60 });
    }
    const disabled: RequestIssue[] = [];
    operations.forEach((op, i) => {
      const kind = isRecord(op) ? op.kind : undefined;
      if (kind === 'write' && !policy.allowWrite)
        disabled.push({ path: `operations[${i}].kind`, code: 'FANOUT_SERVER_KIND_DISABLED', message: 'expected a kind this server allows, got "write" (start it with --allow-write)' });
      if (kind === 'bash' && !policy.allowShell)
        disabled.push({ path: `operations[${i}].kind`, code: 'FANOUT_SERVER_KIND_DISABLED', message: 'expected a kind this server allows, got "bash" (start it with --allow-shell)' });
    });
    if (disabled.length > 0) {
      throw new ServerError(
        'FANOUT_SERVER_KIND_DISABLED',
        `the plan uses ${disabled.length} operation${disabled.length === 1 ? '' : 's'} of a kind this server does not allow: ${disabled[0]!.path}: ${disabled[0]!.message}`,
        { issues: disabled },
      );
    }
  }
  const validation = policy.scheduler.validate(plan);
  if (!validation.ok) {
    const issues = validation.issues.map((issue) => ({ path: issue.path, code: issue.code, message: issue.message }));
    throw new ServerError(
      'FANOUT_PLAN_INVALID',
      `The plan has ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues
        .slice(0, 5)
        .map((i) => `${i.path || '(plan)'}: ${i.message}`)
        .join('; ')}`,
      { issues },
    );
  }
  return { plan, title, compiled: validation.compiled };
}
