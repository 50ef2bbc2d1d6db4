import { createScheduler, type Limiter, type LimiterSample } from '@fanout/scheduler';
import { ManualClock } from '@fanout/scheduler/testing';
import type { ServerResponse } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { AdapterError } from '../../src/errors.js';
import { searchAdapter, SearchError, type SearchAdapter, type SearchAdapterOptions, type SearchOutput, type SearchProvider } from '../../src/web/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { attemptContext, eventually, startServer, type SeenRequest, type TestServer } from './http-server.js';

// ─── Fake providers speaking each documented format ────────────────────────────────────────

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** A SearXNG answer (searx/webapp.py, format=json) with the fields a real instance sends. */
function searxngAnswer(q: string): unknown {
  const result = (url: unknown, title: string, content: string, extra: Record<string, unknown> = {}) => ({
    url,
    title,
    content,
    engine: 'duckduckgo',
    engines: ['duckduckgo', 'bing'],
    positions: [1, 3],
    score: 2.5,
    category: 'general',
    template: 'default.html',
    parsed_url: ['https', 'x', '/', '', '', ''],
    publishedDate: null,
    ...extra,
  });
  return {
    query: q,
    number_of_results: 0,
    results: [
      result('https://docs.example.com/pool', 'Undici &amp; pools', 'Connection <b>pooling</b>\n in undici', { score: 4 }),
      result('https://blog.other.org/post', 'A post', 'About pools', { publishedDate: '2024-03-01T10:00:00', score: 3 }),
      result('magnet:?xt=urn:btih:abc', 'A torrent', 'not http'),
      result('https://docs.example.com/pool', 'Undici pools (again)', 'duplicate'),
      result('https://www.example.com/c', 'Example C', 'Third', { score: 1 }),
    ],
    answers: [],
    corrections: [],
    infoboxes: [],
    suggestions: ['undici agent'],
    unresponsive_engines: [],
  };
}

const BRAVE_KEY = 'brave-key';
const TAVILY_KEY = 'tvly-key';
const BRAVE_WINDOWS = { 'x-ratelimit-limit': '1, 15000', 'x-ratelimit-policy': '1;w=1, 15000;w=2592000' };

/** Brave's web search answer: results under web.results[]. */
function braveAnswer(q: string): unknown {
  return {
    type: 'search',
    query: { original: q, more_results_available: true },
    mixed: { type: 'mixed', main: [] },
    web: {
      type: 'search',
      family_friendly: true,
      results: [
        {
          type: 'search_result',
          title: 'The <strong>undici</strong> client',
          url: 'https://undici.nodejs.org/',
          description: 'An HTTP/1.1 client, written from scratch for <strong>Node.js</strong> &amp; more',
          page_age: '2025-02-03T04:05:06',
          age: 'February 3, 2025',
          meta_url: { scheme: 'https', netloc: 'undici.nodejs.org', hostname: 'undici.nodejs.org', path: '' },
          extra_snippets: ['More text'],
        },
        { type: 'search_result', title: 'No description', url: 'https://example.net/x', extra_snippets: ['From extra snippets'], age: '2 days ago' },
      ],
    },
  };
}

let providers: TestServer;
const calls = new Map<string, number>();

function count(key: string): number {
  const n = (calls.get(key) ?? 0) + 1;
  calls.set(key, n);
  return n;
}

function searxng(request: SeenRequest, response: ServerResponse, url: URL): void {
  const q = url.searchParams.get('q') ?? '';
  if (url.searchParams.get('format') !== 'json') return json(response, 400, { error: 'expected format=json in these tests' });
  if (q.startsWith('slow')) return; // never answers
  if (q === 'fail500') return json(response, 500, { error: 'engine crashed' });
  if (q === 'busy') return json(response, 503, { error: 'busy' }, { 'retry-after': '5' });
  if (q === 'broken') {
    const answer = searxngAnswer(q) as { results: { url: unknown }[] };
    answer.results[1]!.url = 42;
    return json(response, 200, answer);
  }
  if (q === 'captcha')
    return json(response, 200, {
      ...(searxngAnswer(q) as object),
      results: [],
      unresponsive_engines: [
        ['google', 'CAPTCHA'],
        ['bing', 'timeout'],
      ],
    });
  if (q === 'many') {
    const results = Array.from({ length: 40 }, (_, i) => ({ url: `https://example.com/${i}`, title: `r${i}`, content: '', engine: 'bing' }));
    return json(response, 200, { query: q, results });
  }
  void request;
  json(response, 200, searxngAnswer(q));
}

