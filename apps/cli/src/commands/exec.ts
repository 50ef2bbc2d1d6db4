import { createReadStream } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { bashAdapter } from '@fanout/adapters/shell';
import { createScheduler, type OperationSpec, type SerializedError } from '@fanout/scheduler';
import { duration, EXIT, parse, positiveInt, UsageError } from '../args.js';
import { buildJobs, JOBLOG_HEADER, joblogLine, parseHalt, parseJoblog, splitTemplate, type ArgumentSource, type Job } from './exec-jobs.js';
import { handleInterrupts } from '../interrupt.js';
import { loadSettings } from '../settings.js';
import { localRunId } from './run-command.js';

const HELP = `Usage: fanout exec [flags] [command [args…]] [::: arg… [::: arg…]] [:::: argfile…]
       some-producer | fanout exec [flags] [command]

Runs commands in parallel, the way GNU parallel and xargs -P users expect. Arguments come after
:::, one per line from each file after :::: (- is standard input) — several groups: every
combination — or, one per line, from standard input; without a command, each line is a
command. {} is the argument ({.} without extension, {/} basename, {//} directory, {/.}
basename without extension, {#} job number, {1} {2} by group); without any {}, arguments are
appended. A command with no shell syntax runs directly (no shell, no quoting surprises); one
with pipes, redirections or variables, or starting with a shell builtin or keyword (exit, cd,
source, type, if…), runs with bash -c, arguments quoted. Each job's output is printed when it
ends, whole; -k keeps input order.

  -j, --jobs N            run N at once (default: the number of cores × 2)
  -k, --keep-order        print outputs in input order
      --halt WHEN         never (default), now,fail=N or soon,fail=N: stop after N failures
                          (now: kill running jobs; soon: let them finish)
      --retries N         try a failing job up to N times in all
      --timeout T         kill a job after T (seconds, or 500ms, 2m…)
      --joblog FILE       write GNU parallel's job log to FILE
      --resume            with --joblog: skip jobs the log already has
      --resume-failed     with --joblog: rerun the jobs the log says failed, skip the rest that ran
      --dry-run           print the commands, run nothing
  -q, --quiet             no summary
      --config FILE       configuration file (allowed roots)
  -h, --help              this help

Exit status: 0 when every job succeeded, 1 when some failed, 2 on bad usage, 130 interrupted.`;

const FLAGS = {
  jobs: { type: 'string', short: 'j' },
  'keep-order': { type: 'boolean', short: 'k' },
  halt: { type: 'string' },
  retries: { type: 'string' },
  timeout: { type: 'string' },
  joblog: { type: 'string' },
  resume: { type: 'boolean' },
  'resume-failed': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** One argument a line, as from standard input: `\r\n` endings and empty lines dropped. */
async function argumentLines(stream: AsyncIterable<Buffer | string>): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line !== '');
}

async function stdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) return [];
  return argumentLines(process.stdin);
}

/** The arguments of one group: as given after `:::`, or the lines of a file named after `::::` (`-`: standard input). */
async function sourceValues(source: ArgumentSource): Promise<string[]> {
  if (source.kind === 'values') return source.values;
  if (source.path === '-') return stdinLines();
  try {
    return await argumentLines(createReadStream(source.path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`expected the argument file ${source.path} (after ::::) to be a readable file, got ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (error as Error).message}`);
  }
}

interface JobOutput {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** This process's environment, less `_` (see where the jobs' adapter is made). */
function inheritedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && name !== '_') env[name] = value;
  return env;
}

/** From this many jobs per slot (`-j`) on, `fanout exec` forks through the spawn server. */
const SERVER_JOBS_PER_SLOT = 2;

