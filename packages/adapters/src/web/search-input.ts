import { z } from 'zod';

/** The providers this package ships. */
export const BUILT_IN_PROVIDERS = ['searxng', 'brave', 'tavily'] as const;
/** The name of a provider this package ships. */
export type BuiltInProvider = (typeof BUILT_IN_PROVIDERS)[number];

// A host name as RFC 1123 allows it (labels of letters, digits and hyphens), lower-cased.
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A bare domain (`example.com`); its subdomains match too. */
export const domainSchema = z
  .string()
  .transform((value) => value.trim().toLowerCase().replace(/\.$/, ''))
  .refine((value) => DOMAIN.test(value), { message: 'expected a bare domain such as "example.com" (no scheme, path or port)' });

/**
 * Builds the search input schema; `providers` accepts the names of the providers the adapter
 * knows.
 */
export function searchInputSchema(providerNames: readonly [string, ...string[]]) {
  return z.strictObject({
    /** What to search for (at most 400 characters: Brave's limit). */
    query: z.string().trim().min(1, { message: 'expected a non-empty query' }).max(400),
    /** Most results returned (Brave and Tavily give at most 20 a search). @default 10 */
    maxResults: z.number().int().min(1).max(50).optional(),
    /** Page of results, from 1. @default 1 */
    page: z.number().int().min(1).max(10).optional(),
    /** Providers to try in order, overriding the adapter's chain. */
    providers: z.array(z.enum(providerNames)).min(1).optional(),
    /** Only results from these domains (and their subdomains). */
    includeDomains: z.array(domainSchema).max(50).optional(),
    /** No results from these domains (and their subdomains). */
    excludeDomains: z.array(domainSchema).max(50).optional(),
    /** Language of the results, e.g. `en` or `fr-FR`. */
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { message: 'expected a language tag such as "en" or "fr-FR"' })
      .optional(),
    /** Only results published within this range. */
    timeRange: z.enum(['day', 'week', 'month', 'year']).optional(),
    /** @default the provider's own default */
    safeSearch: z.enum(['off', 'moderate', 'strict']).optional(),
  });
}

/** A search operation's input. */
export interface SearchInput {
  query: string;
  /** @default 10 */
  maxResults?: number | undefined;
  /** @default 1 */
  page?: number | undefined;
  providers?: string[] | undefined;
  includeDomains?: string[] | undefined;
  excludeDomains?: string[] | undefined;
  language?: string | undefined;
  timeRange?: 'day' | 'week' | 'month' | 'year' | undefined;
  safeSearch?: 'off' | 'moderate' | 'strict' | undefined;
}

/** One result, the same shape whichever provider found it. */
export interface SearchResult {
  title: string;
  url: string;
  /** Plain text (provider markup removed). */
  snippet: string;
  /** The provider's relevance score, when it gives one (SearXNG, Tavily). */
  score?: number;
  /** Rank in this result list, from 1. */
  rank: number;
  provider: string;
  /** ISO 8601, when the provider gives a date it can be read from. */
  publishedDate?: string;
}

/** A provider that failed before another answered. */
export interface ProviderFailure {
  provider: string;
  code: string;
  message: string;
}

/** What a search returns. */
export interface SearchOutput {
  query: string;
  /** The provider that answered. */
  provider: string;
  results: SearchResult[];
  /** The providers tried, in order; the last one answered. */
  tried: string[];
  /** Why the providers before the last one failed. */
  failures: ProviderFailure[];
}
