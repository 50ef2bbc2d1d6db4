import { z } from 'zod';
import { withSiteOperators } from '../domains.js';
import { HttpError, statusError } from '../http-error.js';
import { isoDate, plainText } from '../plain-text.js';
import { callProvider, parseAnswer, SearchError, type SearchProvider } from '../search-provider.js';
import { endpoint } from './endpoint.js';

/** Options of {@link searxngProvider}. */
export interface SearxngOptions {
  /** Base URL of the instance, e.g. `http://localhost:8888`. */
  url: string;
  /** Extra request headers (an instance behind an authenticating proxy). */
  headers?: Record<string, string>;
  /** SearXNG categories, comma-separated. @default "general" */
  categories?: string;
  /** Engines to ask, comma-separated. @default the instance's defaults */
  engines?: string;
}

/**
 * SearXNG's JSON answer (`searx/webapp.py`, `format=json`): only what is read is required;
 * everything else passes. `number_of_results` was removed upstream, so it is not required.
 */
export const searxngAnswerSchema = z.looseObject({
  query: z.union([z.string(), z.number()]).optional(),
  number_of_results: z.number().optional(),
  results: z.array(
    z.looseObject({
      url: z.string(),
      title: z.string(),
      content: z.string().nullish(),
      score: z.number().nullish(),
      publishedDate: z.string().nullish(),
      engine: z.string().nullish(),
    }),
  ),
  unresponsive_engines: z.array(z.unknown()).optional(),
});

const SAFE_SEARCH = { off: '0', moderate: '1', strict: '2' } as const;

/**
 * [SearXNG](https://docs.searxng.org/dev/search_api.html), self-hosted: `GET /search?q=…&format=json`.
 * JSON output must be enabled in the instance's `settings.yml` (`search.formats: [html, json]`);
 * without it SearXNG answers 403, which this provider explains. A page with no results while
 * engines report failures (CAPTCHAs, timeouts) is a failure, so that a fallback chain moves on.
 */
export function searxngProvider(options: SearxngOptions): SearchProvider {
  const who = `SearXNG (${options.url})`;
  return {
    name: 'searxng',
    async search(request, context) {
      const url = endpoint(options.url, 'search');
      const params = url.searchParams;
      params.set('q', withSiteOperators(request.query, request.includeDomains, request.excludeDomains));
      params.set('format', 'json');
      params.set('pageno', String(request.page));
      params.set('categories', options.categories ?? 'general');
      if (options.engines !== undefined) params.set('engines', options.engines);
      if (request.language !== undefined) params.set('language', request.language);
      if (request.timeRange !== undefined) params.set('time_range', request.timeRange);
      if (request.safeSearch !== undefined) params.set('safesearch', SAFE_SEARCH[request.safeSearch]);
      const answer = await callProvider({ url, who, headers: { accept: 'application/json', ...options.headers } }, context);
      if (answer.status === 403) {
        throw new HttpError(
          'FANOUT_HTTP_STATUS',
          `searxng: ${who} answered 403 to format=json: its JSON output is not enabled. Add json to search.formats in its settings.yml (search: { formats: [html, json] }) and restart it`,
          { path: 'providers', url: url.href, status: 403 },
        );
      }
      if (answer.status < 200 || answer.status >= 300) {
        throw statusError({ status: answer.status, headers: answer.headers, snippet: answer.text.slice(0, 300) }, { url: url.href, who, field: 'providers', maxRetryAfterMs: context.maxRetryAfterMs });
      }
      const data = parseAnswer('searxng', who, searxngAnswerSchema, answer);
      const unresponsive = data.unresponsive_engines ?? [];
      if (data.results.length === 0 && unresponsive.length > 0) {
        const engines = unresponsive.map((entry) => (Array.isArray(entry) ? entry.filter((part) => typeof part === 'string').join(': ') : String(entry))).join(', ');
        throw new SearchError('FANOUT_SEARCH_FAILED', `searxng: expected results from ${who}, got none while its engines failed (${engines})`, {
          provider: 'searxng',
          path: 'providers',
          classification: { class: 'retryable' },
        });
      }
      return data.results.map((result) => ({
        title: plainText(result.title),
        url: result.url,
        snippet: plainText(result.content ?? ''),
        score: result.score ?? undefined,
        publishedDate: isoDate(result.publishedDate),
      }));
    },
  };
}