function brave(request: SeenRequest, response: ServerResponse, url: URL): void {
  if (request.headers['x-subscription-token'] !== BRAVE_KEY) {
    return json(response, 401, { type: 'ErrorResponse', error: { code: 'SUBSCRIPTION_TOKEN_INVALID', detail: 'The provided subscription token is invalid.', status: 401 } });
  }
  const q = url.searchParams.get('q') ?? '';
  if (q === 'limited' && count('brave:limited') === 1) {
    return json(response, 429, { type: 'ErrorResponse', error: { code: 'RATE_LIMITED', status: 429 } }, { ...BRAVE_WINDOWS, 'x-ratelimit-remaining': '0, 14000', 'x-ratelimit-reset': '1, 2419200' });
  }
  if (q === 'quota') {
    return json(response, 429, { type: 'ErrorResponse', error: { code: 'RATE_LIMITED', status: 429 } }, { ...BRAVE_WINDOWS, 'x-ratelimit-remaining': '1, 0', 'x-ratelimit-reset': '1, 2419200' });
  }
  if (q === 'exhaust') return json(response, 200, braveAnswer(q), { ...BRAVE_WINDOWS, 'x-ratelimit-remaining': '0, 100', 'x-ratelimit-reset': '2, 1000' });
  json(response, 200, braveAnswer(q), { ...BRAVE_WINDOWS, 'x-ratelimit-remaining': '1, 14000', 'x-ratelimit-reset': '1, 2419200' });
}

function tavily(request: SeenRequest, response: ServerResponse): void {
  if (request.method !== 'POST') return json(response, 405, { detail: { error: 'Method Not Allowed' } });
  if (request.headers.authorization !== `Bearer ${TAVILY_KEY}`) return json(response, 401, { detail: { error: 'Unauthorized: missing or invalid API key.' } });
  const body = JSON.parse(request.body) as { query: string; max_results: number };
  if (body.query === 'fail') return json(response, 500, { detail: { error: 'Internal error' } });
  json(response, 200, {
    query: body.query,
    follow_up_questions: null,
    answer: null,
    images: [],
    results: [
      { title: 'Tavily one', url: 'https://one.example.com/', content: 'First &quot;result&quot;', score: 0.91, raw_content: null, published_date: 'Mon, 10 Mar 2025 08:00:00 GMT' },
      { title: 'Tavily two', url: 'https://two.example.org/', content: 'Second', score: 0.52, raw_content: null },
      { title: 'Tavily three', url: 'https://three.example.org/', content: 'Third', score: 0.3, raw_content: null },
    ].slice(0, body.max_results),
    response_time: 1.23,
    request_id: '123e4567-e89b-12d3-a456-426614174111',
  });
}

// Started at load: the conformance subject below needs the providers' URLs when it is built.
providers = await startServer((request, response) => {
  const url = new URL(request.url, providers.origin);
  if (url.pathname === '/searxng/search') return searxng(request, response, url);
  if (url.pathname === '/searxng-nojson/search') return json(response, 403, { error: 'format not allowed' });
  if (url.pathname === '/brave/res/v1/web/search') return brave(request, response, url);
  if (url.pathname === '/tavily/search') return tavily(request, response);
  json(response, 404, { error: `no route ${url.pathname}` });
});

const made: SearchAdapter[] = [];
afterAll(async () => {
  await Promise.all(made.map((adapter) => adapter.close()));
  await providers.close();
});

