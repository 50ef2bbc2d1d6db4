/** The server's options, and their defaults. */

/** Address classes `fetch` and `search` may be allowed to reach (see `fetch.allowAddresses` and `search.allowAddresses` in the configuration). */
export const ADDRESS_CLASSES = ['loopback', 'private', 'link-local', 'metadata'] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** Options of {@link startServer}; the command line fills them (flags.ts). */
export interface ServerOptions {
  /** @default "127.0.0.1" */
  host: string;
  /** 0 for any free port. @default 7781 */
  port: number;
  /** Where each run's plan, journal, events and report live. @default ".fanout" */
  dataDir: string;
  /** The bearer tokens a request may carry (one is required when any is set); required off loopback. */
  tokens: readonly string[];
  /** Configuration file; by default fanout.config.json found upward. */
  configFile?: string;
  /** Let plans use `write`. @default false */
  allowWrite: boolean;
  /** Let plans use `bash`. @default false */
  allowShell: boolean;
  /**
   * Address classes `fetch` and the search providers may reach (SSRF). Over the
   * configuration's `fetch.allowAddresses` and `search.allowAddresses`.
   * @default each kind's configuration, else none
   */
  allowAddresses?: readonly AddressClass[];
  /** More `Host` names this server answers for. */
  allowHosts: readonly string[];
  /** More origins whose pages may call the API. */
  allowOrigins: readonly string[];
  /** @default 4 MiB */
  maxBodyBytes: number;
  /** Runs going at once per token. @default 4 */
  maxRunsPerToken: number;
  /** Runs waiting per token beyond those. @default 64 */
  maxQueuedPerToken: number;
  /** Operations one run may have. @default 10000 */
  maxOperations: number;
  /** On SIGTERM, how long runs may go on before the rest is cancelled. @default 10000 */
  graceMs: number;
  /**
   * `redis://host:port/db` of the queues: runs hand their tool operations to the `fanout worker`
   * processes of that Redis instead of running them here (the MCP tools' operations too).
   */
  redis?: string;
  /** Key prefix shared with the workers. @default "fanout" */
  redisPrefix?: string;
  /** The working directory (roots default to it). @default process.cwd() */
  cwd?: string;
}

export const DEFAULT_OPTIONS = {
  host: '127.0.0.1',
  port: 7781,
  dataDir: '.fanout',
  allowWrite: false,
  allowShell: false,
  tokens: [],
  allowHosts: [],
  allowOrigins: [],
  maxBodyBytes: 4 * 1024 * 1024,
  maxRunsPerToken: 4,
  maxQueuedPerToken: 64,
  maxOperations: 10_000,
  graceMs: 10_000,
} as const satisfies Omit<ServerOptions, 'configFile' | 'cwd'>;
