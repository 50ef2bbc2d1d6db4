/**
 * A finished run's report, as `fanout run --json` prints it: the results aggregated with the
 * plan steps' extractors under the configured output budget, and its Markdown.
 */
import { aggregate, renderMarkdown } from '@fanout/aggregate';
import { outputBudgetChars, STEP_EXTRACTORS, type Config } from '@fanout/profiles';
import type { Plan, RunResult } from '@fanout/scheduler';
import type { StoredReport } from './store.js';

export async function buildReport(result: RunResult, plan: Plan, config: Config): Promise<StoredReport> {
  const chars = outputBudgetChars(config);
  const report = await aggregate(result, {
    plan,
    extractors: STEP_EXTRACTORS,
    ...(chars === undefined ? {} : { budget: { chars } }),
    ...(config.output?.spillDir === undefined ? {} : { spillDir: config.output.spillDir }),
  });
  return { summary: result.summary, report, markdown: renderMarkdown(report) };
}
