import { dedupQueries } from '@fanout/aggregate';
import type { OperationSpec, Plan } from '@fanout/scheduler';
import { profileSize, WEB_CATEGORIES } from '../profiles.js';

/** Query templates per category, most useful first; `{t}` is the topic. */
const TEMPLATES: Record<(typeof WEB_CATEGORIES)[number]['name'], readonly string[]> = {
  primary: ['{t}', '{t} overview', 'what is {t}', '{t} guide', '{t} tutorial', '{t} best practices', '{t} explained', '{t} introduction', '{t} how it works'],
  'technical documentation': ['{t} documentation', '{t} reference', '{t} specification', '{t} manual', '{t} docs getting started', '{t} configuration', '{t} architecture'],
  'code examples': ['{t} example code', '{t} github', '{t} sample project', '{t} code snippet', '{t} implementation'],
  'API documentation': ['{t} API', '{t} API reference', '{t} SDK', '{t} REST API', '{t} API examples'],
  frameworks: ['{t} framework', '{t} library', '{t} alternatives', '{t} comparison', '{t} ecosystem'],
  performance: ['{t} performance', '{t} benchmark', '{t} optimization', '{t} scalability'],
  security: ['{t} security', '{t} vulnerabilities', '{t} security best practices'],
  community: ['{t} discussion', '{t} forum', '{t} stack overflow'],
};

/** How many searches each category gets at each depth (comprehensive: WEB_CATEGORIES' counts, 32 in all). */
function perCategory(depth: 'simple' | 'complex' | 'comprehensive'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const category of WEB_CATEGORIES) {
    counts.set(category.name, depth === 'simple' ? 1 : depth === 'complex' ? 2 : category.searches);
  }
  return counts;
}

/** Options of {@link exploreWeb}. */
export interface ExploreWebOptions {
  /** @default "simple" */
  depth?: 'simple' | 'complex' | 'comprehensive';
  /** Results asked of each search. @default 10 */
  resultsPerSearch?: number;
  /** Pages fetched: the URLs most searches agree on. @default 8, 12, 20 by depth */
  fetches?: number;
  /** Searches that must agree on a URL before it is fetched. @default 2 */
  agreement?: number;
}

/**
 * The query matrix for a topic across WEB_CATEGORIES (profiles.ts), sized 8 / 16 / 32, with
 * duplicate queries removed (after normalising them) before anything runs.
 */
export function webQueries(topic: string, depth: 'simple' | 'complex' | 'comprehensive'): { category: string; query: string }[] {
  const wanted = perCategory(depth);
  const queries: { category: string; query: string }[] = [];
  for (const category of WEB_CATEGORIES) {
    const templates = TEMPLATES[category.name];
    for (const template of templates.slice(0, wanted.get(category.name) ?? 0)) queries.push({ category: category.name, query: template.replaceAll('{t}', topic.trim()) });
  }
  return dedupQueries(queries, { query: (q) => q.query });
}

/**
 * Plans a web exploration: the query matrix searched in parallel (primary first), the URLs
 * several searches agree on, fetched; the aggregator then dedups and ranks what came back.
 */
export function exploreWeb(topic: string, options: ExploreWebOptions = {}): Plan {
  const depth = options.depth ?? 'simple';
  if (profileSize('explore-web', depth) === undefined) throw new RangeError(`expected depth simple, complex or comprehensive, got ${JSON.stringify(depth)}`);
  if (topic.trim() === '') throw new RangeError('expected a topic, got an empty string');
  const queries = webQueries(topic, depth);
  const operations: OperationSpec[] = queries.map(({ category, query }, i) => ({
    id: `search-${i + 1}`,
    kind: 'search',
    // Categories in WEB_CATEGORIES' order: primary first, then the most specific.
    priority: WEB_CATEGORIES.length - WEB_CATEGORIES.findIndex((c) => c.name === category),
    input: { query, maxResults: options.resultsPerSearch ?? 10 },
  }));
  const fetches = options.fetches ?? (depth === 'simple' ? 8 : depth === 'complex' ? 12 : 20);
  operations.push({
    id: 'agree',
    kind: 'agree-urls',
    input: { sources: operations.map((op) => ({ $ref: op.id, optional: true })), min: options.agreement ?? 2, limit: fetches },
  });
  operations.push({
    id: 'fetch-agreed',
    kind: 'fetch',
    input: { url: { $item: true }, as: 'text', maxBytes: 512 * 1024 },
    forEach: { $ref: 'agree', path: 'urls' },
  });
  return { name: `explore-web (${depth}) ${topic}`, operations, policy: { failure: 'continue' } };
}
