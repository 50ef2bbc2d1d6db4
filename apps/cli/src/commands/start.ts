import { resolve } from 'node:path';
import { startPlan } from '@fanout/profiles';
import { EXIT, parse, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { runPlanCommand } from '../session.js';
import { loadSettings } from '../settings.js';
import { AGENTS_FLAGS, deployAgents, readTasks } from './agents.js';

const HELP = `Usage: fanout start [dir] [flags]
       fanout start [dir] --agents claude,codex:2 [--tasks FILE] [agents flags] [::: task…]

Discovers a project in one parallel plan: 4 structural checks (manifest, README, version
control, build configuration), 6 context analyses (languages, dependencies, scripts, tests,
documentation, markers) and 3 complexity assessments (size, dependency count, largest files).

With --agents, then deploys coding agents on the tasks (--tasks FILE, - for standard input,
or the arguments after :::), each in its own git worktree of dir, as "fanout agents" does;
its flags apply (--setup, --verify, --merge, --timeout, --budget-usd…, and -j: agents at once).
See "fanout agents --help".

${RUN_FLAGS_HELP}`;

const { agent: _agent, repo: _repo, ...DEPLOY_FLAGS } = AGENTS_FLAGS;
const START_FLAGS = { ...RUN_FLAGS, ...DEPLOY_FLAGS, agents: { type: 'string' }, tasks: { type: 'string' } } as const;

export async function run(argv: string[]): Promise<number> {
  const split = argv.indexOf(':::');
  const { values, positionals } = parse(split === -1 ? argv : argv.slice(0, split), START_FLAGS);
  const after = split === -1 ? [] : argv.slice(split + 1);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
  if (values.agents === undefined && (values.tasks !== undefined || after.length > 0)) throw new UsageError('tasks were given without --agents: name the agents to deploy on them');
  const dir = resolve(positionals[0] ?? '.');
  // Read before anything runs: bad tasks are a usage error, not a failure after discovery.
  const tasks = values.agents === undefined ? undefined : await readTasks(values.tasks, after);
  const settings = await loadSettings({ configFile: values.config, overrides: { profile: 'start' } });
  const plan = startPlan(dir);
  const discovered = await runPlanCommand({
    settings,
    // -j is the agents' when there are agents to deploy.
    flags: tasks === undefined ? values : { ...values, concurrency: undefined },
    root: dir,
    kinds: ['glob', 'grep', 'read', 'analyze'],
    build: () => ({ title: plan.name ?? `start ${dir}`, plan }),
  });
  if (tasks === undefined || discovered === EXIT.interrupted) return discovered;
  const deployed = await deployAgents({ values: { ...values, agent: values.agents }, tasks, repo: dir });
  return Math.max(discovered, deployed);
}
