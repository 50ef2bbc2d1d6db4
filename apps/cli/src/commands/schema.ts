import { configJsonSchema } from '@fanout/profiles';
import { planJsonSchema } from '@fanout/scheduler';
import { EXIT, parse, UsageError } from '../args.js';
import { writeOut } from '../io.js';

const HELP = `Usage: fanout schema [plan|config]

Prints the JSON Schema of plan files ("plan"), of fanout.config.json ("config"), or both as
one object keyed by name (no argument). Point an editor at them for completion and checks.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { help: { type: 'boolean', short: 'h' } });
  if (values.help === true) {
    await writeOut(`${HELP}\n`);
    return EXIT.ok;
  }
  const which = positionals[0];
  if (positionals.length > 1 || (which !== undefined && which !== 'plan' && which !== 'config')) {
    throw new UsageError(`expected "plan", "config" or nothing, got ${JSON.stringify(positionals.join(' '))}`);
  }
  const schema = which === 'plan' ? planJsonSchema() : which === 'config' ? configJsonSchema() : { plan: planJsonSchema(), config: configJsonSchema() };
  await writeOut(`${JSON.stringify(schema, null, 2)}\n`);
  return EXIT.ok;
}
