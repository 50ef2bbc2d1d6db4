/**
 * Tasks × agents as one fanout plan. The fleet's branches are made first, in one git step;
 * then each agent is a chain of real operations — worktree (git) → checkout → setup → agent →
 * collect (git) → verify, with its worktree's disk use measured beside the collect — and the fleet ends with the conflict matrix and, when asked, the
 * integration merge. The scheduler's limits, timeouts,
 * journal, live view and summary apply to every step.
 *
 * Verify runs after collect, not before: it then judges exactly what the branch holds, what it
 * writes (build output, caches) is never committed, and a failing verify never keeps the
 * agent's work from being committed.
 *
 * The plan runs with the `continue` failure policy, every dependency written as a reference:
 * a step whose reference to a failed step is plain is skipped (as `isolate` would), while
 * collect refers to its agent *optionally*, so what a failed, idle or crashed agent left is
 * still committed on its branch, and the conflict matrix and merge see every branch that was
 * collected.
 */
import { createHash, randomUUID } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { JournalState, OperationSpec, Plan } from '@fanout/scheduler';
import type { AgentOutput } from './adapters/agent-adapter.js';
import { stringEnv } from './adapters/context.js';
import { AgentsError } from './errors.js';
import { git, type GitContext } from './git.js';
import type { AgentPreset } from './preset.js';
import { BUILTIN_PRESETS } from './presets/index.js';
import type { AgentChoice, AgentTask } from './tasks.js';
import { checkUnique } from './tasks.js';

/** What to deploy. */
export interface AgentsSpec {
  /** A directory inside the repository the agents work on. */
  repo: string;
  tasks: readonly AgentTask[];
  agents: readonly AgentChoice[];
  /**
   * What every branch starts from (a branch, tag or commit), resolved to a commit once.
   * @default "HEAD"
   */
  base?: string | undefined;
  /** The run's name: branches are `fanout/<run>/<agent>`. @default the UTC time, `20261206-140322` */
  run?: string | undefined;
  /**
   * Where the worktrees go (`<dir>/<run>/<agent>`); must be outside the repository.
   * @default `$XDG_DATA_HOME/fanout/worktrees/<repo>-<hash>` (`~/.local/share/…`)
   */
  worktreesDir?: string | undefined;
  /** A command run in each worktree before its agent (argv). */
  setup?: readonly string[] | undefined;
  /** A command run in each worktree after its work is committed (argv). */
  verify?: readonly string[] | undefined;
  /** Merge the clean branches into `fanout/<run>/integration`. */
  merge?: boolean;
  /**
   * How many agents run at once (the limit the plan will run with). Each agent starts as soon
   * as its own worktree is checked out (and set up): the worktrees are made in the order the
   * agents are needed, and the first agent does not wait for the others'. The later agents'
   * worktrees are made once the first wave's are checked out (while its agents run: made
   * beside the first wave's checkouts, they competed with them for the cores and held the
   * first wave back). 1 turns that off.
   * @default 8
   */
  wave?: number;
  /** Extra arguments per preset name (`{ claude: ['--model', 'sonnet'] }`). */
  presetArgs?: Readonly<Record<string, readonly string[]>>;
  /** The presets agents may name. @default the built-in ones */
  presets?: Readonly<Record<string, AgentPreset>>;
}

/** Options of {@link planAgents}. */
export interface PlanAgentsOptions {
  /**
   * The journal of an earlier run of the same fleet (`readJournal`), to resume it: agents it
   * records as succeeded are carried over with their collect and verify, and the steps after
   * an agent that runs again are run again too.
   */
  previous?: JournalState | undefined;
  /** The scheduler's run id for this run (pass it on to `run`). @default a random UUID */
  runId?: string;
  /** The environment git runs with. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** One agent of the fleet: where it works and its operations' ids. */
export interface AgentSlot {
  /** `<task>.<preset>`, or `<task>.<preset>-<n>` for best-of-N. */
  id: string;
  task: AgentTask;
  preset: string;
  provider: string;
  branch: string;
  path: string;
  ops: { worktree: string; checkout: string; setup?: string; agent: string; disk: string; collect: string; verify?: string };
}

/** What a fleet is: enough to read its results back and clean up after it. */
export interface AgentsRunInfo {
  run: string;
  /** The repository's top-level directory. */
  repo: string;
  /** Its common git directory. */
  gitDir: string;
  /** The commit every branch starts from. */
  base: string;
  worktreesDir: string;
  agents: AgentSlot[];
  /** The integration branch and its worktree, with `merge`. */
  merge?: { branch: string; path: string };
  setup?: readonly string[];
  verify?: readonly string[];
}

/** The plan and what it deploys. */
export interface AgentsPlan {
  plan: Plan;
  /** Pass it as the scheduler's `runId`: resumed runs find their carried-over agents by it. */
  runId: string;
  info: AgentsRunInfo;
}

/** The plan's name, which the journal's run record keeps. */
export function agentsPlanName(run: string, base: string): string {
  return `fanout agents run ${run} on ${base}`;
}

function utcStamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}-${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

function hash(value: unknown, length = 12): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('hex').slice(0, length);
}

