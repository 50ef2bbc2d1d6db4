import { adaptersFromConfig } from '@fanout/profiles';
import { createScheduler, type Adapter } from '@fanout/scheduler';
import { EXIT, parse, UsageError } from '../args.js';
import { readJsonInput } from '../io.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout validate <plan.json | -> [--config FILE]

Checks a plan as a whole without running it: its shape, duplicate ids, unknown dependencies,
cycles, unknown kinds and inputs that fail their adapter's schema. Prints every problem with
its path in the plan; exits 2 when there is any, 0 when the plan is valid.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one plan file (or - for standard input), got ${positionals.length}`);
  const settings = await loadSettings({ configFile: values.config });
  const configured = await adaptersFromConfig(settings.config);
  const adapters: Adapter[] = configured.adapters;
  const plan = await readJsonInput(positionals[0]!, 'plan');
  const validation = createScheduler({ adapters }).validate(plan);
  await configured.close();
  if (validation.ok) {
    process.stdout.write(`valid: ${validation.compiled.count} operation${validation.compiled.count === 1 ? '' : 's'}, ${validation.compiled.kinds.length} kind${validation.compiled.kinds.length === 1 ? '' : 's'}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`invalid plan: ${validation.issues.length} problem${validation.issues.length === 1 ? '' : 's'}\n`);
  for (const issue of validation.issues) process.stderr.write(`  ${issue.path || '(plan)'}: ${issue.message} [${issue.code}]\n`);
  return EXIT.usage;
}
