/**
 * The web adapters of `@fanout/adapters`: `fetch` (HTTP on undici, pooled per origin) and
 * `search` (SearXNG, Brave Search, Tavily or your own provider, in a fallback chain).
 * @module
 */
export { fetchAdapter, FETCH_DEFAULTS, type FetchAdapter, type FetchAdapterOptions } from './fetch.js';
export { addressClass, DEFAULT_ALLOWED_ADDRESSES, type AddressClass } from './addresses.js';
export { fetchInputSchema, httpUrlSchema, FETCH_METHODS, type FetchInput, type FetchOutput } from './fetch-input.js';
export { searchAdapter, SEARCH_DEFAULTS, type SearchAdapter, type SearchAdapterOptions } from './search.js';
export {
  searchInputSchema,
  domainSchema,
  BUILT_IN_PROVIDERS,
  type BuiltInProvider,
  type ProviderFailure,
  type SearchInput,
  type SearchOutput,
  type SearchResult,
} from './search-input.js';
export { notConfiguredError, resolveProviders, type ResolvedProviders, type SearchProvidersConfig } from './search-config.js';
export {
  callProvider,
  parseAnswer,
  SearchError,
  type ProviderAnswer,
  type ProviderCall,
  type ProviderContext,
  type ProviderHit,
  type SearchProvider,
  type SearchRequest,
} from './search-provider.js';
export { searxngProvider, searxngAnswerSchema, type SearxngOptions } from './providers/searxng.js';
export { braveProvider, braveAnswerSchema, type BraveOptions } from './providers/brave.js';
export { tavilyProvider, tavilyAnswerSchema, type TavilyOptions } from './providers/tavily.js';
export { HttpError, type HttpErrorOptions, type TimeoutsInForce } from './http-error.js';
export { parseRetryAfter, parseRateLimitWindows, rateLimitWaitMs, type RateLimitWindow } from './retry-after.js';
