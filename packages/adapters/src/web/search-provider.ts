import { describeZodIssues } from '@fanout/scheduler';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { AdapterError, type AdapterErrorCode, type AdapterErrorOptions } from '../errors.js';
import { refusalIn, refuseUrl, type AddressClass } from './addresses.js';
import { ACCEPT_ENCODING } from './content-coding.js';
import { exchange, type ExchangeProgress } from './exchange.js';
import { networkError, type FailureContext, type TimeoutsInForce } from './http-error.js';

/** A search as a provider receives it: the input with its defaults filled in. */
export interface SearchRequest {
  query: string;
  maxResults: number;
  /** From 1. */
  page: number;
  includeDomains: readonly string[];
  excludeDomains: readonly string[];
  language?: string | undefined;
  timeRange?: 'day' | 'week' | 'month' | 'year' | undefined;
  safeSearch?: 'off' | 'moderate' | 'strict' | undefined;
}

/** One result as a provider found it, before the adapter filters, ranks and tags it. */
export interface ProviderHit {
  title: string;
  url: string;
  snippet: string;
  score?: number | undefined;
  publishedDate?: string | undefined;
}

/** What a provider is given for one search: where to send requests and when to stop. */
export interface ProviderContext {
  /** Aborted when the attempt is; stop at once. */
  signal: AbortSignal;
  /**
   * The search adapter's connection pools. Unless the adapter was given a dispatcher of its
   * own, they refuse, after DNS resolution, an address `allowedAddresses` does not allow.
   */
  dispatcher: Dispatcher;
  /** Address classes a provider's requests may reach (SSRF); {@link callProvider} checks IP literals against it. */
  allowedAddresses: ReadonlySet<AddressClass>;
  timeouts: TimeoutsInForce;
  /** Most bytes of a provider's answer. */
  maxResponseBytes: number;
  /** A wait longer than this makes a 429 fatal. */
  maxRetryAfterMs: number;
}

/**
 * A search backend. It sends one search and returns its hits in the provider's order; the
 * adapter applies the domain filters, removes duplicates, cuts to `maxResults`, ranks and
 * tags them. Throw an {@link AdapterError} (its classification decides retries) on failure.
 *
 * @example
 * const mine: SearchProvider = {
 *   name: 'mine',
 *   async search(request, { signal }) {
 *     const hits = await myIndex.query(request.query, { limit: request.maxResults, signal });
 *     return hits.map((hit) => ({ title: hit.title, url: hit.href, snippet: hit.summary }));
 *   },
 * };
 */
export interface SearchProvider {
  /** The name in `providers`, `tried`, results and the sub-limit key. */
  readonly name: string;
  search(request: SearchRequest, context: ProviderContext): Promise<ProviderHit[]>;
}

/** A search error: which provider, and for a malformed answer, which field of it. */
export class SearchError extends AdapterError {
  override name = 'SearchError';
  /** The provider concerned, if one. */
  readonly provider: string | undefined;
  /** The field of the provider's answer that did not validate, e.g. `web.results[3].url`. */
  readonly field: string | undefined;

  constructor(code: AdapterErrorCode, message: string, options: AdapterErrorOptions & { provider?: string | undefined; field?: string | undefined } = {}) {
    super(code, message, options);
    this.provider = options.provider;
    this.field = options.field;
  }
}

/** A provider's raw answer. */
export interface ProviderAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as text (at most `maxResponseBytes`). */
  text: string;
  truncated: boolean;
}

/** One HTTP request of a provider. */
export interface ProviderCall {
  url: URL;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** The provider's display name, for messages ("Brave Search"). */
  who: string;
}

/**
 * Sends one request through the adapter's pools and reads the whole answer, whatever its
 * status (providers give meaning to their statuses). An address the policy does not allow —
 * an IP literal, or what the host resolves to — is `FANOUT_HTTP_ADDRESS_REFUSED` before any
 * byte is sent. Redirects are not followed: a provider's API answers where it is configured,
 * and its key travels in headers (`X-Subscription-Token`) that would follow a redirect to
 * another host; a 3xx is a `FANOUT_HTTP_STATUS` failure. Network failures and
 * timeouts become `FANOUT_HTTP_TIMEOUT` / `FANOUT_HTTP_NETWORK` errors; an abort rethrows the
 * signal's reason.
 */
export async function callProvider(call: ProviderCall, context: ProviderContext): Promise<ProviderAnswer> {
  const { signal } = context;
  const literal = refuseUrl(call.url, context.allowedAddresses);
  if (literal !== undefined) throw literal;
  const progress: ExchangeProgress = { responded: false, bytes: 0 };
  try {
    const response = await exchange(
      context.dispatcher,
      {
        url: call.url,
        method: call.method ?? 'GET',
        headers: { 'accept-encoding': ACCEPT_ENCODING, 'user-agent': 'fanout', ...call.headers },
        body: call.body,
        headersTimeoutMs: context.timeouts.headersMs,
        bodyTimeoutMs: context.timeouts.bodyMs,
      },
      { signal, onResponse: () => ({ keep: context.maxResponseBytes }), progress },
    );
    return { status: response.status, headers: response.headers, text: response.text(), truncated: response.truncated };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const refused = refusalIn(error);
    if (refused !== undefined) throw refused;
    const failure: FailureContext = { url: call.url.href, who: call.who, field: 'query', maxRetryAfterMs: context.maxRetryAfterMs };
    throw networkError(error, failure, context.timeouts, progress.responded ? progress.bytes : undefined);
  }
}

/**
 * Parses and validates a provider's JSON answer. An answer that is not JSON, was cut, or does
 * not match the provider's documented format is a `FANOUT_SEARCH_RESPONSE` error naming the
 * provider and the first field that is wrong.
 */
export function parseAnswer<T>(provider: string, who: string, schema: z.ZodType<T>, answer: ProviderAnswer): T {
  if (answer.truncated) {
    throw new SearchError('FANOUT_SEARCH_RESPONSE', `${provider}: expected a complete JSON answer from ${who}, got one larger than maxResponseBytes`, { provider, path: 'query' });
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    const start = answer.text.slice(0, 80).replace(/\s+/g, ' ');
    throw new SearchError('FANOUT_SEARCH_RESPONSE', `${provider}: expected a JSON answer from ${who}, got ${JSON.stringify(start)}`, { provider, path: 'query' });
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = describeZodIssues(parsed.error, json);
  const first = problems[0]!;
  const field = first.path === '' ? '(the whole answer)' : first.path;
  throw new SearchError('FANOUT_SEARCH_RESPONSE', `${provider}: ${field} of the answer: ${first.message}${problems.length === 1 ? '' : ` (and ${problems.length - 1} more problem${problems.length === 2 ? '' : 's'})`}`, {
    provider,
    field,
    path: 'query',
  });
}
