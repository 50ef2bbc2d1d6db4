import { readFile, writeFile } from 'node:fs/promises';
import type { DistributedExecutor } from '@fanout/distributed';
import { createMonitor, processTreeCpuMeter, type Monitor, type ResourceSample } from '@fanout/monitor';
import { renderHtmlReport, TimelineRecorder, toChromeTrace } from '@fanout/monitor/report';
import type { FsScan } from '@fanout/adapters/fs';
import { adaptersFromConfig, monitorOptions, PLAN_STEPS, runOptions, schedulerOptions, type BuiltinKind, type Config, type LoadedConfig } from '@fanout/profiles';
import { createScheduler, PlanValidationError, type Adapter, type Plan, type PoolOptions, type Run, type RunResult } from '@fanout/scheduler';
import { EXIT, positiveInt, UsageError } from './args.js';
import { paintFor } from './color.js';
import { handleInterrupts } from './interrupt.js';
import { writeOut } from './io.js';
import { checkOutputPaths } from './output/paths.js';
import { Progress } from './output/progress.js';
import { renderSummary } from './output/summary.js';
import { renderReport, type Rendered } from './output/report.js';

/** The flags every plan-running command shares (see `RUN_FLAGS`). */
export interface RunFlagValues {
  quiet?: boolean | undefined;
  json?: boolean | undefined;
  ndjson?: boolean | undefined;
  markdown?: boolean | undefined;
  trace?: string | undefined;
  report?: string | undefined;
  journal?: string | undefined;
  resume?: boolean | undefined;
  'retry-failed'?: boolean | undefined;
  concurrency?: string | undefined;
  redis?: string | undefined;
  'redis-prefix'?: string | undefined;
  'no-color'?: boolean | undefined;
}

export interface SessionOptions {
  title: string;
  plan: Plan;
  adapters: Adapter[];
  settings: LoadedConfig;
  flags: RunFlagValues;
  /** Watches the machine and the run; by default one from the configured thresholds. */
  monitor?: Monitor;
  /** Pool limits from the command's own flags, over the configured ones (field by field). */
  limits?: Record<string, PoolOptions>;
  /** The scheduler's run id (a command whose plan was built for it, as `fanout agents` does to resume). */
  runId?: string;
  /** The command's own rendering of the finished run, instead of the aggregated report. */
  render?: (result: RunResult) => Promise<Rendered> | Rendered;
  /** Called with the run as it starts; what it returns is awaited once the run has ended. */
  onRun?: (run: Run) => (() => void | Promise<void>) | void;
}

/** What a plan-running command builds once its adapters are open. */
export type PlannedSession = Pick<SessionOptions, 'title' | 'plan'> & Partial<Pick<SessionOptions, 'render' | 'flags' | 'onRun'>>;

/**
 * The skeleton of every plan-running command (run, start, explore-codebase, explore-web): the
 * directory it works on becomes the allowed root unless the configuration names roots, the
 * adapters of the kinds it needs are opened, the plan is built (with them, when it must look
 * at the tree first), run as a session, and the adapters are closed whatever happens.
 */
export async function runPlanCommand(command: {
  settings: LoadedConfig;
  flags: RunFlagValues;
  /** The directory explored: the allowed root unless the configuration names roots. */
  root?: string;
  /** The kinds the plan uses (all when undefined). */
  kinds?: readonly BuiltinKind[];
  build(context: { adapters: Adapter[]; config: Config; scan?: FsScan }): PlannedSession | Promise<PlannedSession>;
}): Promise<number> {
  const config = command.root === undefined ? command.settings.config : { ...command.settings.config, roots: command.settings.config.roots ?? [command.root] };
  const configured = await adaptersFromConfig(config, command.kinds);
  try {
    const planned = await command.build({ adapters: configured.adapters, config, ...(configured.scan === undefined ? {} : { scan: configured.scan }) });
    return await runSession({ flags: command.flags, ...planned, adapters: configured.adapters, settings: { ...command.settings, config } });
  } finally {
    await configured.close();
  }
}

/**
 * Runs a plan the way every command does: configuration into scheduler options, a journal if
 * asked, the live view or plain progress on stderr (stdout stays for the report), the event
 * stream with --ndjson, Ctrl-C handling (the first cancels gracefully and prints what finished;
 * a second exits at once), then the summary, the report, the trace and the HTML page.
 * Returns the exit code.
 */
