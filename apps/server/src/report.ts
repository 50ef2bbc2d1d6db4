/**
 * A finished run's report, as `fanout run --json` prints it: the results aggregated with the
 * plan steps' extractors under the configured output budget, and its Markdown.
 */
import { renderMarkdown } from '@fanout/aggregate';
import { aggregateRun, type Config } from '@fanout/profiles';
import type { Plan, RunResult } from '@fanout/scheduler';
import type { StoredReport } from './store.js';

export async function buildReport(result: RunResult, plan: Plan, config: Config): Promise<StoredReport> {
  const report = await aggregateRun(result, plan, config);
  return { summary: result.summary, report, markdown: renderMarkdown(report) };
}