/** The default home of a repository's worktrees, outside it. */
export function defaultWorktreesDir(repo: string, env: Readonly<Record<string, string | undefined>>): string {
  const data = env.XDG_DATA_HOME !== undefined && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME ?? homedir(), '.local', 'share');
  return join(data, 'fanout', 'worktrees', `${basename(repo)}-${hash(repo, 8)}`);
}

/** `path` with its longest existing prefix resolved through symbolic links (the rest as written). */
async function realpathOfNearest(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realpathOfNearest(parent), basename(path));
  }
}

/** The repository `dir` is in: its top level and common git directory. */
export async function findRepository(dir: string, context: Omit<GitContext, 'cwd'>): Promise<{ repo: string; gitDir: string }> {
  let out;
  try {
    out = await git(['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-common-dir'], { ...context, cwd: dir });
  } catch (error) {
    // git's own words ("fatal: not a git repository…"), or why it could not run.
    const said = ((error as AgentsError).data as { stderr?: string } | undefined)?.stderr?.trim().split('\n')[0] || (error as Error).message;
    throw new AgentsError('FANOUT_AGENTS_NOT_A_REPOSITORY', `expected ${dir} to be inside a git repository with a working tree, got: ${said}`, { cause: error, path: dir });
  }
  const [repo, gitDir] = out.stdout.trim().split('\n');
  if (repo === undefined || gitDir === undefined || repo === '')
    throw new AgentsError('FANOUT_AGENTS_NOT_A_REPOSITORY', `expected ${dir} to be inside a git repository with a working tree, got a bare repository`, { path: dir });
  return { repo, gitDir };
}

/** Resolves `base` to a commit. */
async function resolveBase(base: string, context: GitContext): Promise<string> {
  const out = await git(['rev-parse', '--verify', '--quiet', `${base}^{commit}`], context, { okCodes: [0, 1] });
  if (out.exitCode !== 0) {
    throw new AgentsError(
      'FANOUT_AGENTS_NOT_A_REPOSITORY',
      `expected the base ${JSON.stringify(base)} to name a commit of ${context.cwd}, but it does not${base === 'HEAD' ? ' (a repository without any commit: commit something first)' : ''}`,
      { path: 'base' },
    );
  }
  return out.stdout.trim();
}

/** A run name whose branches do not exist yet: `name`, else `name-2`, `name-3`… */
async function freeRunName(name: string, context: GitContext): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name}-${n}`;
    const { stdout } = await git(['for-each-ref', '--count=1', '--format=%(refname)', `refs/heads/fanout/${candidate}/`], context);
    if (stdout.trim() === '') return candidate;
  }
}

/** Agent slots: every task × every choice × its count, in that order. */
function slots(spec: AgentsSpec, run: string, runDir: string, presets: Readonly<Record<string, AgentPreset>>): AgentSlot[] {
  const out: AgentSlot[] = [];
  for (const task of spec.tasks) {
    for (const choice of spec.agents) {
      const preset = presets[choice.preset];
      if (preset === undefined) {
        throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected --agent to name a preset (${Object.keys(presets).join(', ')}, or command with --command), got ${JSON.stringify(choice.preset)}`, { path: 'agents' });
      }
      for (let k = 1; k <= choice.count; k++) {
        const id = choice.count === 1 ? `${task.id}.${choice.preset}` : `${task.id}.${choice.preset}-${k}`;
        out.push({
          id,
          task,
          preset: choice.preset,
          provider: preset.provider,
          branch: `fanout/${run}/${id}`,
          path: join(runDir, id),
          ops: {
            worktree: `worktree:${id}`,
            checkout: `checkout:${id}`,
            ...(spec.setup === undefined ? {} : { setup: `setup:${id}` }),
            agent: `agent:${id}`,
            disk: `disk:${id}`,
            collect: `collect:${id}`,
            ...(spec.verify === undefined ? {} : { verify: `verify:${id}` }),
          },
        });
      }
    }
  }
  return out;
}

