/**
 * The server's command line: flags into {@link ServerOptions}, every bad value a
 * {@link UsageError} that names the flag, what was expected and what was got (exit 2).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FlagCheck } from '@fanout/scheduler/diagnostics';
import { ADDRESS_CLASSES, DEFAULT_OPTIONS, type AddressClass, type ServerOptions } from './options.js';

/** A bad flag: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = 'fanout-server [--host H] [--port N] [--data-dir DIR] [--token-file FILE] [--config FILE] [--allow-write] [--allow-shell] [flags]';

export const HELP = `Usage: ${USAGE}
       fanout serve [same flags]

Serves fanout over HTTP: submit plans (POST /v1/runs), watch them live (the dashboard at /,
Server-Sent Events at /v1/runs/:id/events), reach the MCP tools (POST /mcp), scrape metrics
(/metrics). Runs live in the data directory and survive a restart.

      --host H           address to listen on (default 127.0.0.1); off loopback a token is required
      --port N           port, 0 for any free one (default 7781)
      --data-dir DIR     where runs are kept (default .fanout/ in the working directory)
      --token-file FILE  require "Authorization: Bearer <the file's content>" on every request
      --config FILE      configuration file (default: fanout.config.json found upward); its roots
                         are the only ones a run may touch
      --allow-write      let plans use the write kind (off by default)
      --allow-shell      let plans use the bash kind (off by default)
      --allow-addresses L  address classes fetch and search providers may reach: loopback,
                         private, link-local, metadata, comma-separated (default: none, or
                         the configuration's fetch.allowAddresses / search.allowAddresses)
      --allow-host H     also answer for this Host header (repeatable)
      --allow-origin O   also accept requests from pages of this origin (repeatable)
      --max-body N       largest request body in bytes (default ${DEFAULT_OPTIONS.maxBodyBytes})
      --max-runs N       runs going at once per token (default ${DEFAULT_OPTIONS.maxRunsPerToken}); more wait in the queue
      --max-queued N     runs waiting per token (default ${DEFAULT_OPTIONS.maxQueuedPerToken}); more are refused (429)
      --max-operations N operations a run may have (default ${DEFAULT_OPTIONS.maxOperations})
      --redis URL        run the operations of submitted runs and of the MCP tools on the "fanout
                         worker" processes of this Redis (redis://host:port/db) instead of here.
                         Redis must answer at start (else exit 2, FANOUT_REDIS_UNAVAILABLE)
      --redis-prefix P   key prefix shared with the workers (default: fanout)
      --grace D          on SIGTERM, how long runs may go on before they are cancelled (default 10s)
  -h, --help             this help
  -V, --version          the version`;

/** The diagnostics kit's flag checks, failing with this command's usage error (exit 2). */
const flags = new FlagCheck((message) => new UsageError(message));
const positiveInt = (value: string | undefined, flag: string, min = 1): number | undefined => flags.integer(value, flag, min);
const duration = (value: string | undefined, flag: string): number | undefined => flags.duration(value, flag);

/** The server's flags (node:util `parseArgs` options). */
const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'token-file': { type: 'string' },
  config: { type: 'string' },
  'allow-write': { type: 'boolean' },
  'allow-shell': { type: 'boolean' },
  'allow-host': { type: 'string', multiple: true },
  'allow-origin': { type: 'string', multiple: true },
  'allow-addresses': { type: 'string' },
  'max-body': { type: 'string' },
  'max-runs': { type: 'string' },
  'max-queued': { type: 'string' },
  'max-operations': { type: 'string' },
  grace: { type: 'string' },
  redis: { type: 'string' },
  'redis-prefix': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** What the command line asks for: help, the version, or a server with these options. */
export type Parsed = { help: true } | { version: true } | { options: ServerOptions };

