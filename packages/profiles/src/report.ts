/**
 * A finished run's aggregated report, as the configuration asks for it: the results grouped,
 * deduplicated and ranked with the plan steps' extractors, under the configured output budget,
 * spilling what does not fit where the configuration says. The CLI, the server and anything
 * else that prints a run's report call this, so that they print the same report.
 */
import { aggregate, type Report } from '@fanout/aggregate';
import type { Plan, RunResult } from '@fanout/scheduler';
import { outputBudgetChars } from './options.js';
import type { Config } from './schema.js';
import { STEP_EXTRACTORS } from './steps.js';

export function aggregateRun(result: RunResult, plan: Plan, config: Config): Promise<Report> {
  const chars = outputBudgetChars(config);
  return aggregate(result, {
    plan,
    extractors: STEP_EXTRACTORS,
    ...(chars === undefined ? {} : { budget: { chars } }),
    ...(config.output?.spillDir === undefined ? {} : { spillDir: config.output.spillDir }),
  });
}