/**
 * Builds the plan of a fleet: resolves the repository and the base, names the run, and lays
 * out a worktree, a branch and the chain of operations per agent.
 *
 * @example
 * const { plan, runId, info } = await planAgents({ repo: '.', tasks: tasksFromPrompts(['fix the flaky test']), agents: [{ preset: 'claude', count: 3 }] });
 * const result = await scheduler.execute(plan, { runId, limits: agentsLimits({ agents: 3 }) });
 */
export async function planAgents(spec: AgentsSpec, options: PlanAgentsOptions = {}): Promise<AgentsPlan> {
  const env = stringEnv(options.env ?? process.env);
  const presets = spec.presets ?? BUILTIN_PRESETS;
  if (spec.tasks.length === 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', 'expected at least one task, got none', { path: 'tasks' });
  if (spec.agents.length === 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', 'expected at least one agent, got none', { path: 'agents' });
  checkUnique(spec.tasks, 'tasks');
  for (const [field, command] of [
    ['setup', spec.setup],
    ['verify', spec.verify],
  ] as const) {
    if (command !== undefined && (command.length === 0 || command[0] === ''))
      throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to be a command (a program and its arguments), got an empty one`, { path: field });
  }
  const { repo, gitDir } = await findRepository(resolve(spec.repo), { env });
  const context: GitContext = { cwd: repo, env };
  const runId = options.runId ?? randomUUID();

  // A resumed run keeps its name and base: the operations' inputs must be the same for the
  // journal to carry them over.
  let previousName: { run: string; base: string } | undefined;
  if (options.previous !== undefined && spec.run === undefined) previousName = previousRunOf(options.previous);
  const base = previousName?.base ?? (await resolveBase(spec.base ?? 'HEAD', context));
  const run = spec.run ?? previousName?.run ?? (await freeRunName(utcStamp(new Date()), context));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(run) || run.includes('..') || run.endsWith('.lock')) {
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected the run name to be letters, digits, ".", "_" and "-" (usable in a branch name), got ${JSON.stringify(run)}`, { path: 'run' });
  }

  const root = resolve(spec.worktreesDir ?? defaultWorktreesDir(repo, env));
  // Nothing is made yet (a dry run makes nothing): the path is resolved through what exists.
  const runDir = join(await realpathOfNearest(root), run);
  const inside = relative(repo, runDir);
  if (inside === '' || !(inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside))) {
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected the worktrees to go outside the repository ${repo}, got ${runDir}`, { path: 'worktreesDir' });
  }

  const agents = slots(spec, run, runDir, presets);
  const wave = Math.min(spec.wave ?? 8, agents.length);
  if (!(Number.isInteger(wave) && wave >= 1)) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected wave to be a positive integer, got ${JSON.stringify(spec.wave)}`, { path: 'wave' });
  const firstWave = agents.slice(0, wave).map((slot) => slot.ops.checkout);
  // Every branch in one git process, before the first worktree.
  const operations: OperationSpec[] = [{ id: 'branches', kind: 'git', input: { action: 'branches', repo, gitDir, run, base, branches: agents.map((slot) => slot.branch) } }];
  const epochs: string[] = [];
  for (const slot of agents) {
    const extraArgs = [...(spec.presetArgs?.[slot.preset] ?? [])];
    const digest = hash([slot.preset, slot.provider, slot.task.prompt, extraArgs, slot.path, slot.branch], 16);
    const record = options.previous?.get(slot.ops.agent);
    const carried = record?.state === 'succeeded' && (record.output as AgentOutput | undefined)?.digest === digest;
    // The steps after an agent carry the run that produced its result: when the agent runs
    // again, they become new operations and run again after it.
    const epoch = carried ? record.runId : runId;
    epochs.push(epoch);
    const common = { agent: slot.id, path: slot.path, branch: slot.branch };
    const later = wave > 1 && !firstWave.includes(slot.ops.checkout);
    operations.push({
      id: slot.ops.worktree,
      kind: 'git',
      ...(later ? { after: firstWave } : {}),
      input: { action: 'worktree', repo, gitDir, run, agent: slot.id, path: slot.path, branch: slot.branch, base, baseRef: { $ref: 'branches', path: 'baseRef' } },
    });
    operations.push({ id: slot.ops.checkout, kind: 'checkout', input: { agent: slot.id, repo, path: slot.path, fresh: { $ref: slot.ops.worktree, path: 'created' } } });
    if (slot.ops.setup !== undefined) {
      operations.push({ id: slot.ops.setup, kind: 'setup', input: { ...common, command: [...spec.setup!], worktree: { $ref: slot.ops.checkout, path: 'path' } } });
    }
    operations.push({
      id: slot.ops.agent,
      kind: 'agent',
      input: {
        agent: slot.id,
        task: slot.task.id,
        preset: slot.preset,
        provider: slot.provider,
        prompt: slot.task.prompt,
        path: slot.path,
        branch: slot.branch,
        digest,
        extraArgs,
        worktree: { $ref: slot.ops.checkout, path: 'path' },
        ...(slot.ops.setup === undefined ? {} : { setup: { $ref: slot.ops.setup, path: 'exitCode' } }),
      },
    });
    // Beside the collect step, after the agent whatever became of it (an optional reference).
    operations.push({
      id: slot.ops.disk,
      kind: 'disk',
      input: { agent: slot.id, path: slot.path, epoch, worktree: { $ref: slot.ops.checkout, path: 'path' }, agentResult: { $ref: slot.ops.agent, path: 'ok', optional: true } },
    });
    operations.push({
      id: slot.ops.collect,
      kind: 'git',
      input: {
        action: 'collect',
        repo,
        gitDir,
        agent: slot.id,
        path: slot.path,
        branch: slot.branch,
        base,
        epoch,
        worktree: { $ref: slot.ops.worktree, path: 'path' },
        agentResult: { $ref: slot.ops.agent, path: 'ok', optional: true },
      },
    });
    if (slot.ops.verify !== undefined) {
      operations.push({
        id: slot.ops.verify,
        kind: 'verify',
        input: { ...common, command: [...spec.verify!], epoch, collected: { $ref: slot.ops.collect, path: 'head' }, agentResult: { $ref: slot.ops.agent, path: 'ok' } },
      });
    }
  }
  const fleetEpoch = hash(epochs);
  const candidates = agents.map((slot) => ({
    agent: slot.id,
    branch: slot.branch,
    collected: { $ref: slot.ops.collect, optional: true },
    agentResult: { $ref: slot.ops.agent, path: 'ok', optional: true },
    ...(slot.ops.verify === undefined ? {} : { verified: { $ref: slot.ops.verify, path: 'exitCode', optional: true } }),
  }));
  operations.push({
    id: 'conflicts',
    kind: 'git',
    input: { action: 'conflicts', repo, gitDir, epoch: fleetEpoch, branches: candidates.map(({ agent, branch, collected }) => ({ agent, branch, collected })) },
  });
  const info: AgentsRunInfo = { run, repo, gitDir, base, worktreesDir: runDir, agents };
  if (spec.setup !== undefined) info.setup = spec.setup;
  if (spec.verify !== undefined) info.verify = spec.verify;
  if (spec.merge === true) {
    const into = `fanout/${run}/integration`;
    const path = join(runDir, 'integration');
    info.merge = { branch: into, path };
    operations.push({
      id: 'merge',
      kind: 'git',
      input: {
        action: 'merge',
        repo,
        gitDir,
        run,
        base,
        into,
        path,
        epoch: fleetEpoch,
        verifyRequired: spec.verify !== undefined,
        branches: candidates,
        conflicts: { $ref: 'conflicts', path: 'checked', optional: true },
      },
    });
  }
  const plan: Plan = { name: agentsPlanName(run, base), policy: { failure: 'continue' }, defaults: { retry: false }, operations };
  return { plan, runId, info };
}

/**
 * The run and base an earlier run of a fleet used, from its journal's records (the branch of
 * any worktree it made). Undefined when the journal has none.
 */
export function previousRunOf(journal: JournalState): { run: string; base: string } | undefined {
  for (const record of journal.values()) {
    if (record.kind !== 'git' || !record.id.startsWith('worktree:') || record.state !== 'succeeded') continue;
    const output = record.output as { branch?: unknown; base?: unknown } | undefined;
    const match = typeof output?.branch === 'string' ? /^fanout\/([^/]+)\//.exec(output.branch) : null;
    if (match !== null && typeof output?.base === 'string') return { run: match[1]!, base: output.base };
  }
  return undefined;
}
