import { resolve } from 'node:path';
import { adaptersFromConfig, startPlan } from '@fanout/profiles';
import { EXIT, parse, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { runSession } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout start [dir] [flags]

Discovers a project in one parallel plan: 4 structural checks (manifest, README, version
control, build configuration), 6 context analyses (languages, dependencies, scripts, tests,
documentation, markers) and 3 complexity assessments (size, dependency count, largest files).

${RUN_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, RUN_FLAGS);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
  const dir = resolve(positionals[0] ?? '.');
  const settings = await loadSettings({ configFile: values.config, overrides: { profile: 'start' } });
  const config = { ...settings.config, roots: settings.config.roots ?? [dir] };
  const plan = startPlan(dir);
  const configured = await adaptersFromConfig(config, ['glob', 'grep', 'read', 'analyze']);
  try {
    return await runSession({
      title: plan.name ?? `start ${dir}`,
      plan,
      adapters: configured.adapters,
      settings: { ...settings, config },
      flags: values,
    });
  } finally {
    await configured.close();
  }
}
