/**
 * A fleet in one call, for library users: plan it, run it on a scheduler with the agents
 * adapters and limits, wait until every agent process is gone, and read the report.
 */
import { createScheduler, readJournal, type Run, type RunOptions, type RunResult, type SchedulerOptions } from '@fanout/scheduler';
import { agentsLimits, createAgentsAdapters, type AgentsAdapters, type AgentsLimitsOptions } from './adapters/index.js';
import type { AgentsAdaptersOptions } from './adapters/context.js';
import { planAgents, type AgentsPlan, type AgentsSpec } from './plan.js';
import { agentsReport, type AgentsReport } from './report.js';

/** Options of {@link runAgents}. */
export interface RunAgentsOptions extends AgentsAdaptersOptions, AgentsLimitsOptions {
  /** Append every step's end to this journal; with `resume`, carry over what succeeded. */
  journal?: string;
  resume?: boolean;
  /** Scheduler options besides adapters and limits (a pressure source, a clock). */
  scheduler?: Omit<SchedulerOptions, 'adapters' | 'limits'>;
  /** Run options besides the journal, the run id and limits (a signal, a deadline). */
  run?: Omit<RunOptions, 'journal' | 'runId' | 'limits'>;
  /** Called with the run as it starts (its events, its live snapshot). */
  onRun?: (run: Run, plan: AgentsPlan, adapters: AgentsAdapters) => void;
}

/** What {@link runAgents} hands back. */
export interface AgentsRunResult {
  plan: AgentsPlan;
  result: RunResult;
  report: AgentsReport;
}

/**
 * Deploys `spec` and waits for the whole fleet.
 *
 * @example
 * const { report } = await runAgents(
 *   { repo: '.', tasks: tasksFromPrompts(['add tests for the parser']), agents: [{ preset: 'claude', count: 2 }], verify: ['npm', 'test'] },
 *   { agents: 2, budget: { usd: 2 } },
 * );
 * console.log(renderAgentsText(report));
 */
export async function runAgents(spec: AgentsSpec, options: RunAgentsOptions = {}): Promise<AgentsRunResult> {
  const previous = options.resume === true && options.journal !== undefined ? await readJournal(options.journal) : undefined;
  const plan = await planAgents({ wave: options.agents ?? 8, ...spec }, { ...(previous === undefined ? {} : { previous }), ...(options.env === undefined ? {} : { env: options.env }) });
  const adapters = createAgentsAdapters({ ...options, ...(spec.presets === undefined ? {} : { presets: { ...options.presets, ...spec.presets } }) });
  const scheduler = createScheduler({ ...options.scheduler, adapters: adapters.adapters });
  const run = scheduler.run(plan.plan, {
    ...options.run,
    runId: plan.runId,
    limits: agentsLimits(options),
    ...(options.journal === undefined ? {} : { journal: { path: options.journal, mode: options.resume === true ? 'resume' : 'append' } }),
  });
  options.onRun?.(run, plan, adapters);
  const result = await run.result;
  // A timed-out or cancelled agent's operation has ended, but its processes may still be
  // stopping and its figures not yet in.
  await Promise.all(adapters.shared.running);
  return { plan, result, report: agentsReport(result, plan.info, adapters.shared.outcomes) };
}
