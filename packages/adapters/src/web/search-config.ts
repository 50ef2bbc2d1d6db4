import { OptionCheck, type Clock } from '@fanout/scheduler';
import { AdapterError } from '../errors.js';
import { isHttpUrl } from './fetch-input.js';
import { braveProvider } from './providers/brave.js';
import { searxngProvider } from './providers/searxng.js';
import { tavilyProvider } from './providers/tavily.js';
import { BUILT_IN_PROVIDERS, type BuiltInProvider } from './search-input.js';
import { SearchError, type SearchProvider } from './search-provider.js';

const check = new OptionCheck(AdapterError, 'searchAdapter');

/**
 * Which providers a search adapter uses and how they are reached. Options win over the
 * environment. Environment variables read (from `env`, default `process.env`):
 *
 * | variable | provider |
 * | --- | --- |
 * | `SEARXNG_URL` | SearXNG base URL, e.g. `http://localhost:8888` (JSON output enabled) |
 * | `FANOUT_BRAVE_API_KEY`, else `BRAVE_API_KEY` | Brave Search subscription token |
 * | `TAVILY_API_KEY` | Tavily API key |
 */
export interface SearchProvidersConfig {
  /**
   * The fallback chain, in order: built-in names and providers of your own. When one fails,
   * the next is tried.
   * @default the configured built-ins, in the order searxng, brave, tavily
   */
  providers?: readonly (BuiltInProvider | SearchProvider)[];
  searxng?: { url?: string; headers?: Record<string, string>; categories?: string; engines?: string };
  brave?: { apiKey?: string; url?: string; country?: string };
  tavily?: { apiKey?: string; url?: string; searchDepth?: 'basic' | 'advanced'; topic?: 'general' | 'news' | 'finance' };
  /** Where keys and URLs are read from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Time source of Brave's rate-limit gate. @default systemClock */
  clock?: Clock;
}

/** The providers a search adapter can use, resolved once. */
export interface ResolvedProviders {
  /** Providers by name: the configured built-ins and your own. */
  providers: ReadonlyMap<string, SearchProvider>;
  /** Why a built-in is not usable, for each that is not. */
  problems: ReadonlyMap<string, string>;
  /** The default chain. */
  chain: readonly string[];
  /** Every name an input may list in `providers`. */
  names: readonly [string, ...string[]];
}

const HOW: Record<BuiltInProvider, string> = {
  searxng: 'SearXNG (self-hosted, the default): set SEARXNG_URL to its base URL (e.g. http://localhost:8888) with JSON output enabled (search.formats: [html, json] in its settings.yml), or pass searxng: { url }',
  brave: 'Brave Search: set BRAVE_API_KEY (or FANOUT_BRAVE_API_KEY) to a subscription token from api-dashboard.search.brave.com, or pass brave: { apiKey }',
  tavily: 'Tavily: set TAVILY_API_KEY to a key from app.tavily.com, or pass tavily: { apiKey }',
};

/** The error of a search with no usable provider: it says how to configure each. */
export function notConfiguredError(): SearchError {
  return new SearchError(
    'FANOUT_SEARCH_NOT_CONFIGURED',
    `expected at least one configured search provider, got none. Configure one of: ${BUILT_IN_PROVIDERS.map((name) => HOW[name]).join('; ')}. Options go to searchAdapter({ … }).`,
    { path: 'providers' },
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function urlProblem(name: BuiltInProvider, source: string, url: string): string | undefined {
  return isHttpUrl(url) ? undefined : `${name} is not usable: expected ${source} to be an absolute http:// or https:// URL, got ${JSON.stringify(url)}`;
}

/** Reads options and environment into the providers a search adapter uses. */
export function resolveProviders(config: SearchProvidersConfig): ResolvedProviders {
  const env = config.env ?? process.env;
  const providers = new Map<string, SearchProvider>();
  const problems = new Map<string, string>();

  const searxngUrl = nonEmpty(config.searxng?.url) ?? nonEmpty(env['SEARXNG_URL']);
  if (searxngUrl === undefined) problems.set('searxng', `searxng is not configured. ${HOW.searxng}`);
  else {
    const problem = urlProblem('searxng', config.searxng?.url !== undefined ? 'searxng.url' : 'SEARXNG_URL', searxngUrl);
    if (problem !== undefined) problems.set('searxng', problem);
    else providers.set('searxng', searxngProvider({ ...config.searxng, url: searxngUrl }));
  }

  const braveKey = nonEmpty(config.brave?.apiKey) ?? nonEmpty(env['FANOUT_BRAVE_API_KEY']) ?? nonEmpty(env['BRAVE_API_KEY']);
  const braveUrl = config.brave?.url;
  if (braveKey === undefined) problems.set('brave', `brave is not configured. ${HOW.brave}`);
  else if (braveUrl !== undefined && urlProblem('brave', 'brave.url', braveUrl) !== undefined) problems.set('brave', urlProblem('brave', 'brave.url', braveUrl)!);
  else providers.set('brave', braveProvider({ ...config.brave, apiKey: braveKey, ...(config.clock === undefined ? {} : { clock: config.clock }) }));

  const tavilyKey = nonEmpty(config.tavily?.apiKey) ?? nonEmpty(env['TAVILY_API_KEY']);
  const tavilyUrl = config.tavily?.url;
  if (tavilyKey === undefined) problems.set('tavily', `tavily is not configured. ${HOW.tavily}`);
  else if (tavilyUrl !== undefined && urlProblem('tavily', 'tavily.url', tavilyUrl) !== undefined) problems.set('tavily', urlProblem('tavily', 'tavily.url', tavilyUrl)!);
  else providers.set('tavily', tavilyProvider({ ...config.tavily, apiKey: tavilyKey }));

  let chain: string[];
  if (config.providers === undefined) {
    chain = BUILT_IN_PROVIDERS.filter((name) => providers.has(name));
  } else {
    chain = [];
    for (const entry of config.providers) {
      if (typeof entry === 'string') {
        if (!(BUILT_IN_PROVIDERS as readonly string[]).includes(entry)) {
          check.invalid('providers', `${BUILT_IN_PROVIDERS.join(', ')} or provider objects`, entry);
        }
        chain.push(entry);
      } else {
        if (typeof entry?.name !== 'string' || typeof entry.search !== 'function') {
          check.invalid('providers', 'provider objects with a string name and a search function', entry);
        }
        providers.set(entry.name, entry);
        problems.delete(entry.name);
        chain.push(entry.name);
      }
    }
  }
  const names = [...new Set<string>([...BUILT_IN_PROVIDERS, ...providers.keys()])] as [string, ...string[]];
  return { providers, problems, chain, names };
}
