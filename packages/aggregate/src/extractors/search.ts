import { field, show, words } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { UnexpectedOutputError } from '../errors.js';
import { list, maybeNum, maybeText, record, text } from './shape.js';

function asked(input: unknown): string | undefined {
  const query = show(field(input, 'query', 'q'));
  const providers = show(field(input, 'providers', 'provider'));
  return query === undefined ? undefined : words(`"${query}"`, providers !== undefined && `from ${providers}`);
}

/**
 * `search` → `{ query, provider, results, tried }`: each result is a URL sighting weighted by
 * its rank; the query itself is an item, so the same query answered by several providers
 * (or run twice) shows.
 */
export const searchExtractor: Extractor = {
  kind: 'search',
  extract(output, sink) {
    const o = record(output, 'search', 'output');
    const query = text(o.query, 'search', 'query');
    const provider = maybeText(o.provider);
    const results = list(o.results, 'search', 'results');
    sink.query(query, provider, results.length);
    for (let i = 0; i < results.length; i++) {
      const r = record(results[i], 'search', `results[${i}]`);
      if (typeof r.url !== 'string') throw new UnexpectedOutputError('search', `results[${i}].url`, 'a URL', r.url);
      sink.url(r.url, {
        title: maybeText(r.title),
        snippet: maybeText(r.snippet),
        rank: maybeNum(r.rank) ?? i + 1,
        provider: maybeText(r.provider) ?? provider,
        query,
      });
    }
    const tried = Array.isArray(o.tried) ? o.tried.filter((t): t is string => typeof t === 'string') : [];
    const failed = tried.filter((t) => t !== provider);
    if (failed.length > 0) sink.note(`search "${query}": ${failed.join(', ')} failed, ${provider ?? 'another provider'} answered`);
    if (results.length === 0) sink.note(`search "${query}"${provider !== undefined ? ` on ${provider}` : ''} found nothing`);
  },
  describe: (input, output) => {
    const query = maybeText(field(output, 'query'));
    const provider = maybeText(field(output, 'provider'));
    return query !== undefined ? words(`"${show(query)}"`, provider !== undefined && `via ${provider}`) : asked(input);
  },
  missing(input) {
    const a = asked(input);
    return a === undefined ? undefined : `results for ${a}`;
  },
};
