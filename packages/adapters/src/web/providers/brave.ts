import { systemClock, type Clock } from '@fanout/scheduler';
import { z } from 'zod';
import { withSiteOperators } from '../domains.js';
import { headerText, HttpError, statusError } from '../http-error.js';
import { isoDate, plainText } from '../plain-text.js';
import { parseRateLimitWindows, parseRetryAfter, rateLimitWaitMs } from '../retry-after.js';
import { callProvider, parseAnswer, type SearchProvider } from '../search-provider.js';
import { endpoint } from './endpoint.js';

/** Options of {@link braveProvider}. */
export interface BraveOptions {
  /** The subscription token, sent as `X-Subscription-Token`. */
  apiKey: string;
  /** @default "https://api.search.brave.com/res/v1" */
  url?: string;
  /** Two-letter country code the results are for. */
  country?: string;
  /** Time source of the rate-limit gate (tests pass a manual clock). @default systemClock */
  clock?: Clock;
}

/** Brave's web search answer: results under `web.results[]`; `web` is absent when nothing was found. */
export const braveAnswerSchema = z.looseObject({
  type: z.string().optional(),
  web: z
    .looseObject({
      results: z.array(
        z.looseObject({
          title: z.string(),
          url: z.string(),
          description: z.string().nullish(),
          page_age: z.string().nullish(),
          age: z.string().nullish(),
          extra_snippets: z.array(z.string()).nullish(),
        }),
      ),
    })
    .optional(),
});

const FRESHNESS = { day: 'pd', week: 'pw', month: 'pm', year: 'py' } as const;
const WHO = 'Brave Search';

function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * [Brave Search](https://api-dashboard.search.brave.com/app/documentation/web-search/get-started):
 * `GET /web/search` with `X-Subscription-Token`, `count` 1–20, `offset` 0–9 (pages).
 *
 * Brave reports its rate limits in `X-RateLimit-Limit / -Remaining / -Reset`, comma lists with
 * one entry per window (per second, per month). A 429 waits until every exhausted window has
 * reset (`retryAfterMs`, classified `drop` so the scheduler's limiter backs off too), and an
 * answer saying a window is exhausted holds the next requests until it resets instead of
 * spending them on certain 429s. A wait longer than `maxRetryAfterMs` (a monthly quota) fails
 * at once.
 */
export function braveProvider(options: BraveOptions): SearchProvider {
  const clock = options.clock ?? systemClock;
  const base = options.url ?? 'https://api.search.brave.com/res/v1';
  /** Clock time before which the last answer said no request can succeed. */
  let blockedUntil = 0;

  return {
    name: 'brave',
    async search(request, context) {
      const wait = blockedUntil - clock.now();
      if (wait > 0) {
        if (wait > context.maxRetryAfterMs) {
          throw new HttpError('FANOUT_HTTP_STATUS', `brave: ${WHO} said its rate limit is exhausted for ${Math.ceil(wait / 1000)} s more, longer than maxRetryAfterMs (${context.maxRetryAfterMs} ms)`, {
            path: 'providers',
            status: 429,
            url: base,
          });
        }
        await sleep(clock, wait, context.signal);
      }
      const url = endpoint(base, 'web/search');
      const params = url.searchParams;
      params.set('q', withSiteOperators(request.query, request.includeDomains, request.excludeDomains));
      params.set('count', String(Math.min(20, request.maxResults)));
      if (request.page > 1) params.set('offset', String(Math.min(9, request.page - 1)));
      if (options.country !== undefined) params.set('country', options.country);
      if (request.language !== undefined) params.set('search_lang', request.language.split('-')[0]!.toLowerCase());
      if (request.safeSearch !== undefined) params.set('safesearch', request.safeSearch);
      if (request.timeRange !== undefined) params.set('freshness', FRESHNESS[request.timeRange]);
      const answer = await callProvider({ url, who: WHO, headers: { accept: 'application/json', 'x-subscription-token': options.apiKey } }, context);

      const windows = parseRateLimitWindows({
        limit: headerText(answer.headers['x-ratelimit-limit']),
        remaining: headerText(answer.headers['x-ratelimit-remaining']),
        reset: headerText(answer.headers['x-ratelimit-reset']),
      });
      const now = clock.now();
      for (const window of windows) {
        if (window.remaining !== undefined && window.remaining <= 0 && window.resetSeconds !== undefined) {
          blockedUntil = Math.max(blockedUntil, now + window.resetSeconds * 1000);
        }
      }
      if (answer.status === 429) {
        const fromHeaders = rateLimitWaitMs(windows);
        const retryAfter = parseRetryAfter(headerText(answer.headers['retry-after']));
        const retryAfterMs = fromHeaders === undefined && retryAfter === undefined ? undefined : Math.max(fromHeaders ?? 0, retryAfter ?? 0);
        throw statusError({ status: 429, headers: answer.headers, snippet: answer.text.slice(0, 300), retryAfterMs }, { url: url.href, who: WHO, field: 'providers', maxRetryAfterMs: context.maxRetryAfterMs });
      }
      if (answer.status < 200 || answer.status >= 300) {
        throw statusError({ status: answer.status, headers: answer.headers, snippet: answer.text.slice(0, 300) }, { url: url.href, who: WHO, field: 'providers', maxRetryAfterMs: context.maxRetryAfterMs });
      }
      const data = parseAnswer('brave', WHO, braveAnswerSchema, answer);
      return (data.web?.results ?? []).map((result) => ({
        title: plainText(result.title),
        url: result.url,
        snippet: plainText(result.description ?? result.extra_snippets?.[0] ?? ''),
        publishedDate: isoDate(result.page_age) ?? isoDate(result.age),
      }));
    },
  };
}