function adapterWith(options: SearchAdapterOptions = {}): SearchAdapter {
  const adapter = searchAdapter({
    env: {},
    searxng: { url: `${providers.origin}/searxng` },
    brave: { apiKey: BRAVE_KEY, url: `${providers.origin}/brave/res/v1` },
    tavily: { apiKey: TAVILY_KEY, url: `${providers.origin}/tavily` },
    ...options,
  });
  made.push(adapter);
  return adapter;
}

async function search(adapter: SearchAdapter, input: Record<string, unknown>): Promise<SearchOutput> {
  return adapter.run(adapter.input.parse(input), attemptContext());
}

async function searchFails(adapter: SearchAdapter, input: Record<string, unknown>): Promise<AdapterError> {
  try {
    await search(adapter, input);
  } catch (error) {
    expect(error).toBeInstanceOf(AdapterError);
    return error as AdapterError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to fail`);
}

function lastRequest(pathname: string): { request: SeenRequest; url: URL } {
  const request = providers.requests.filter((r) => new URL(r.url, providers.origin).pathname === pathname).at(-1)!;
  return { request, url: new URL(request.url, providers.origin) };
}

// ─── Tests ─────────────────────────────────────────────────────────────────────────────────

describe('search: providers, normalised to one shape', () => {
  it('SearXNG: GET /search?format=json with its parameters; plain text, ranks, http only, no duplicates', async () => {
    const output = await search(adapterWith(), { query: 'undici pools', page: 2, language: 'en-US', timeRange: 'month', safeSearch: 'strict' });
    expect(output).toMatchObject({ query: 'undici pools', provider: 'searxng', tried: ['searxng'], failures: [] });
    expect(output.results).toEqual([
      { title: 'Undici & pools', url: 'https://docs.example.com/pool', snippet: 'Connection pooling in undici', score: 4, rank: 1, provider: 'searxng' },
      { title: 'A post', url: 'https://blog.other.org/post', snippet: 'About pools', score: 3, rank: 2, provider: 'searxng', publishedDate: '2024-03-01T10:00:00.000Z' },
      { title: 'Example C', url: 'https://www.example.com/c', snippet: 'Third', score: 1, rank: 3, provider: 'searxng' },
    ]);
    const { url } = lastRequest('/searxng/search');
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'undici pools', format: 'json', pageno: '2', categories: 'general', language: 'en-US', time_range: 'month', safesearch: '2' });
  });

  it('Brave Search: X-Subscription-Token, count and offset; markup removed, page_age as the date', async () => {
    const output = await search(adapterWith({ providers: ['brave'] }), { query: 'undici', maxResults: 30, page: 3, timeRange: 'week', safeSearch: 'moderate', language: 'fr-FR' });
    expect(output.provider).toBe('brave');
    expect(output.results).toEqual([
      { title: 'The undici client', url: 'https://undici.nodejs.org/', snippet: 'An HTTP/1.1 client, written from scratch for Node.js & more', rank: 1, provider: 'brave', publishedDate: '2025-02-03T04:05:06.000Z' },
      { title: 'No description', url: 'https://example.net/x', snippet: 'From extra snippets', rank: 2, provider: 'brave' },
    ]);
    const { request, url } = lastRequest('/brave/res/v1/web/search');
    expect(request.headers['x-subscription-token']).toBe(BRAVE_KEY);
    expect(request.headers.accept).toBe('application/json');
    expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'undici', count: '20', offset: '2', search_lang: 'fr', safesearch: 'moderate', freshness: 'pw' });
  });

  it('Tavily: POST /search with a bearer token and native domain filters', async () => {
    const output = await search(adapterWith({ providers: ['tavily'] }), { query: 'pools', maxResults: 2, includeDomains: ['example.com', 'example.org'], excludeDomains: ['two.example.org'], timeRange: 'day' });
    expect(output.results).toEqual([{ title: 'Tavily one', url: 'https://one.example.com/', snippet: 'First "result"', score: 0.91, rank: 1, provider: 'tavily', publishedDate: '2025-03-10T08:00:00.000Z' }]);
    const { request } = lastRequest('/tavily/search');
    expect(request.headers.authorization).toBe(`Bearer ${TAVILY_KEY}`);
    expect(JSON.parse(request.body)).toEqual({
      query: 'pools',
      max_results: 2,
      search_depth: 'basic',
      topic: 'general',
      include_domains: ['example.com', 'example.org'],
      exclude_domains: ['two.example.org'],
      time_range: 'day',
    });
  });

  it('Tavily pages: page p asks for p × maxResults and returns that page', async () => {
    const output = await search(adapterWith({ providers: ['tavily'] }), { query: 'pools', maxResults: 1, page: 2 });
    expect(output.results.map((r) => [r.title, r.rank])).toEqual([['Tavily two', 1]]);
    expect(JSON.parse(lastRequest('/tavily/search').request.body).max_results).toBe(2);
  });

  it('filters by domain (subdomains included) and puts site: operators in the query', async () => {
    const adapter = adapterWith();
    const included = await search(adapter, { query: 'pools', includeDomains: ['Example.com'] });
    expect(included.results.map((r) => r.url)).toEqual(['https://docs.example.com/pool', 'https://www.example.com/c']);
    expect(lastRequest('/searxng/search').url.searchParams.get('q')).toBe('pools site:example.com');
    const excluded = await search(adapter, { query: 'pools', excludeDomains: ['example.com'] });
    expect(excluded.results.map((r) => [r.url, r.rank])).toEqual([['https://blog.other.org/post', 1]]);
    expect(lastRequest('/searxng/search').url.searchParams.get('q')).toBe('pools -site:example.com');
  });

  it('cuts to maxResults and ranks from 1', async () => {
    const output = await search(adapterWith(), { query: 'many', maxResults: 7 });
    expect(output.results.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('takes providers of your own in the chain', async () => {
    const mine: SearchProvider = {
      name: 'local-index',
      async search(request) {
        return [{ title: `hit for ${request.query}`, url: 'https://local.test/1', snippet: 'from my index' }];
      },
    };
    const adapter = adapterWith({ providers: ['searxng', mine] });
    const output = await search(adapter, { query: 'fail500', providers: ['local-index'] });
    expect(output).toMatchObject({ provider: 'local-index', results: [{ title: 'hit for fail500', rank: 1, provider: 'local-index' }] });
    expect(adapter.key!(adapter.input.parse({ query: 'x' }))).toBe('searxng');
    expect(adapter.key!(adapter.input.parse({ query: 'x', providers: ['local-index'] }))).toBe('local-index');
  });
});

describe('search: the fallback chain', () => {
  it('tries the next provider when one fails, and says which were tried and why', async () => {
    const output = await search(adapterWith({ providers: ['searxng', 'brave'] }), { query: 'fail500' });
    expect(output.provider).toBe('brave');
    expect(output.tried).toEqual(['searxng', 'brave']);
    expect(output.failures).toHaveLength(1);
    expect(output.failures[0]).toMatchObject({ provider: 'searxng', code: 'FANOUT_HTTP_STATUS' });
    expect(output.failures[0]!.message).toMatch(/got status 500/);
  });

  it('moves on when SearXNG answers nothing because its engines failed', async () => {
    const output = await search(adapterWith({ providers: ['searxng', 'tavily'] }), { query: 'captcha' });
    expect(output.provider).toBe('tavily');
    expect(output.failures[0]!.message).toMatch(/google: CAPTCHA, bing: timeout/);
  });

  it('when every provider fails, one error lists them, retryable after the shortest wait if any is', async () => {
    const adapter = adapterWith({ providers: ['searxng', 'tavily'], tavily: { apiKey: 'wrong', url: `${providers.origin}/tavily` } });
    const error = await searchFails(adapter, { query: 'busy' });
    expect(error.code).toBe('FANOUT_SEARCH_FAILED');
    expect(error.message).toMatch(/searxng: \[FANOUT_HTTP_STATUS\].*503.*tavily: \[FANOUT_HTTP_STATUS\].*401/);
    expect(adapter.classify!(error)).toEqual({ class: 'drop', retryAfterMs: 5000 });
  });

  it('with one provider, its own error comes back as it is', async () => {
    const error = await searchFails(adapterWith({ providers: ['tavily'] }), { query: 'fail' });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_STATUS', status: 500 });
    expect(error.classification).toEqual({ class: 'retryable' });
  });
});

describe('search: configuration', () => {
  it('without any provider, FANOUT_SEARCH_NOT_CONFIGURED says how to configure each', async () => {
    const adapter = searchAdapter({ env: {} });
    made.push(adapter);
    expect(adapter.chain).toEqual([]);
    const result = await createScheduler({ adapters: [adapter] }).execute({ operations: [{ id: 'q', kind: 'search', input: { query: 'x' } }] });
    const op = result.get('q')!;
    expect(op.state).toBe('failed');
    const error = op.error as SearchError;
    expect(error.code).toBe('FANOUT_SEARCH_NOT_CONFIGURED');
    for (const hint of ['SEARXNG_URL', 'search.formats', 'BRAVE_API_KEY', 'FANOUT_BRAVE_API_KEY', 'TAVILY_API_KEY', 'searchAdapter']) expect(error.message).toContain(hint);
    expect(op.attempts).toBe(1);
  });

  it('refuses bad options by name', () => {
    expect(() => searchAdapter({ env: {}, providers: ['google' as 'brave'] })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'providers' }));
    expect(() => searchAdapter({ env: {}, maxConcurrency: 0 })).toThrow(/expected maxConcurrency to be a positive number/);
    expect(searchAdapter({ env: {} }).defaults).toMatchObject({ maxConcurrency: 32, optimalConcurrency: 16, idempotent: true });
  });

  it('reads keys and URLs from the environment, FANOUT_BRAVE_API_KEY before BRAVE_API_KEY', async () => {
    const adapter = searchAdapter({
      env: { SEARXNG_URL: `${providers.origin}/searxng`, BRAVE_API_KEY: 'stale', FANOUT_BRAVE_API_KEY: BRAVE_KEY },
      brave: { url: `${providers.origin}/brave/res/v1` },
    });
    made.push(adapter);
    expect(adapter.chain).toEqual(['searxng', 'brave']);
    expect((await search(adapter, { query: 'q', providers: ['brave'] })).results).toHaveLength(2);
  });

  it('names the provider that is not configured when a search asks for it', async () => {
    const adapter = searchAdapter({ env: { SEARXNG_URL: `${providers.origin}/searxng` } });
    made.push(adapter);
    const error = await searchFails(adapter, { query: 'q', providers: ['tavily'] });
    expect(error).toMatchObject({ code: 'FANOUT_SEARCH_NOT_CONFIGURED', path: 'providers' });
    expect(error.message).toMatch(/tavily is not configured.*TAVILY_API_KEY/);
    const bad = searchAdapter({ env: { SEARXNG_URL: 'localhost:8888' } });
    made.push(bad);
    expect(bad.chain).toEqual([]);
    expect((await searchFails(bad, { query: 'q', providers: ['searxng'] })).message).toMatch(/expected SEARXNG_URL to be an absolute http/);
  });

  it('explains a 403 from SearXNG: JSON output is not enabled', async () => {
    const error = await searchFails(adapterWith({ searxng: { url: `${providers.origin}/searxng-nojson` }, providers: ['searxng'] }), { query: 'q' });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_STATUS', status: 403 });
    expect(error.message).toMatch(/JSON output is not enabled.*settings\.yml/);
    expect(error.classification.class).toBe('fatal');
  });

  it('a bad API key is fatal and says what the provider answered', async () => {
    const error = await searchFails(adapterWith({ providers: ['brave'], brave: { apiKey: 'nope', url: `${providers.origin}/brave/res/v1` } }), { query: 'q' });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_STATUS', status: 401 });
    expect(error.message).toMatch(/Brave Search.*SUBSCRIPTION_TOKEN_INVALID/);
  });

  it('an answer that does not match the format names the provider and the field', async () => {
    const error = (await searchFails(adapterWith({ providers: ['searxng'] }), { query: 'broken' })) as SearchError;
    expect(error).toBeInstanceOf(SearchError);
    expect(error).toMatchObject({ code: 'FANOUT_SEARCH_RESPONSE', provider: 'searxng', field: 'results[1].url' });
    expect(error.message).toMatch(/^searxng: results\[1\]\.url of the answer: expected string, got number 42$/);
  });
});

describe('search: rate limits', () => {
  it('a Brave 429 waits for the exhausted window (from X-RateLimit-Reset) and feeds the limiter a drop', async () => {
    calls.delete('brave:limited');
    const clock = new ManualClock();
    const outcomes: string[] = [];
    const recording = (options: { initial: number }): Limiter => ({
      limit: options.initial,
      onSample(sample: LimiterSample) {
        outcomes.push(sample.outcome);
      },
    });
    const adapter = adapterWith({ providers: ['brave'], clock });
    let attempts = 0;
    const counted = { ...adapter, run: (input: Parameters<typeof adapter.run>[0], context: Parameters<typeof adapter.run>[1]) => (attempts++, adapter.run(input, context)) };
    const run = createScheduler({ adapters: [counted], clock, random: () => 0.5 }).run({ operations: [{ id: 'q', kind: 'search', input: { query: 'limited' } }] }, { limits: { search: { limiter: recording } } });
    let delay: number | undefined;
    run.on((event) => {
      if (event.type === 'op-retrying') delay = event.delayMs;
    });
    expect(await eventually(() => delay !== undefined)).toBe(true);
    expect(delay).toBeGreaterThanOrEqual(1000);
    clock.advance(999);
    expect(attempts).toBe(1);
    clock.advance(delay! - 999);
    expect(attempts).toBe(2);
    const result = await run.result;
    expect(result.get('q')!.state).toBe('succeeded');
    expect(outcomes).toEqual(['drop', 'ok']);
  });

  it('an exhausted monthly quota is not waited for', async () => {
    const error = await searchFails(adapterWith({ providers: ['brave'] }), { query: 'quota' });
    expect(error.classification).toEqual({ class: 'fatal' });
    expect(error.message).toMatch(/longer than maxRetryAfterMs/);
  });

  it('an answer that exhausts a window holds the next Brave request until the window resets', async () => {
    const clock = new ManualClock();
    const adapter = adapterWith({ providers: ['brave'], clock });
    const sent = () => providers.requests.filter((r) => r.url.startsWith('/brave/')).length;
    await search(adapter, { query: 'exhaust' });
    const before = sent();
    const next = search(adapter, { query: 'after' });
    // The request waits on the clock until the 2 s window has reset, and not a moment less.
    expect(clock.nextAt).toBe(2000);
    clock.advance(1999);
    expect(clock.pending).toBe(1);
    expect(sent()).toBe(before);
    clock.advance(1);
    expect(clock.pending).toBe(0);
    expect((await next).provider).toBe('brave');
    expect(sent()).toBe(before + 1);
  });
});

// ─── The shared conformance suite, against SearXNG ─────────────────────────────────────────

const conformanceAdapter = adapterWith({ providers: ['searxng'] });
let slowCount = 0;

describeConformance({
  adapter: conformanceAdapter,
  valid: async () => ({ input: conformanceAdapter.input.parse({ query: 'undici' }) }),
  invalid: [
    { input: { query: '' }, field: 'query' },
    { input: { query: 'x'.repeat(401) }, field: 'query' },
    { input: { query: 'x', maxResults: 0 }, field: 'maxResults' },
    { input: { query: 'x', providers: ['google'] }, field: 'providers' },
    { input: { query: 'x', includeDomains: ['https://example.com/path'] }, field: 'includeDomains' },
    { input: { query: 'x', timeRange: 'decade' }, field: 'timeRange' },
    { input: { query: 'x', colour: 'blue' }, field: 'colour' },
  ],
  slow: async () => {
    const q = `slow-${++slowCount}`;
    const socketOf = () => providers.requests.find((r) => new URL(r.url, providers.origin).searchParams.get('q') === q)?.socket;
    return {
      input: conformanceAdapter.input.parse({ query: q }),
      stopped: async () => {
        const socket = socketOf();
        return socket !== undefined && providers.closed(socket);
      },
    };
  },
});
