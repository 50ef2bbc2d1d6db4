import { resolve } from 'node:path';
import { buildCodebaseMap, DEFAULT_MAP_BUDGET_TOKENS, exploreCodebase, renderCodebaseMap } from '@fanout/profiles';
import { createScheduler, escapeHtml } from '@fanout/scheduler';
import { EXIT, parse, positiveInt, RUN_FLAGS, RUN_FLAGS_HELP, UsageError } from '../args.js';
import { renderReport } from '../output/report.js';
import { runPlanCommand } from '../session.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout explore-codebase [dir] [--size small|medium|large] [--pattern REGEX]... [--budget N] [flags]
       fanout explore [dir] …

Explores a codebase in parallel: discovery globs, searches for entry points, exports (each
language its own way), TODO markers, tests, configuration and imports (and your --pattern), a
ranking of the files they found, reads of the highest-ranked, language and marker analyses,
and the map analysis (line kinds, imports, outlines, manifests). The size comes from counting
the files first (small < 1,000, medium ≤ 10,000, large) unless --size names it. On a
large tree the map's plan keeps only what the map reads: the configuration and CI globs, the
exports searches and your --pattern, and the analyses (--no-map runs the whole plan).

Prints the codebase map: overview, languages (files, blank, comment, code), structure,
entry points, key files ranked by the import graph with their outlines, tests / build / CI,
configuration, markers and heads, each section naming the operations it comes from, within
--budget tokens. --json prints the whole map and what the text left out. The summary (with
the speedup) goes to stderr.

      --size S         small, medium or large
      --pattern REGEX  also search for REGEX (repeatable)
      --budget N       most tokens (≈ characters / 4) of the text report (default ${DEFAULT_MAP_BUDGET_TOKENS})
      --no-map         no map analysis: print the aggregated report instead (as before the map)
${RUN_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...RUN_FLAGS, size: { type: 'string' }, pattern: { type: 'string', multiple: true }, budget: { type: 'string' }, 'no-map': { type: 'boolean' } });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one directory, got ${positionals.length}`);
  const size = values.size;
  if (size !== undefined && size !== 'small' && size !== 'medium' && size !== 'large') throw new UsageError(`expected --size small, medium or large, got ${JSON.stringify(size)}`);
  const budgetTokens = positiveInt(values.budget, '--budget') ?? DEFAULT_MAP_BUDGET_TOKENS;
  const map = values['no-map'] !== true;
  const dir = resolve(positionals[0] ?? '.');
  // The directory explored is the allowed root unless the configuration names roots.
  const settings = await loadSettings({ configFile: values.config, overrides: { profile: 'explore-codebase' } });
  return runPlanCommand({
    settings,
    flags: values,
    root: dir,
    kinds: ['glob', 'grep', 'read', 'analyze'],
    build: async ({ adapters, config, scan }) => {
      // The count and the plan only read the tree (globs, greps, reads, analyses): the
      // directories the count listed are the plan's too, so its walk lists none of them again
      // (on a 27,000-file tree, ~10,000 files' worth of listings). Released once the run ends.
      const hold = scan?.holdListings();
      const countFiles = async (root: string, limit: number): Promise<{ count: number; files: string[] }> => {
        const result = await createScheduler({ adapters }).execute({ operations: [{ id: 'count', kind: 'glob', input: { pattern: '**', cwd: root, maxResults: limit } }] });
        const op = result.get('count')!;
        if (op.state !== 'succeeded') throw new UsageError(`cannot count the files of ${root}: ${(op.error as Error | undefined)?.message ?? op.state}`);
        return op.output as { count: number; files: string[] };
      };
      let planned: Awaited<ReturnType<typeof exploreCodebase>>;
      try {
        planned = await exploreCodebase(dir, { map, mapOnly: map, ...(size === undefined ? { countFiles } : { size }), ...(values.pattern === undefined ? {} : { patterns: values.pattern }) });
      } catch (error) {
        hold?.release();
        throw error;
      }
      const { plan, size: chosen, files } = planned;
      if (values.quiet !== true && values.ndjson !== true) {
        process.stderr.write(
          `exploring ${dir}: ${files === undefined ? '' : `${files > 10_000 ? 'more than 10,000' : files} files, `}size ${chosen.name} (${plan.operations.length} operations planned${map && chosen.name === 'large' ? ': only those the map reads' : ''})\n`,
        );
      }
      return {
        title: plan.name ?? `explore-codebase ${dir}`,
        plan,
        onRun: () => () => hold?.release(),
        ...(map
          ? {
              // The map replaces the aggregated report: the same renderer as the MCP tool's.
              render: async (result) => {
                const codebase = buildCodebaseMap(
                  dir,
                  plan.operations.map((op) => result.get(op.id) ?? { id: op.id, kind: op.kind, state: 'pending' }),
                );
                const rendered = renderCodebaseMap(codebase, { budgetTokens });
                const html = `<pre class="codebase-map">${escapeHtml(rendered.text)}</pre>`;
                // --json keeps everything: the whole map, what the text left out, and the run's
                // accounting from the aggregated report (title, run, totals, failures).
                const report = values.json === true ? (await renderReport(result, plan, config)).report : undefined;
                const accounting = report === undefined ? {} : { title: report.title, run: report.run, totals: report.totals, failures: report.failures };
                return { text: rendered.text, markdown: rendered.text, html, json: { ...accounting, ...codebase, text: { budgetTokens, tokens: rendered.tokens, omitted: rendered.omitted } } };
              },
            }
          : {}),
      };
    },
  });
}
