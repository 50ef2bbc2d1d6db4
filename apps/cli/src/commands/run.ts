import type { Plan } from '@fanout/scheduler';
import { EXIT, parse, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { readJsonInput } from '../io.js';
import { runPlanCommand } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout run <plan.json | -> [flags]

Runs a plan: operations in parallel by default, in order only where "after" or a "$ref" says so.
The plan is validated as a whole first (see "fanout validate"); the run's results are
aggregated into a report (stdout), and the summary goes to stderr.

${RUN_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, RUN_FLAGS);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one plan file (or - for standard input), got ${positionals.length}`);
  const plan = (await readJsonInput(positionals[0]!, 'plan')) as Plan;
  const settings = await loadSettings({ configFile: values.config });
  return runPlanCommand({ settings, flags: values, build: () => ({ title: plan?.name ?? `fanout run ${positionals[0]}`, plan }) });
}
