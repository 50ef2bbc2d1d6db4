import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlagCheck } from '@fanout/scheduler/diagnostics';

/** Exit codes of every command. */
export const EXIT = {
  /** Every operation succeeded. */
  ok: 0,
  /** Some operations failed. */
  failed: 1,
  /** Bad usage, a bad flag, an invalid plan or configuration. */
  usage: 2,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** A usage error: printed with the command's usage line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command that runs a plan understands. */
export const RUN_FLAGS = {
  quiet: { type: 'boolean', short: 'q' },
  json: { type: 'boolean' },
  ndjson: { type: 'boolean' },
  markdown: { type: 'boolean' },
  trace: { type: 'string' },
  report: { type: 'string' },
  journal: { type: 'string' },
  resume: { type: 'boolean' },
  'retry-failed': { type: 'boolean' },
  config: { type: 'string' },
  concurrency: { type: 'string', short: 'j' },
  redis: { type: 'string' },
  'redis-prefix': { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const RUN_FLAGS_HELP = `Output:
  -q, --quiet          no live view, no summary (errors still print)
      --json           print the report as JSON
      --ndjson         print the event stream as it happens, one JSON object a line
      --markdown       print the report as Markdown
      --trace FILE     write the run in Chrome trace-event format (open it in Perfetto)
      --report FILE    write a self-contained HTML report
Run:
      --journal FILE   append every operation's end to FILE (NDJSON)
      --resume         with --journal: skip what already succeeded
      --retry-failed   with --journal: rerun only what failed
  -j, --concurrency N  most operations in flight at once
      --redis URL      run the operations on the workers connected to this Redis
                       ("fanout worker --redis URL" on each machine) instead of here
      --redis-prefix P key prefix of the queues (default: fanout)
      --config FILE    configuration file (default: fanout.config.json found upward)
      --no-color       no colours (NO_COLOR is respected too)
  -h, --help           this help`;

/** Parses `argv` for a command; unknown flags and bad values are usage errors naming them. */
export function parse<T extends Options>(
  argv: string[],
  options: T,
  allowPositionals = true,
): { values: ReturnType<typeof parseArgs<{ options: T; allowPositionals: true; strict: true; args: string[] }>>['values']; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    throw flags.parseError(error as Error, options);
  }
}

/** The kit's checks of flag values, failing with a usage error (exit 2) that names the flag. */
export const flags = new FlagCheck((message) => new UsageError(message));

/** A positive integer flag value, or a usage error naming the flag. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  return flags.integer(value, flag);
}

/** A non-negative duration flag: "500ms", "30s", "2m", "1h", or a bare number, which is seconds (as GNU parallel's --timeout reads it). */
export function duration(value: string | undefined, flag: string): number | undefined {
  return flags.duration(value, flag);
}
