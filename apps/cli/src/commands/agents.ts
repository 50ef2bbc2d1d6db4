/**
 * `fanout agents`: tasks × coding agents, each in its own git worktree, as one plan run
 * through the usual session (live view, summary, journal, report). `fanout agents clean`
 * removes the worktrees and branches that hold nothing worth keeping. Thin wiring of
 * `@fanout/agents`: flags in, its plan and adapters run, its report out.
 */
import { readFile } from 'node:fs/promises';
import { createMonitor } from '@fanout/monitor';
import { monitorOptions } from '@fanout/profiles';
import {
  AGENTS_KIND_CLASSES,
  AgentsError,
  agentsLimits,
  agentsReport,
  BUILTIN_PRESETS,
  cleanAgents,
  commandNotifier,
  commandPreset,
  createAgentsAdapters,
  parseAgentChoices,
  parseTasks,
  planAgents,
  renderAgentsHtml,
  renderAgentsMarkdown,
  renderAgentsText,
  splitWords,
  taskSlug,
  tasksFromPrompts,
  type AgentDialect,
  type AgentPreset,
  type AgentProgress,
  type AgentTask,
  type CleanReport,
} from '@fanout/agents';
import { readJournal, type SchedulerEvent } from '@fanout/scheduler';
import { duration, EXIT, flags as flagChecks, parse, positiveInt, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { writeOut } from '../io.js';
import { runSession, type RunFlagValues } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout agents [tasks-file | -] [--agent claude,codex:2] [flags] [::: task…]
       fanout agents clean [--repo DIR] [--run NAME] [--journal FILE] [--dry-run] [--json]

Runs every task with every agent (best-of-N with name:N), each agent in its own git worktree
on its own branch (fanout/<run>/<task>.<agent>), as one plan: worktree → setup → agent →
collect (what it left uncommitted is committed on its branch) → verify; then the conflict
matrix of the branches (git merge-tree) and, with --merge, an integration branch. Your branch
and checkout are never touched. Tasks: a file with one task a line or a JSON list, - for
standard input, or the arguments after :::.

Agents:
      --agent LIST          claude, codex, gemini, opencode, aider, command; name:N runs N of it
                            on each task (default: claude, or command with --command)
      --command TEMPLATE    any agent CLI: {prompt} {dir} {agent} {branch} {task} {session} are
                            replaced inside its words (the prompt goes to stdin without {prompt});
                            never run by a shell
      --dialect NAME        how --command's output is read: text (default), claude, codex,
                            gemini, opencode
      --args NAME=ARGS      extra arguments for a preset, e.g. --args 'claude=--permission-mode acceptEdits'
Where:
      --repo DIR            the repository (default: the working directory)
      --base REF            what every branch starts from (default: HEAD)
      --run NAME            the run's name in branch names (default: the UTC time)
      --worktrees DIR       where worktrees go, outside the repository
                            (default: ~/.local/share/fanout/worktrees/<repo>-<hash>)
Steps:
      --setup CMD           run in each worktree before its agent (e.g. "npm ci --offline")
      --verify CMD          run in each worktree after its work is committed (e.g. "npm test")
      --merge               merge the clean branches one by one into fanout/<run>/integration,
                            stopping at the first conflict
Control:
  -j, --concurrency N       agents at once (default 8; at most 16 unless --cap raises it)
      --cap N               the most -j may be (default 16)
      --provider-limit P=N  agents at once of one provider or preset (claude=2, openai=4)
      --timeout DUR         each agent's whole turn, rate-limit pauses included (e.g. 30m)
      --idle-timeout DUR    stop an agent silent this long (default 10m; 0 never)
      --waiting-after DUR   flag an agent silent this long after a question (default 30s)
      --step-timeout DUR    each setup and verify command
      --budget-tokens N     stop every agent once the run has used N tokens
      --budget-usd X        stop every agent once the run has spent X dollars (as the CLIs report)
      --notify CMD          run when an agent waits for input, is refused a permission, is
                            rate-limited or ends (FANOUT_EVENT, FANOUT_AGENT, FANOUT_DETAIL,
                            FANOUT_WORKTREE, FANOUT_BRANCH in its environment)
      --dry-run             print the agents, branches and worktrees, run nothing

${RUN_FLAGS_HELP.replace(/ {2}-j, --concurrency N {2}most operations in flight at once\n/, '').replace(/ {6}--redis URL[\s\S]*?--redis-prefix P[^\n]*\n/, '')}`;

// Agents work in this machine's git worktrees: they do not run on workers (--redis).
const { redis: _redis, 'redis-prefix': _redisPrefix, ...LOCAL_RUN_FLAGS } = RUN_FLAGS;

/** The flags of `fanout agents`, the run flags included (-j means agents at once here). */
export const AGENTS_FLAGS = {
  ...LOCAL_RUN_FLAGS,
  agent: { type: 'string' },
  command: { type: 'string' },
  dialect: { type: 'string' },
  args: { type: 'string', multiple: true },
  repo: { type: 'string' },
  base: { type: 'string' },
  run: { type: 'string' },
  worktrees: { type: 'string' },
  setup: { type: 'string' },
  verify: { type: 'string' },
  merge: { type: 'boolean' },
  cap: { type: 'string' },
  'provider-limit': { type: 'string', multiple: true },
  timeout: { type: 'string' },
  'idle-timeout': { type: 'string' },
  'waiting-after': { type: 'string' },
  'step-timeout': { type: 'string' },
  'budget-tokens': { type: 'string' },
  'budget-usd': { type: 'string' },
  notify: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

/** What `fanout agents` and `fanout start --agents` need to deploy a fleet. */
export interface DeployOptions {
  values: Partial<Record<keyof typeof AGENTS_FLAGS, string | boolean | string[] | undefined>>;
  tasks: AgentTask[];
  /** The repository, when the command decides it (`fanout start <dir>`). */
  repo?: string;
}

/** Turns a usage-type error of the agents package into a usage error (exit 2). */
function asUsage(error: unknown): never {
  if (error instanceof AgentsError && (error.code === 'FANOUT_AGENTS_INPUT_INVALID' || error.code === 'FANOUT_AGENTS_NOT_A_REPOSITORY' || error.code === 'FANOUT_GIT_TOO_OLD')) {
    throw new UsageError(`${error.message} (${error.code})`);
  }
  throw error;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [];
}

/** `NAME=VALUE` flags into a map (`--args`, `--provider-limit`). */
function pairs(values: string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new UsageError(`expected ${flag} NAME=VALUE, got ${JSON.stringify(value)}`);
    out.set(value.slice(0, at), value.slice(at + 1));
  }
  return out;
}

function positiveNumber(value: string | undefined, flag: string): number | undefined {
  return flagChecks.positiveNumber(value, flag);
}

/** Tasks from a file (or - for standard input) and the arguments after `:::`. */
export async function readTasks(file: string | undefined, after: string[]): Promise<AgentTask[]> {
  const tasks: AgentTask[] = [];
  if (file !== undefined) {
    let content: string;
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      content = Buffer.concat(chunks).toString('utf8');
    } else {
      try {
        content = await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read the tasks file ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
      }
    }
    tasks.push(...parseTasks(content, file === '-' ? 'standard input' : file));
  }
  // Numbered on from the file's tasks.
  const first = tasks.length;
  tasks.push(...tasksFromPrompts(after, ':::').map((task, i) => ({ ...task, id: taskSlug(task.prompt, first + i) })));
  if (tasks.length === 0) throw new UsageError('expected tasks: a file (one task a line, or a JSON list), - for standard input, or tasks after :::');
  return tasks;
}

/**
 * Deploys a fleet through the session: plans it, runs it, prints its report. Returns the exit
 * code (0 when every step of every agent succeeded).
 */
export async function deployAgents(options: DeployOptions): Promise<number> {
  const { values } = options;
  const presets: Record<string, AgentPreset> = { ...BUILTIN_PRESETS };
  const template = text(values.command);
  const dialect = text(values.dialect);
  if (dialect !== undefined && template === undefined) throw new UsageError('--dialect applies to --command, which is missing');
  try {
    if (template !== undefined) presets.command = commandPreset({ template, ...(dialect === undefined ? {} : { dialect: dialect as AgentDialect }) });
    const choices = parseAgentChoices(text(values.agent) ?? (template === undefined ? 'claude' : 'command'));
    const presetArgs: Record<string, string[]> = {};
    for (const [name, args] of pairs(list(values.args), '--args')) {
      if (presets[name] === undefined) throw new UsageError(`expected --args to name a preset (${Object.keys(presets).join(', ')}), got ${JSON.stringify(name)}`);
      presetArgs[name] = splitWords(args, `--args ${name}`);
    }
    const providers: Record<string, number> = {};
    for (const [name, value] of pairs(list(values['provider-limit']), '--provider-limit')) {
      providers[presets[name]?.provider ?? name] = positiveInt(value, `--provider-limit ${name}`)!;
    }
    const settings = await loadSettings({ configFile: text(values.config) });
    const env = process.env as Record<string, string | undefined>;
    const agentsAtOnce = positiveInt(text(values.concurrency), '-j') ?? 8;
    const previous = values.journal !== undefined && (values.resume === true || values['retry-failed'] === true) ? await readJournal(text(values.journal)!) : undefined;
    const planned = await planAgents(
      {
        repo: options.repo ?? text(values.repo) ?? process.cwd(),
        tasks: options.tasks,
        agents: choices,
        presets,
        presetArgs,
        base: text(values.base),
        run: text(values.run),
        worktreesDir: text(values.worktrees),
        setup: text(values.setup) === undefined ? undefined : splitWords(text(values.setup)!, '--setup'),
        verify: text(values.verify) === undefined ? undefined : splitWords(text(values.verify)!, '--verify'),
        ...(values.merge === true ? { merge: true } : {}),
        wave: agentsAtOnce,
      },
      { env, previous },
    );
    const limits = agentsLimits({
      agents: agentsAtOnce,
      cap: positiveInt(text(values.cap), '--cap') ?? 16,
      ...(Object.keys(providers).length === 0 ? {} : { providers }),
      agentTimeoutMs: duration(text(values.timeout), '--timeout'),
      stepTimeoutMs: duration(text(values['step-timeout']), '--step-timeout'),
    });
    if (values['dry-run'] === true) {
      const lines = planned.info.agents.map((a) => `${a.id}\t${a.preset}\t${a.branch}\t${a.path}`);
      await writeOut(`run ${planned.info.run} on ${planned.info.base} of ${planned.info.repo}\n${lines.join('\n')}\n`);
      return EXIT.ok;
    }
    const notify = text(values.notify);
    const quiet = values.quiet === true || values.ndjson === true;
    const adapters = createAgentsAdapters({
      env,
      presets,
      budget: { tokens: positiveNumber(text(values['budget-tokens']), '--budget-tokens'), usd: positiveNumber(text(values['budget-usd']), '--budget-usd') },
      idleMs: duration(text(values['idle-timeout']), '--idle-timeout'),
      waitingMs: duration(text(values['waiting-after']), '--waiting-after'),
      notifier: notify === undefined ? undefined : commandNotifier({ command: splitWords(notify, '--notify'), env: definedEnv(env), onError: (message) => process.stderr.write(`fanout: ${message}\n`) }),
    });
    const flags: RunFlagValues = { ...(values as RunFlagValues), concurrency: undefined };
    // Pressure pauses the agents' kinds by what they use: setup and verify the CPU, checkouts the disk.
    const monitor = createMonitor({ intervalMs: 500, ...monitorOptions(settings.config), classes: AGENTS_KIND_CLASSES });
    monitor.start();
    try {
      return await runSession({
        title: `fanout agents ${planned.info.run}`,
        monitor,
        plan: planned.plan,
        adapters: adapters.adapters,
        settings,
        flags,
        limits,
        runId: planned.runId,
        onRun: (run) => {
          // Off a terminal, what needs a person is said as it happens (a live view would be
          // drawn over it; its report says it at the end).
          if (!quiet && process.stderr.isTTY !== true) run.on((event) => attention(event));
          // An operation stopped by a timeout or a cancel ends at once; its processes and
          // figures follow.
          return async () => {
            await Promise.all(adapters.shared.running);
          };
        },
        render: (result) => {
          const report = agentsReport(result, planned.info, adapters.shared.outcomes);
          return {
            text: renderAgentsText(report),
            markdown: renderAgentsMarkdown(report),
            json: { ...report, budget: adapters.budget.spent, summary: result.summary },
            html: renderAgentsHtml(report),
          };
        },
      });
    } finally {
      monitor.stop();
    }
  } catch (error) {
    return asUsage(error);
  }
}

/** The environment hooks get: fanout's own, its unset variables left out. */
function definedEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/** A line on stderr for an agent that needs a person. */
function attention(event: SchedulerEvent): void {
  if (event.type !== 'op-progress' || event.kind !== 'agent') return;
  const { agent, event: what } = event.data as AgentProgress;
  if (what.type === 'waiting') process.stderr.write(`fanout: ${agent} is waiting for input: ${what.text}\n`);
  else if (what.type === 'permission-denied') process.stderr.write(`fanout: ${agent} was refused ${what.tool}\n`);
  else if (what.type === 'paused') process.stderr.write(`fanout: ${agent} hit a rate limit (${what.reason}); its provider pauses until ${new Date(what.until).toISOString()}\n`);
}

const CLEAN_FLAGS = {
  repo: { type: 'string' },
  run: { type: 'string' },
  journal: { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function renderClean(report: CleanReport): string {
  const lines = report.entries.map((e) => `${report.dryRun && e.action !== 'kept' ? `would be ${e.action}` : e.action}  ${e.branch}${e.worktree === undefined ? '' : `  ${e.worktree}`}  (${e.why})`);
  if (report.entries.length === 0) lines.push('no fanout worktrees or branches');
  for (const path of report.journalOnly) lines.push(`gone: ${path} (in the journal, not in git worktree list)`);
  for (const path of report.unknownToJournal) lines.push(`not in the journal: ${path}`);
  const removed = report.entries.filter((e) => e.action !== 'kept').length;
  lines.push(`${report.dryRun ? 'would remove' : 'removed'} ${removed}, kept ${report.entries.length - removed}`);
  return `${lines.join('\n')}\n`;
}

async function clean(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, CLEAN_FLAGS, false);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`expected no arguments after clean, got ${positionals.join(' ')}`);
  try {
    const report = await cleanAgents({
      repo: values.repo ?? process.cwd(),
      run: values.run,
      ...(values['dry-run'] === true ? { dryRun: true } : {}),
      journal: values.journal === undefined ? undefined : await readJournal(values.journal),
    });
    await writeOut(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderClean(report));
    return EXIT.ok;
  } catch (error) {
    return asUsage(error);
  }
}

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'clean') return clean(argv.slice(1));
  const split = argv.indexOf(':::');
  const own = split === -1 ? argv : argv.slice(0, split);
  const after = split === -1 ? [] : argv.slice(split + 1);
  const { values, positionals } = parse(own, AGENTS_FLAGS);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one tasks file, got ${positionals.length}: ${positionals.join(' ')}`);
  const tasks = await readTasks(positionals[0], after);
  return deployAgents({ values, tasks });
}