export async function runSession(options: SessionOptions): Promise<number> {
  await checkOutputPaths(options.flags); // first: nothing may run before a bad --journal, --report or --trace is refused
  const { flags, settings } = options;
  if ((flags.resume === true || flags['retry-failed'] === true) && flags.journal === undefined) {
    throw new UsageError('--resume and --retry-failed need --journal FILE (the journal to resume from)');
  }
  if (flags.resume === true && flags['retry-failed'] === true) throw new UsageError('choose one of --resume and --retry-failed');
  const concurrency = positiveInt(flags.concurrency, '--concurrency');
  const configured = schedulerOptions(settings.config);
  for (const [kind, limit] of Object.entries(options.limits ?? {})) configured.limits = { ...configured.limits, [kind]: { ...configured.limits?.[kind], ...limit } };
  // The monitor pauses and shrinks the kinds whose resource is under pressure (CPU for grep
  // and analyze, the disk for reads…) while the others go on, and feeds the live view.
  const monitor = options.monitor ?? createMonitor({ intervalMs: 500, ...monitorOptions(settings.config) });
  // With --redis, the tools' operations run on workers: this machine's pressure says nothing
  // about theirs, so it gates nothing; the plan steps (pure computations) stay here.
  const distributed = flags.redis === undefined ? undefined : await distribute(flags.redis, flags['redis-prefix'], options.adapters, configured.limits, options.plan, flags.resume === true ? flags.journal : undefined);
  const scheduler = createScheduler({
    adapters: distributed?.adapters ?? options.adapters,
    ...configured,
    // With --redis, twice each remote kind's limit queued or running (the workers run the limit).
    ...(distributed === undefined ? {} : { limits: distributed.limits }),
    concurrency: concurrency ?? configured.concurrency,
    ...(distributed === undefined ? { pressure: monitor } : {}),
    // The summary's one-at-a-time estimate counts CPU used by the commands a run starts too.
    cpu: processTreeCpuMeter(),
  });

  let run;
  const runId = options.runId ?? distributed?.runId;
  try {
    run = scheduler.run(options.plan, {
      ...runOptions(settings.config),
      runId,
      journal: flags.journal === undefined ? undefined : { path: flags.journal, mode: flags.resume === true ? 'resume' : flags['retry-failed'] === true ? 'retry-failed' : 'append' },
    });
  } catch (error) {
    await distributed?.executor.close();
    if (error instanceof PlanValidationError) {
      process.stderr.write(`invalid plan: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}\n`);
      for (const issue of error.issues) process.stderr.write(`  ${issue.path || '(plan)'}: ${issue.message} [${issue.code}]\n`);
      return EXIT.usage;
    }
    throw error;
  }

  const ended = options.onRun?.(run);
  const unfollow = distributed?.executor.follow(run);
  if (options.monitor === undefined) monitor.start(); // its first reading is the baseline
  const unwatch = distributed === undefined ? monitor.watch(run, { concurrency: concurrency ?? configured.concurrency ?? 256 }) : () => {};
  const errPaint = paintFor(process.stderr, flags['no-color'] === true);
  const recorder = flags.trace !== undefined || flags.report !== undefined ? new TimelineRecorder(run) : undefined;
  let stopRecording = (): void => undefined;
  if (recorder !== undefined) {
    // Samples are on the monitor's clock (performance.now()); events on the run's, from its start.
    const origin = performance.now() - run.snapshot().time;
    const record = (sample: ResourceSample): void =>
      recorder.resource({ time: sample.time - origin, cpu: sample.cpu?.utilisation, memory: sample.memory?.utilisation, disk: sample.disk?.utilisation, eventLoopP99Ms: sample.eventLoop?.delayP99Ms });
    stopRecording = monitor.on((event) => {
      if (event.type === 'sample') record(event.sample);
    });
  }
  if (flags.ndjson === true) {
    run.on((event) => {
      process.stdout.write(`${JSON.stringify(event)}\n`);
    });
  }
  const progress = flags.quiet === true || flags.ndjson === true ? undefined : new Progress(run, process.stderr, errPaint, () => monitor.latest);
  // With --redis, the workers serving each kind of the plan as they come and go.
  // (the counts printed at start first: a change before the first count is then shown too).
  if (distributed !== undefined) progress?.workers(distributed.counts);
  const unwatchWorkers = progress === undefined || distributed === undefined ? undefined : distributed.executor.watchWorkers(Object.keys(distributed.counts), (counts) => progress.workers(counts));

  const interrupts = handleInterrupts({
    onFirst: () => {
      progress?.stop();
      process.stderr.write('\nfanout: interrupted, cancelling (press Ctrl-C again to kill what runs and exit at once)\n');
    },
    cancel: () => run.cancel('interrupted (Ctrl-C)'),
    onAgain: () => process.stderr.write('\nfanout: interrupted again, exiting now\n'),
  });
  let result: RunResult;
  try {
    result = await run.result;
  } finally {
    interrupts.runOver();
    unwatchWorkers?.();
    progress?.stop();
    unwatch();
    // A last sample as the run ends, so that even a run shorter than the interval has one.
    if (recorder !== undefined && monitor.running) monitor.tick();
    stopRecording();
    if (options.monitor === undefined) monitor.stop();
    unfollow?.();
    await distributed?.executor.close();
  }

  await ended?.();
  const rendered = options.render === undefined ? await renderReport(result, options.plan, settings.config) : await options.render(result);
  if (recorder !== undefined) {
    const timeline = recorder.timeline();
    if (flags.trace !== undefined) await writeFile(flags.trace, JSON.stringify(toChromeTrace(timeline, options.title)));
    if (flags.report !== undefined) {
      await writeFile(flags.report, renderHtmlReport({ title: options.title, summary: result.summary, timeline, resultsHtml: rendered.html }));
    }
  }
  if (flags.json === true) await writeOut(`${JSON.stringify(rendered.json ?? { summary: result.summary }, null, 2)}\n`);
  else if (flags.markdown === true) await writeOut(`${rendered.markdown ?? ''}\n`);
  else if (flags.ndjson !== true && rendered.text !== undefined && rendered.text !== '') await writeOut(`${rendered.text}\n`);
  if (flags.quiet !== true && flags.ndjson !== true) {
    process.stderr.write(`\n${renderSummary(result.summary, errPaint).join('\n')}\n`);
    if (flags.journal !== undefined) process.stderr.write(errPaint.dim(`journal: ${flags.journal}\n`));
    if (flags.trace !== undefined) process.stderr.write(errPaint.dim(`trace: ${flags.trace} (open it in https://ui.perfetto.dev)\n`));
    if (flags.report !== undefined) process.stderr.write(errPaint.dim(`report: ${flags.report}\n`));
  }
  if (interrupts.interrupted) return EXIT.interrupted;
  return result.ok ? EXIT.ok : EXIT.failed;
}

