/**
 * Builds the zod schemas of fanout's configuration, once, on first use. Building them is ~3 ms
 * of a start (zod constructs and clones every object, enum and check), and a command that
 * finds no configuration file and no FANOUT_* variable validates nothing: `loadConfig` and
 * `configFromEnv` ask for them only when they have a layer to check. The public exports of
 * schema.ts are these same instances.
 */
import { z } from 'zod';

function build() {
  const positiveInt = z.number().int().positive();
  const ratio = z.number().min(0).max(1);

  /** Limits of one kind's pool. */
  const kindLimitSchema = z
    .object({
      max: positiveInt.describe('Hard cap of concurrent operations of this kind').optional(),
      optimal: positiveInt.describe('Where the adaptive limiter starts').optional(),
      limiter: z.enum(['adaptive', 'gradient', 'aimd', 'vegas', 'fixed']).describe('How the limit adapts').optional(),
      timeoutMs: positiveInt.describe('Timeout of each attempt of this kind').optional(),
      keyLimit: positiveInt.describe('Most concurrent operations per sub-limit key (host, provider)').optional(),
    })
    .strict();

  /** Resource thresholds, as shares of capacity (0–1) and a response time; the defaults are in profiles.ts. */
  const thresholdsSchema = z
    .object({
      cpu: ratio.describe('CPU busy share, sustained, that pauses CPU-heavy kinds').optional(),
      memory: ratio.describe('Memory used share that stops admitting any new operation').optional(),
      network: ratio.describe('Share of the configured network capacity that pauses fetch and search').optional(),
      disk: ratio.describe('Disk busy share that pauses read, write and glob').optional(),
      failureRate: ratio.describe('Failure rate over a window above which the limiter backs off').optional(),
      slowResponseMs: positiveInt.describe('Mean response time above which a pool is lowered and flagged').optional(),
    })
    .strict();

  const retrySchema = z
    .object({
      attempts: z.number().int().min(1).max(100).optional(),
      baseDelayMs: z.number().min(0).optional(),
      maxDelayMs: z.number().min(0).optional(),
      budgetRatio: ratio.describe('Retries allowed per operation of a run').optional(),
    })
    .strict();

  const outputSchema = z
    .object({
      budgetChars: positiveInt.describe('Most characters of a report; what does not fit is spilled to a file').optional(),
      budgetTokens: positiveInt.describe('The same budget in approximate tokens (≈ characters / 4)').optional(),
      spillDir: z.string().min(1).describe('Where spilled output goes (default: the system temporary directory)').optional(),
    })
    .strict();

  /** Address classes of the SSRF policy (`fetch.allowAddresses`, `search.allowAddresses`). */
  const addressClassesSchema = z.array(z.enum(['loopback', 'private', 'link-local', 'metadata']));

  const searchSchema = z
    .object({
      allowAddresses: addressClassesSchema
        .describe(
          "Address classes the search providers' endpoints may be at, checked on the URL and after DNS resolution (SSRF; providers' redirects are not followed): the classes of fetch.allowAddresses. Separate from fetch's so that a SearXNG on your network ('private') does not open your network to fetch. Default ['loopback'] for the CLI and the MCP server, none for fanout-server. Only a trusted configuration may set it",
        )
        .optional(),
      providers: z
        .array(z.enum(['searxng', 'brave', 'tavily']))
        .min(1)
        .describe('Providers to try, in order (a fallback chain)')
        .optional(),
      searxng: z
        .object({ url: z.url().describe('Base URL of a SearXNG instance with JSON output enabled') })
        .strict()
        .optional(),
      brave: z
        .object({ apiKey: z.string().min(1), url: z.url().optional() })
        .strict()
        .optional(),
      tavily: z
        .object({ apiKey: z.string().min(1), url: z.url().optional() })
        .strict()
        .optional(),
    })
    .strict();

  /**
   * All of fanout's configuration: one schema, the single source of truth. The JSON Schema
   * shipped for editors (`@fanout/profiles/config.schema.json`) is generated from it.
   */
  const configSchema = z
    .object({
      $schema: z.string().optional(),
      profile: z.string().min(1).describe('Built-in profile to start from').optional(),
      concurrency: positiveInt.describe('Most operations in flight at once over all kinds').optional(),
      limits: z.record(z.string().min(1), kindLimitSchema).describe('Per-kind pool limits').optional(),
      thresholds: thresholdsSchema.optional(),
      retry: retrySchema.optional(),
      timeouts: z
        .object({
          attemptMs: positiveInt.describe('Default timeout of each attempt').optional(),
          queueMs: positiveInt.describe('How long an operation may wait to start').optional(),
          runMs: positiveInt.describe('Deadline of a whole run').optional(),
        })
        .strict()
        .optional(),
      output: outputSchema.optional(),
      search: searchSchema.optional(),
      fetch: z
        .object({
          allowAddresses: addressClassesSchema
            .describe(
              "Address classes fetch may reach, checked on the URL, after DNS resolution and on every redirect (SSRF): 'loopback' (127/8, ::1), 'private' (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), 'link-local' (169.254/16, fe80::/10), 'metadata' (cloud metadata endpoints). Default ['loopback'] for the CLI and the MCP server, none for fanout-server. Only a trusted configuration may set it",
            )
            .optional(),
        })
        .strict()
        .optional(),
      shell: z
        .object({
          spawner: z
            .enum(['direct', 'server'])
            .describe("Who forks bash commands: Node itself ('direct', the library default) or a pool of small bash workers ('server', 3× less Node CPU per command; `fanout exec` uses it unless told otherwise)")
            .optional(),
        })
        .strict()
        .optional(),
      grep: z
        .object({
          engine: z
            .enum(['auto', 'ripgrep', 'builtin'])
            .describe(
              "Which engine searches: 'ripgrep' runs rg (13 or newer) through its --json stream, 'builtin' is fanout's own engine in worker threads, 'auto' (the default) is ripgrep when rg is on PATH, else the built-in engine; both give the same results",
            )
            .optional(),
        })
        .strict()
        .optional(),
      roots: z.array(z.string().min(1)).min(1).describe('Directories operations may touch (default: the working directory)').optional(),
      network: z
        .object({ capacityMbps: z.number().positive().describe('Link capacity the network threshold is a share of') })
        .strict()
        .optional(),
    })
    .strict();

  return { kindLimitSchema, thresholdsSchema, retrySchema, outputSchema, searchSchema, configSchema };
}

let built: ReturnType<typeof build> | undefined;

/** The configuration's schemas, built on the first call. */
export function configSchemas(): ReturnType<typeof build> {
  built ??= build();
  return built;
}
