import { describe, expect, it } from 'vitest';
import { dedupQueries, normalizeQuery } from '../src/index.js';

describe('normalizeQuery', () => {
  it.each([
    ['  What is React.useEffect()?  ', 'what is react.useeffect'],
    ['Node.js  streams?', 'node.js streams'],
    ['node.js streams', 'node.js streams'],
    ['Tips: c++ templates!', 'tips c++ templates'],
    ['C# async/await', 'c# async/await'],
    ['rust -async site:docs.rs', 'rust -async site:docs.rs'],
    ['“exact phrase” search', '"exact phrase" search'],
    ["what's new in TypeScript 5.9.", 'whats new in typescript 5.9'],
    ['ＦＵＬＬ　ｗｉｄｔｈ', 'full width'],
    ['?!…', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizeQuery(input)).toBe(expected);
  });

  it('keeps queries apart that a search engine would treat apart', () => {
    expect(normalizeQuery('c++')).not.toBe(normalizeQuery('c'));
    expect(normalizeQuery('-foo bar')).not.toBe(normalizeQuery('foo bar'));
    expect(normalizeQuery('"a b"')).not.toBe(normalizeQuery('a b'));
  });
});

describe('dedupQueries', () => {
  it('keeps the first spelling of each query, in order, and drops empty ones', () => {
    expect(dedupQueries(['React hooks', 'react  hooks?', 'vue', '  ', 'Vue!'])).toEqual(['React hooks', 'vue']);
  });

  it('reads objects through a key and says what it removed', () => {
    const removed: unknown[] = [];
    const kept = dedupQueries(
      [
        { q: 'rate limiting', category: 'primary' },
        { q: 'Rate limiting.', category: 'technical' },
        { q: '…', category: 'community' },
      ],
      { query: (item) => item.q, onRemoved: (r) => removed.push({ index: r.index, reason: r.reason, sameAs: r.sameAs }) },
    );
    expect(kept).toEqual([{ q: 'rate limiting', category: 'primary' }]);
    expect(removed).toEqual([
      { index: 1, reason: 'duplicate', sameAs: 0 },
      { index: 2, reason: 'empty', sameAs: undefined },
    ]);
  });
});
