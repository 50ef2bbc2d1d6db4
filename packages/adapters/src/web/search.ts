import { defaultClassify, type Adapter, type AdapterDefaults, type AttemptContext, type Classification } from '@fanout/scheduler';
import type { Dispatcher } from 'undici';
import { AdapterError, classifyAdapterError } from '../errors.js';
import { DEFAULT_ALLOWED_ADDRESSES, type AddressClass } from './addresses.js';
import { Connections } from './connections.js';
import { positiveOption } from './options.js';
import { domainAllowed } from './domains.js';
import { isHttpUrl } from './fetch-input.js';
import type { TimeoutsInForce } from './http-error.js';
import { notConfiguredError, resolveProviders, type SearchProvidersConfig } from './search-config.js';
import { searchInputSchema, type ProviderFailure, type SearchInput, type SearchOutput, type SearchResult } from './search-input.js';
import { SearchError, type ProviderContext, type ProviderHit, type SearchRequest } from './search-provider.js';

/**
 * The search adapter's defaults: `maxConcurrency` 32 and `optimalConcurrency` 16 (the design's
 * table), 30 s per attempt, results 10 a search.
 */
export const SEARCH_DEFAULTS = {
  maxConcurrency: 32,
  optimalConcurrency: 16,
  timeoutMs: 30_000,
  maxResults: 10,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  bodyTimeoutMs: 20_000,
  maxResponseBytes: 5 * 1024 * 1024,
  maxRetryAfterMs: 60_000,
} as const;

/** Options of {@link searchAdapter}: the providers (see {@link SearchProvidersConfig}) and the limits. */
export interface SearchAdapterOptions extends SearchProvidersConfig {
  /** @default 32 */
  maxConcurrency?: number;
  /** @default 16 */
  optimalConcurrency?: number;
  /**
   * Most searches in flight per provider (the sub-limit key). Per-provider values go in the
   * scheduler's `limits.search.keyLimits`, e.g. `{ brave: 1 }` for Brave's free plan.
   * @default no sub-limit
   */
  keyLimit?: number;
  /** Timeout of each attempt (all providers of the chain together). @default 30000 */
  timeoutMs?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** @default 20000 */
  headersTimeoutMs?: number;
  /** @default 20000 */
  bodyTimeoutMs?: number;
  /** Most bytes of one provider answer. @default 5242880 (5 MiB) */
  maxResponseBytes?: number;
  /** A rate-limit wait longer than this is a failure instead. @default 60000 */
  maxRetryAfterMs?: number;
  /** Requests go through this dispatcher instead of the adapter's own pools. */
  dispatcher?: Dispatcher;
  /**
   * Address classes the providers' endpoints may be at, checked on IP literals and after DNS
   * resolution (SSRF), as `fetch` does: a configured `url` of 169.254.169.254 or of a name that
   * resolves to a private address is refused with `FANOUT_HTTP_ADDRESS_REFUSED`. Allow
   * `private` for a SearXNG on your network. With a `dispatcher` of your own, only IP literals
   * are checked.
   * @default ["loopback"]
   */
  allowAddresses?: readonly AddressClass[];
}

/** The search adapter: an {@link Adapter} that owns its connection pools. */
export interface SearchAdapter extends Adapter<SearchInput, SearchOutput> {
  readonly kind: 'search';
  /** The default fallback chain (provider names). */
  readonly chain: readonly string[];
  readonly dispatcher: Dispatcher;
  /** Closes the adapter's connection pools once requests in flight have finished. */
  close(): Promise<void>;
  /** Closes the adapter's connection pools at once, aborting requests in flight. */
  destroy(): Promise<void>;
}

const NO_LOCKS: readonly string[] = Object.freeze([]);

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  return positiveOption('searchAdapter', name, value, fallback, allowZero);
}

/** The hits of one provider as results: http(s) only, domains filtered, no duplicate URL, cut, ranked from 1. */
function toResults(hits: readonly ProviderHit[], request: SearchRequest, provider: string): SearchResult[] {
  const results: SearchResult[] = [];
  const seen = new Set<string>();
  for (const hit of hits) {
    if (results.length >= request.maxResults) break;
    if (!isHttpUrl(hit.url) || seen.has(hit.url) || !domainAllowed(hit.url, request.includeDomains, request.excludeDomains)) continue;
    seen.add(hit.url);
    const result: SearchResult = { title: hit.title, url: hit.url, snippet: hit.snippet, rank: results.length + 1, provider };
    if (hit.score !== undefined) result.score = hit.score;
    if (hit.publishedDate !== undefined) result.publishedDate = hit.publishedDate;
    results.push(result);
  }
  return results;
}

function classOf(error: unknown): Classification {
  return classifyAdapterError(error, defaultClassify);
}

const SEVERITY = { fatal: 0, retryable: 1, drop: 2 } as const;

/**
 * Every provider of the chain failed. With one provider, its own error says it best. With
 * several, one error lists them all; it is worth retrying when any of them is (the most
 * telling class wins: `drop` over `retryable`), after the shortest wait any of them asked for.
 */
