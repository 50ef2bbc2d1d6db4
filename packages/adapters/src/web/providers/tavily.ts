import { z } from 'zod';
import { statusError } from '../http-error.js';
import { isoDate, plainText } from '../plain-text.js';
import { callProvider, parseAnswer, type SearchProvider } from '../search-provider.js';
import { endpoint } from './endpoint.js';

/** Options of {@link tavilyProvider}. */
export interface TavilyOptions {
  /** Sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** @default "https://api.tavily.com" */
  url?: string;
  /** `advanced` costs two credits a search. @default "basic" */
  searchDepth?: 'basic' | 'advanced';
  /** @default "general" */
  topic?: 'general' | 'news' | 'finance';
}

/** Tavily's search answer. */
export const tavilyAnswerSchema = z.looseObject({
  query: z.string().optional(),
  answer: z.string().nullish(),
  results: z.array(
    z.looseObject({
      title: z.string(),
      url: z.string(),
      content: z.string(),
      score: z.number().nullish(),
      published_date: z.string().nullish(),
      raw_content: z.string().nullish(),
    }),
  ),
  response_time: z.union([z.number(), z.string()]).optional(),
  request_id: z.string().optional(),
});

/** Tavily returns at most this many results a search. */
const MAX_RESULTS = 20;
const WHO = 'Tavily';

/**
 * [Tavily](https://docs.tavily.com/documentation/api-reference/endpoint/search):
 * `POST /search` with `Authorization: Bearer`, domains filtered natively. Tavily has no pages:
 * page `p` asks for `p × maxResults` results (Tavily gives at most 20) and returns that page's part.
 */
export function tavilyProvider(options: TavilyOptions): SearchProvider {
  const base = options.url ?? 'https://api.tavily.com';
  return {
    name: 'tavily',
    async search(request, context) {
      const url = endpoint(base, 'search');
      const wanted = Math.min(MAX_RESULTS, request.page * request.maxResults);
      const body: Record<string, unknown> = {
        query: request.query,
        max_results: wanted,
        search_depth: options.searchDepth ?? 'basic',
        topic: options.topic ?? 'general',
      };
      if (request.includeDomains.length > 0) body['include_domains'] = request.includeDomains;
      if (request.excludeDomains.length > 0) body['exclude_domains'] = request.excludeDomains;
      if (request.timeRange !== undefined) body['time_range'] = request.timeRange;
      const answer = await callProvider(
        {
          url,
          who: WHO,
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
          body: JSON.stringify(body),
        },
        context,
      );
      if (answer.status < 200 || answer.status >= 300) {
        throw statusError({ status: answer.status, headers: answer.headers, snippet: answer.text.slice(0, 300) }, { url: url.href, who: WHO, field: 'providers', maxRetryAfterMs: context.maxRetryAfterMs });
      }
      const data = parseAnswer('tavily', WHO, tavilyAnswerSchema, answer);
      const skip = (request.page - 1) * request.maxResults;
      return data.results.slice(skip, skip + request.maxResults).map((result) => ({
        title: plainText(result.title),
        url: result.url,
        snippet: plainText(result.content),
        score: result.score ?? undefined,
        publishedDate: isoDate(result.published_date),
      }));
    },
  };
}