export async function run(argv: string[]): Promise<number> {
  // Flags stop at the command: what follows it belongs to the command (like xargs).
  const VALUED = new Set(['-j', '--jobs', '--halt', '--retries', '--timeout', '--joblog', '--config']);
  const flagArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === ':::') break;
    flagArgs.push(arg);
    if (VALUED.has(arg) && i + 1 < argv.length) flagArgs.push(argv[++i]!);
  }
  const rest = argv.slice(flagArgs.length);
  const { values } = parse(flagArgs, FLAGS, false);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  const jobsAtOnce = positiveInt(values.jobs, '--jobs');
  const retries = positiveInt(values.retries, '--retries');
  const timeoutMs = duration(values.timeout, '--timeout');
  let failure;
  try {
    failure = parseHalt(values.halt);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if ((values.resume === true || values['resume-failed'] === true) && values.joblog === undefined) throw new UsageError('--resume and --resume-failed need --joblog FILE');

  let split;
  try {
    split = splitTemplate(rest);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { template, sources } = split;
  const inputs: string[][] = [];
  for (const source of sources) inputs.push(await sourceValues(source));
  if (sources.length === 0) inputs.push(await stdinLines());
  if (template.length === 0 && sources.length > 0) throw new UsageError('expected a command before ::: or ::::');
  const jobs = buildJobs(template, inputs);
  if (jobs.length === 0) {
    if (values.quiet !== true) process.stderr.write('fanout exec: no jobs (no arguments after ::: or in the :::: files, and nothing on standard input)\n');
    return EXIT.ok;
  }
  if (values['dry-run'] === true) {
    process.stdout.write(jobs.map((job) => `${job.display}\n`).join(''));
    return EXIT.ok;
  }

  // The job log, as GNU parallel keeps it: resume skips what it lists (or what succeeded).
  let skip = new Set<number>();
  if (values.joblog !== undefined) {
    let previous = '';
    try {
      previous = await readFile(values.joblog, 'utf8');
    } catch {
      previous = '';
    }
    if (values.resume === true || values['resume-failed'] === true) {
      const entries = parseJoblog(previous);
      skip = new Set([...entries.values()].filter((e) => values.resume === true || (e.exitValue === 0 && e.signal === 0)).map((e) => e.seq));
    }
    if (previous === '' || (values.resume !== true && values['resume-failed'] !== true)) await writeFile(values.joblog, `${JOBLOG_HEADER}\n`);
  }
  const todo = jobs.filter((job) => !skip.has(job.seq));

  const concurrency = jobsAtOnce ?? Math.max(2, availableParallelism() * 2);
  const settings = await loadSettings({ configFile: values.config });
  // Many jobs are forked by a pool of small bash workers, unless the configuration says
  // otherwise: Node's own fork per job costs its main thread 3× more (bench shell-spawner),
  // and blocks it until the child has exec'd. Few are forked by Node: a worker costs more to
  // start than a job, and repays it from about 2 jobs per slot (-j 16, same run: 16 jobs
  // 634 vs 678 ms direct vs server; 32 jobs 734 vs 500 ms; 200 jobs 2655 vs 1399 ms, on a
  // loaded machine).
  const bash = bashAdapter({
    roots: settings.config.roots ?? [process.cwd()],
    spawner: settings.config.shell?.spawner ?? (todo.length >= SERVER_JOBS_PER_SLOT * concurrency ? 'server' : 'direct'),
    // The jobs get this process's environment, as from a shell, taken once rather than per
    // job (copying process.env cost 0.15 ms a job), but for `_`: it names how fanout itself
    // was started (a shell sets it anew for each command it runs), and passing it on would
    // cost the spawn server an /usr/bin/env per job.
    env: inheritedEnvironment(),
  });
  const operations: OperationSpec[] = todo.map((job: Job) => ({
    id: `job-${job.seq}`,
    kind: 'bash',
    input: job.argv === undefined ? { script: job.script, shell: 'bash' } : { command: job.argv },
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    // --retries N: N tries in all, whatever the failure (a non-zero exit included), like GNU
    // parallel. Without it, none: bash is not idempotent, so the scheduler retries nothing.
    ...(retries === undefined ? {} : { retry: { attempts: retries, anyFailure: true, baseDelayMs: 0 } }),
  }));
  const bySeq = new Map(todo.map((job) => [`job-${job.seq}`, job]));

  // Outputs print whole, when a job ends; with -k, in input order.
  const done = new Map<number, JobOutput>();
  const order = todo.map((job) => job.seq);
  let printedIndex = 0;
  const print = (output: JobOutput): void => {
    if (output.stdout !== '') process.stdout.write(output.stdout);
    if (output.stderr !== '') process.stderr.write(output.stderr);
  };
  const journal: Promise<unknown>[] = [];
  const scheduler = createScheduler({
    adapters: [bash],
    concurrency,
    // Every job may use all its tries: the user asked for them.
    ...(retries === undefined ? {} : { retryBudget: todo.length * (retries - 1) }),
    limits: { bash: { max: concurrency, optimal: concurrency, limiter: 'fixed' } },
  });
  const run = scheduler.run({ operations }, { failure, runId: localRunId('exec') });
  const started = new Map<string, number>();
  run.on((event) => {
    if (event.type === 'op-started') started.set(event.id, Date.now());
    if (event.type !== 'op-finished') return;
    const job = bySeq.get(event.id);
    if (job === undefined) return;
    const data = (event.state === 'succeeded' ? event.output : (event.error as SerializedError | undefined)?.data) as Partial<JobOutput> | undefined;
    const output: JobOutput = {
      stdout: data?.stdout ?? '',
      stderr: data?.stderr ?? (event.state === 'succeeded' ? '' : `fanout exec: ${job.display}: ${event.error?.message ?? event.state}\n`),
      exitCode: data?.exitCode ?? null,
      signal: data?.signal ?? null,
    };
    // A job cut off (Ctrl-C, --halt now) did not run to its end: like GNU parallel, the log
    // leaves it out, so that --resume runs it again.
    if (values.joblog !== undefined && event.attempts > 0 && event.state !== 'cancelled') {
      const start = started.get(event.id) ?? Date.now();
      const exitValue = output.exitCode ?? (event.state === 'succeeded' ? 0 : -1);
      journal.push(
        appendFile(
          values.joblog,
          `${joblogLine({ seq: job.seq, startTime: start / 1000, runtime: event.durationMs / 1000, exitValue, signal: SIGNALS[output.signal ?? ''] ?? 0, command: job.display }, Buffer.byteLength(output.stdout))}\n`,
        ),
      );
    }
    if (values['keep-order'] !== true) {
      print(output);
      return;
    }
    done.set(job.seq, output);
    while (printedIndex < order.length && done.has(order[printedIndex]!)) {
      const seq = order[printedIndex++]!;
      print(done.get(seq)!);
      done.delete(seq);
    }
  });
  // A SIGTERM (`timeout`, a supervisor) stops the jobs as Ctrl-C does, rather than leaving
  // them running and the spawn server's files behind.
  const interrupts = handleInterrupts({
    onFirst: () => process.stderr.write('\nfanout exec: interrupted, stopping the jobs (Ctrl-C again to kill them and exit at once)\n'),
    cancel: () => run.cancel('interrupted (Ctrl-C)'),
    onAgain: () => process.stderr.write('\nfanout exec: interrupted again, killing the jobs and exiting now\n'),
  });
  try {
    const result = await run.result;
    interrupts.runOver();
    await Promise.all(journal);
    if (values.quiet !== true) {
      const s = result.summary;
      const failed = s.byState.failed + s.byState['timed-out'];
      const other = s.byState.cancelled + s.byState.skipped;
      process.stderr.write(
        `fanout exec: ${s.byState.succeeded}/${jobs.length} jobs succeeded${failed > 0 ? `, ${failed} failed` : ''}${other > 0 ? `, ${other} not run` : ''}${skip.size > 0 ? `, ${skip.size} skipped (journal)` : ''} in ${(s.wallMs / 1000).toFixed(2)} s (${s.speedup.toFixed(1)}× sequential)\n`,
      );
    }
    if (interrupts.interrupted) return EXIT.interrupted;
    return result.ok ? EXIT.ok : EXIT.failed;
  } finally {
    interrupts.runOver();
    await bash.close();
  }
}
