import { adaptersFromConfig, PLAN_STEPS } from '@fanout/profiles';
import { duration, EXIT, parse, positiveInt, UsageError } from '../args.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout worker --redis URL [--kinds glob,grep,…] [--concurrency N] [flags]

Runs the operations that "fanout run --redis URL" (or any @fanout/distributed executor) hands
out, with this machine's adapters: the same configuration, roots and rules as every other
command (fanout.config.json found upward, FANOUT_* variables, --config). Runs until SIGTERM or
Ctrl-C, then stops taking operations and finishes those it holds; after --grace, idempotent
ones go back to the queue for another worker and the others end FANOUT_WORKER_LOST.

      --redis URL          redis://host:port/db of the queues (required)
      --redis-prefix P     key prefix shared with the executors (default: fanout)
      --kinds K,K          the kinds to serve (default: every kind: glob, grep, read, write,
                           bash, fetch, search, analyze)
  -j, --concurrency N      most operations of one kind this process runs at once (default:
                           each kind's maxConcurrency; the limit across all workers is the
                           executor's)
      --grace D            how long SIGTERM waits for what runs (default 30s)
      --config FILE        configuration file (default: fanout.config.json found upward)
  -h, --help               this help`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    redis: { type: 'string' },
    'redis-prefix': { type: 'string' },
    kinds: { type: 'string' },
    concurrency: { type: 'string', short: 'j' },
    grace: { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`expected no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  if (values.redis === undefined) throw new UsageError('expected --redis URL (redis://host:port), got none');
  const concurrency = positiveInt(values.concurrency, '--concurrency');
  const graceMs = duration(values.grace, '--grace') ?? 30_000;
  const settings = await loadSettings({ configFile: values.config });
  const configured = await adaptersFromConfig(settings.config);
  const steps = new Set(PLAN_STEPS.map((step) => step.kind));
  const tools = configured.adapters.filter((adapter) => !steps.has(adapter.kind));
  const known = tools.map((adapter) => adapter.kind);
  const kinds =
    values.kinds === undefined
      ? known
      : values.kinds
          .split(',')
          .map((kind) => kind.trim())
          .filter((kind) => kind !== '');
  for (const kind of kinds) if (!known.includes(kind)) throw new UsageError(`expected --kinds to name kinds among ${known.join(', ')}, got ${JSON.stringify(kind)}`);
  if (kinds.length === 0) throw new UsageError('expected --kinds to name at least one kind, got none');

  const { checkRedis, startWorker } = await import('@fanout/distributed');
  // First: a worker's queues would retry a Redis that is not there for ever, an error a turn.
  await checkRedis(values.redis);
  const worker = startWorker({
    redis: values.redis,
    prefix: values['redis-prefix'],
    adapters: tools,
    kinds,
    concurrency,
    onError: (error) => process.stderr.write(`fanout worker: ${error.message}\n`),
  });
  try {
    await worker.ready;
  } catch (error) {
    await worker.close(0);
    await configured.close();
    throw error;
  }
  process.stderr.write(`fanout worker ${worker.name}: serving ${kinds.join(', ')} from ${values.redis} (prefix ${values['redis-prefix'] ?? 'fanout'})\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`fanout worker: ${signal} again, exiting now\n`);
        process.exit(EXIT.interrupted);
      }
      stopping = true;
      process.stderr.write(`fanout worker: ${signal}, finishing ${worker.stats.active} operation${worker.stats.active === 1 ? '' : 's'} (for at most ${graceMs / 1000} s)\n`);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await worker.close(graceMs);
  await configured.close();
  const { completed, failed, lost, handedBack } = worker.stats;
  process.stderr.write(`fanout worker ${worker.name}: stopped; ${completed} succeeded, ${failed} failed${lost > 0 ? `, ${lost} refused as lost` : ''}${handedBack > 0 ? `, ${handedBack} handed back` : ''}\n`);
  return EXIT.ok;
}