/** Parses the server's flags (after the command name); reads the token file. */
export async function parseFlags(argv: string[], cwd = process.cwd()): Promise<Parsed> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: FLAGS });
  } catch (error) {
    throw flags.parseError(error as Error, FLAGS);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { help: true };
  if (values.version === true) return { version: true };
  if (positionals.length > 0) throw new UsageError(`expected no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  const host = values.host ?? DEFAULT_OPTIONS.host;
  if (host.trim() === '' || /[\s/]/.test(host)) throw new UsageError(`expected --host to be an address or a host name, got ${JSON.stringify(host)}`);
  const port = values.port === undefined ? DEFAULT_OPTIONS.port : positiveInt(values.port, '--port', 0)!;
  if (port > 65_535) throw new UsageError(`expected --port to be at most 65535, got ${port}`);
  // One token a line: each is a principal of its own for the per-token limits.
  let tokens: string[] = [];
  if (values['token-file'] !== undefined) {
    const file = resolve(cwd, values['token-file']);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --token-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    tokens = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    if (tokens.length === 0) throw new UsageError(`expected --token-file ${file} to hold a token (one a line), got none`);
    const short = tokens.findIndex((token) => token.length < 16);
    if (short >= 0) throw new UsageError(`expected every token of --token-file ${file} to have at least 16 characters, got ${tokens[short]!.length} on token ${short + 1}`);
  }
  for (const origin of values['allow-origin'] ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`expected --allow-origin to be an origin like https://example.com (no path), got ${JSON.stringify(origin)}`);
  }
  let allowAddresses: AddressClass[] | undefined;
  if (values['allow-addresses'] !== undefined) {
    const names = values['allow-addresses']
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && name !== 'none');
    const bad = names.find((name) => !(ADDRESS_CLASSES as readonly string[]).includes(name));
    if (bad !== undefined) throw new UsageError(`expected --allow-addresses to list ${ADDRESS_CLASSES.join(', ')} (or none), got ${JSON.stringify(bad)}`);
    allowAddresses = names as AddressClass[];
  }
  const grace = duration(values.grace, '--grace');
  if (values.redis !== undefined && !/^rediss?:\/\/./.test(values.redis)) throw new UsageError(`expected --redis to be a redis:// or rediss:// URL, got ${JSON.stringify(values.redis)}`);
  if (values['redis-prefix'] !== undefined && values.redis === undefined) throw new UsageError('expected --redis URL with --redis-prefix, got --redis-prefix alone');
  if (values['redis-prefix'] === '') throw new UsageError('expected --redis-prefix to be a non-empty key prefix, got ""');
  const options: ServerOptions = {
    ...DEFAULT_OPTIONS,
    host,
    port,
    dataDir: resolve(cwd, values['data-dir'] ?? DEFAULT_OPTIONS.dataDir),
    tokens,
    ...(values.config === undefined ? {} : { configFile: resolve(cwd, values.config) }),
    allowWrite: values['allow-write'] === true,
    allowShell: values['allow-shell'] === true,
    ...(allowAddresses === undefined ? {} : { allowAddresses }),
    allowHosts: values['allow-host'] ?? [],
    allowOrigins: values['allow-origin'] ?? [],
    maxBodyBytes: positiveInt(values['max-body'], '--max-body') ?? DEFAULT_OPTIONS.maxBodyBytes,
    maxRunsPerToken: positiveInt(values['max-runs'], '--max-runs') ?? DEFAULT_OPTIONS.maxRunsPerToken,
    maxQueuedPerToken: positiveInt(values['max-queued'], '--max-queued', 0) ?? DEFAULT_OPTIONS.maxQueuedPerToken,
    maxOperations: positiveInt(values['max-operations'], '--max-operations') ?? DEFAULT_OPTIONS.maxOperations,
    graceMs: grace ?? DEFAULT_OPTIONS.graceMs,
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    ...(values['redis-prefix'] === undefined ? {} : { redisPrefix: values['redis-prefix'] }),
  };
  return { options };
}
