import { writeFile } from 'node:fs/promises';
import { createMonitor, processTreeCpuMeter, type Monitor, type ResourceSample } from '@fanout/monitor';
import { renderHtmlReport, TimelineRecorder, toChromeTrace } from '@fanout/monitor/report';
import type { LoadedConfig } from '@fanout/profiles';
import { monitorOptions, runOptions, schedulerOptions } from '@fanout/profiles';
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
  const scheduler = createScheduler({
    adapters: options.adapters,
    ...configured,
    ...(concurrency === undefined ? {} : { concurrency }),
    pressure: monitor,
    // The summary's one-at-a-time estimate counts CPU used by the commands a run starts too.
    cpu: processTreeCpuMeter(),
  });

  let run;
  try {
    run = scheduler.run(options.plan, {
      ...runOptions(settings.config),
      ...(options.runId === undefined ? {} : { runId: options.runId }),
      ...(flags.journal === undefined ? {} : { journal: { path: flags.journal, mode: flags.resume === true ? 'resume' : flags['retry-failed'] === true ? 'retry-failed' : 'append' } }),
    });
  } catch (error) {
    if (error instanceof PlanValidationError) {
      process.stderr.write(`invalid plan: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}\n`);
      for (const issue of error.issues) process.stderr.write(`  ${issue.path || '(plan)'}: ${issue.message} [${issue.code}]\n`);
      return EXIT.usage;
    }
    throw error;
  }

  const ended = options.onRun?.(run);
  if (options.monitor === undefined) monitor.start(); // its first reading is the baseline
  const unwatch = monitor.watch(run, { concurrency: concurrency ?? configured.concurrency ?? 256 });
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
    progress?.stop();
    unwatch();
    // A last sample as the run ends, so that even a run shorter than the interval has one.
    if (recorder !== undefined && monitor.running) monitor.tick();
    stopRecording();
    if (options.monitor === undefined) monitor.stop();
  }

  await ended?.();
  const rendered = options.render === undefined ? await renderReport(result, options.plan, settings.config) : await options.render(result);
  if (recorder !== undefined) {
    const timeline = recorder.timeline();
    if (flags.trace !== undefined) await writeFile(flags.trace, JSON.stringify(toChromeTrace(timeline, options.title)));
    if (flags.report !== undefined) {
      await writeFile(flags.report, renderHtmlReport({ title: options.title, summary: result.summary, timeline, ...(rendered.html === undefined ? {} : { resultsHtml: rendered.html }) }));
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