function chainFailed(errors: readonly unknown[], failures: readonly ProviderFailure[]): unknown {
  if (errors.length === 1) return errors[0];
  let classification: Classification = { class: 'fatal' };
  let wait: number | undefined;
  for (const error of errors) {
    const cls = classOf(error);
    if (SEVERITY[cls.class] > SEVERITY[classification.class]) classification = { class: cls.class };
    if (cls.class !== 'fatal' && cls.retryAfterMs !== undefined) wait = Math.min(wait ?? Infinity, cls.retryAfterMs);
  }
  if (classification.class !== 'fatal' && wait !== undefined) classification = { ...classification, retryAfterMs: wait };
  const list = failures.map((failure) => `${failure.provider}: [${failure.code}] ${failure.message}`).join('; ');
  return new SearchError('FANOUT_SEARCH_FAILED', `expected one of the providers ${failures.map((f) => f.provider).join(', ')} to answer, got a failure from each: ${list}`, {
    path: 'providers',
    classification,
    cause: errors.at(-1),
  });
}

/**
 * Makes the `search` adapter: a query goes to the first provider of the fallback chain
 * (SearXNG, Brave Search, Tavily, or your own {@link SearchProvider}), then to the next when
 * one fails; results come back in one shape, ranked from 1, filtered by domain. The sub-limit
 * key is the first provider of the chain. Without any configured provider a search fails
 * with `FANOUT_SEARCH_NOT_CONFIGURED`, saying how to configure one.
 *
 * @example
 * const search = searchAdapter({ providers: ['searxng', 'brave'] }); // SEARXNG_URL, BRAVE_API_KEY
 * const scheduler = createScheduler({ adapters: [search] });
 * await scheduler.execute({ operations: [{ id: 'q', kind: 'search', input: { query: 'undici pool', maxResults: 5 } }] });
 * await search.close();
 */
export function searchAdapter(options: SearchAdapterOptions = {}): SearchAdapter {
  const resolved = resolveProviders(options);
  const maxConcurrency = positive('maxConcurrency', options.maxConcurrency, SEARCH_DEFAULTS.maxConcurrency);
  const defaults: AdapterDefaults = {
    maxConcurrency,
    optimalConcurrency: Math.min(maxConcurrency, positive('optimalConcurrency', options.optimalConcurrency, SEARCH_DEFAULTS.optimalConcurrency)),
    timeoutMs: positive('timeoutMs', options.timeoutMs, SEARCH_DEFAULTS.timeoutMs),
    idempotent: true,
    // Most of an attempt is waiting for the other side: the run's sequential estimate counts it by wall time.
    waits: true,
  };
  if (options.keyLimit !== undefined) defaults.keyLimit = positive('keyLimit', options.keyLimit, 1);
  const timeouts: TimeoutsInForce = {
    connectMs: positive('connectTimeoutMs', options.connectTimeoutMs, SEARCH_DEFAULTS.connectTimeoutMs),
    headersMs: positive('headersTimeoutMs', options.headersTimeoutMs, SEARCH_DEFAULTS.headersTimeoutMs),
    bodyMs: positive('bodyTimeoutMs', options.bodyTimeoutMs, SEARCH_DEFAULTS.bodyTimeoutMs),
  };
  const maxResponseBytes = positive('maxResponseBytes', options.maxResponseBytes, SEARCH_DEFAULTS.maxResponseBytes);
  const maxRetryAfterMs = positive('maxRetryAfterMs', options.maxRetryAfterMs, SEARCH_DEFAULTS.maxRetryAfterMs, true);
  const allowedAddresses = new Set(options.allowAddresses ?? DEFAULT_ALLOWED_ADDRESSES);
  const connections = new Connections({
    connectionsPerOrigin: maxConcurrency,
    connectTimeoutMs: timeouts.connectMs,
    headersTimeoutMs: timeouts.headersMs,
    bodyTimeoutMs: timeouts.bodyMs,
    dispatcher: options.dispatcher,
    allowedAddresses,
  });

  async function run(input: SearchInput, context: AttemptContext): Promise<SearchOutput> {
    const signal = context.signal;
    const chain = input.providers ?? resolved.chain;
    if (chain.length === 0) throw notConfiguredError();
    const request: SearchRequest = {
      query: input.query,
      maxResults: input.maxResults ?? SEARCH_DEFAULTS.maxResults,
      page: input.page ?? 1,
      includeDomains: input.includeDomains ?? [],
      excludeDomains: input.excludeDomains ?? [],
      language: input.language,
      timeRange: input.timeRange,
      safeSearch: input.safeSearch,
    };
    const providerContext: ProviderContext = { signal, dispatcher: connections.dispatcher, allowedAddresses, timeouts, maxResponseBytes, maxRetryAfterMs };
    const tried: string[] = [];
    const failures: ProviderFailure[] = [];
    const errors: unknown[] = [];
    for (const name of chain) {
      tried.push(name);
      try {
        const provider = resolved.providers.get(name);
        if (provider === undefined) {
          throw new SearchError('FANOUT_SEARCH_NOT_CONFIGURED', resolved.problems.get(name) ?? `${name} is not a known provider`, { provider: name, path: 'providers' });
        }
        const hits = await provider.search(request, providerContext);
        return { query: input.query, provider: name, results: toResults(hits, request, name), tried, failures };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        errors.push(error);
        failures.push({
          provider: name,
          code: error instanceof AdapterError ? error.code : String((error as { code?: unknown } | undefined)?.code ?? 'FANOUT_SEARCH_FAILED'),
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    throw chainFailed(errors, failures);
  }

  return {
    kind: 'search',
    input: searchInputSchema(resolved.names),
    defaults,
    run,
    classify: classOf,
    locks: () => NO_LOCKS,
    key: (input) => input.providers?.[0] ?? resolved.chain[0],
    chain: resolved.chain,
    get dispatcher() {
      return connections.dispatcher;
    },
    close: () => connections.close(),
    destroy: () => connections.destroy(),
  };
}