/**
 * `--redis URL`: the tools' adapters replaced by an executor's, which hand each attempt to the
 * workers on that Redis. The run id of a resumed run is the journal's, so that an attempt the
 * interrupted run had queued is found again (same job id) instead of queued twice. Says on
 * stderr how many workers serve each kind of the plan (`counts`).
 */
async function distribute(
  redis: string,
  prefix: string | undefined,
  adapters: Adapter[],
  limits: Record<string, PoolOptions> | undefined,
  plan: Plan,
  resumeJournal: string | undefined,
): Promise<{ executor: DistributedExecutor; adapters: Adapter[]; limits: Record<string, PoolOptions>; runId: string | undefined; counts: Record<string, number> }> {
  const { distribute: remoteAdapters } = await import('@fanout/distributed');
  const {
    executor,
    adapters: scheduled,
    limits: pools,
  } = await remoteAdapters({
    redis,
    prefix,
    adapters,
    local: PLAN_STEPS.map((step) => step.kind),
    limits,
    onWarning: (message) => process.stderr.write(`fanout: ${message}\n`),
  });
  const remote = executor.adapters;
  try {
    const kinds = [...new Set((Array.isArray(plan?.operations) ? plan.operations : []).map((op) => op?.kind).filter((kind): kind is string => remote.some((a) => a.kind === kind)))];
    const workers = await executor.workers(kinds);
    const served = Object.fromEntries(kinds.map((kind) => [kind, workers.filter((w) => w.kind === kind).length]));
    const counts = kinds.map((kind) => `${kind} ${served[kind]}`);
    const missing = kinds.filter((kind) => !workers.some((w) => w.kind === kind));
    process.stderr.write(`fanout: workers on ${redis}: ${counts.join(', ') || 'no kind of this plan runs remotely'}\n`);
    if (missing.length > 0)
      process.stderr.write(`fanout: no worker serves ${missing.join(', ')} yet: start one with "fanout worker --redis ${redis} --kinds ${missing.join(',')}" (operations fail FANOUT_NO_WORKER after 15 s)\n`);
    return { executor, adapters: scheduled, limits: pools, runId: resumeJournal === undefined ? undefined : await journalRunId(resumeJournal), counts: served };
  } catch (error) {
    await executor.close();
    throw error;
  }
}

/** The run id of the last run recorded in a journal, if any. */
async function journalRunId(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let runId: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{"type":"run"')) continue;
    try {
      const record = JSON.parse(line) as { runId?: unknown };
      if (typeof record.runId === 'string') runId = record.runId;
    } catch {
      // A torn last line; the journal reader repairs it.
    }
  }
  return runId;
}
