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
    throw new UsageError(parseErrorMessage(error as Error & { code?: string }, options));
  }
}

/** The flags of `options` as typed: `--name` and `-x`. */
function flagNames(options: Options): string[] {
  const names: string[] = [];
  for (const [name, option] of Object.entries(options)) {
    names.push(`--${name}`);
    if (option.short !== undefined) names.push(`-${option.short}`);
  }
  return names;
}

/** Edits (insertions, deletions, substitutions) between `a` and `b`. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** The flag of `options` that `typed` most likely meant (a typo or a prefix), if any. */
function closestFlag(typed: string, options: Options): string | undefined {
  const name = typed.split('=')[0]!;
  let best: { flag: string; edits: number } | undefined;
  for (const flag of flagNames(options)) {
    if (!flag.startsWith('--')) continue;
    const edits = flag.startsWith(name) && name.length >= 4 ? 0 : distance(name, flag);
    if (edits <= Math.max(1, Math.floor(flag.length / 4)) && (best === undefined || edits < best.edits)) best = { flag, edits };
  }
  return best?.flag;
}

/**
 * node:util's parse errors in the commands' own form: what was expected, what was got. Its
 * messages name the argument in quotes (`Unknown option '--frob'`); the code says which case.
 */
function parseErrorMessage(error: Error & { code?: string }, options: Options): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const got = quoted ?? error.message;
      const suggestion = closestFlag(got, options);
      return `expected one of this command's flags, got ${JSON.stringify(got)}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // `Option '-j, --concurrency <value>' argument missing` or `Option '-h, --help' does not take an argument`.
      const flag = /--[\w-]+/.exec(quoted ?? '')?.[0] ?? quoted ?? 'a flag';
      if (/does not take an argument/.test(error.message)) return `expected ${flag} without a value (it is a switch), got a value for it`;
      return `expected a value after ${flag}, got none`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `expected only flags, got the argument ${JSON.stringify(quoted ?? error.message)}`;
    default:
      return error.message.replace(/\. To specify a positional argument.*$/s, '');
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
