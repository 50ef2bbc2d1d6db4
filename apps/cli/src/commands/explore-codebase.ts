import { resolve } from 'node:path';
import { adaptersFromConfig, exploreCodebase } from '@fanout/profiles';
import { createScheduler } from '@fanout/scheduler';
import { EXIT, parse, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { runSession } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout explore-codebase [dir] [--size small|medium|large] [--pattern REGEX]... [flags]
       fanout explore [dir] …

Explores a codebase in parallel: discovery globs, searches for entry points, exports, TODO
markers, tests, configuration and imports (and your --pattern), a ranking of the files they
found, reads of the highest-ranked, and language and marker analyses. The size comes from
counting the files first (small < 1,000, medium ≤ 10,000, large) unless --size names it.
Prints the aggregated report; the summary (with the speedup) goes to stderr.

      --size S         small, medium or large
      --pattern REGEX  also search for REGEX (repeatable)
${RUN_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...RUN_FLAGS, size: { type: 'string' }, pattern: { type: 'string', multiple: true } });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
  const size = values.size;
  if (size !== undefined && size !== 'small' && size !== 'medium' && size !== 'large') throw new UsageError(`expected --size small, medium or large, got ${JSON.stringify(size)}`);
  const dir = resolve(positionals[0] ?? '.');
  // The directory explored is the allowed root unless the configuration names roots.
  const settings = await loadSettings({ configFile: values.config, overrides: { profile: 'explore-codebase' } });
  const config = { ...settings.config, roots: settings.config.roots ?? [dir] };
  const configured = await adaptersFromConfig(config, ['glob', 'grep', 'read', 'analyze']);
  try {
    const countFiles = async (root: string, limit: number): Promise<number> => {
      const result = await createScheduler({ adapters: configured.adapters }).execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**', cwd: root, maxResults: limit } }] });
      const op = result.get('count')!;
      if (op.state !== 'succeeded') throw new UsageError(`cannot count the files of ${root}: ${(op.error as Error | undefined)?.message ?? op.state}`);
      return (op.output as { count: number }).count;
    };
    const { plan, size: chosen, files } = await exploreCodebase(dir, { ...(size === undefined ? { countFiles } : { size }), ...(values.pattern === undefined ? {} : { patterns: values.pattern }) });
    if (values.quiet !== true && values.ndjson !== true) {
      process.stderr.write(`exploring ${dir}: ${files === undefined ? '' : `${files > 10_000 ? 'more than 10,000' : files} files, `}size ${chosen.name} (${plan.operations.length} operations planned)\n`);
    }
    return await runSession({
      title: plan.name ?? `explore-codebase ${dir}`,
      plan,
      adapters: configured.adapters,
      settings: { ...settings, config },
      flags: values,
    });
  } finally {
    await configured.close();
  }
}
