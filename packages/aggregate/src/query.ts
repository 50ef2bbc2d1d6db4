// Punctuation that never changes what a search engine looks for: sentence marks, brackets,
// apostrophes, guillemets. Characters that do (`+` in c++, `#` in c#, `-` to exclude a term,
// `:` in site:, `"` around a phrase, `.` inside node.js) are kept.
const DROPPED = /[,;!?¿¡()[\]{}<>‚«»‹›…·]/gu;
// Apostrophes join: "what's" and "whats" are one query.
const APOSTROPHES = /['`´‘’‛]/gu;
const DOUBLE_QUOTES = /[“”„‟″]/gu;
const TRAILING = /[.:]+$/u;
const SPACE = /\s+/u;

/**
 * The identity of a search query for deduplication: Unicode NFKC, lower case, sentence
 * punctuation and brackets removed, a trailing `.` or `:` of each word removed, white space
 * collapsed. `"Node.js streams?"` and `node.js  streams` are the same query; `c++` and `c`,
 * `-foo` and `foo`, `"a b"` and `a b` are not.
 *
 * @example
 * normalizeQuery('  What is React.useEffect()?  ') // 'what is react.useeffect'
 */
export function normalizeQuery(query: string): string {
  const words = query.normalize('NFKC').toLowerCase().replace(DOUBLE_QUOTES, '"').replace(APOSTROPHES, '').replace(DROPPED, ' ').split(SPACE);
  let out = '';
  for (const word of words) {
    const w = word.replace(TRAILING, '');
    if (w === '') continue;
    out = out === '' ? w : `${out} ${w}`;
  }
  return out;
}

/** Why {@link dedupQueries} left an item out. */
export interface RemovedQuery<T> {
  item: T;
  /** Its position in the list given. */
  index: number;
  reason: 'duplicate' | 'empty';
  /** For a duplicate, the position of the item it repeats. */
  sameAs?: number;
}

/** Options of {@link dedupQueries}. */
export interface DedupQueriesOptions<T> {
  /** The query text of an item. @default the item itself (a list of strings) */
  query?: (item: T) => string;
  /** Told about each item left out. */
  onRemoved?: (removed: RemovedQuery<T>) => void;
}

/**
 * The list without queries that repeat an earlier one once normalised (see
 * {@link normalizeQuery}), nor queries that normalise to nothing: the first spelling is
 * kept, in the original order. Plan builders call it before they run searches, so that an
 * exact duplicate query is never run twice.
 *
 * @example
 * dedupQueries(['React hooks', 'react  hooks?', 'vue']) // ['React hooks', 'vue']
 * dedupQueries(plan, { query: (q) => q.text, onRemoved: (r) => log(r) })
 */
export function dedupQueries<T = string>(list: readonly T[], options: DedupQueriesOptions<T> = {}): T[] {
  const text = options.query ?? ((item: T) => item as unknown as string);
  const seen = new Map<string, number>();
  const kept: T[] = [];
  list.forEach((item, index) => {
    const key = normalizeQuery(text(item));
    if (key === '') {
      options.onRemoved?.({ item, index, reason: 'empty' });
      return;
    }
    const first = seen.get(key);
    if (first !== undefined) {
      options.onRemoved?.({ item, index, reason: 'duplicate', sameAs: first });
      return;
    }
    seen.set(key, index);
    kept.push(item);
  });
  return kept;
}
