import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTrackingParam, normalizeUrl, urlDomain } from '../src/index.js';
import { normalizeUrlSlow } from '../src/url.js';

describe('normalizeUrl', () => {
  it.each([
    ['HTTPS://Example.COM/Docs', 'https://example.com/Docs'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['https://example.com:443/a', 'https://example.com/a'],
    ['https://example.com:8443/a', 'https://example.com:8443/a'],
    ['https://example.com/a#section-2', 'https://example.com/a'],
    ['https://example.com/docs/', 'https://example.com/docs'],
    ['https://example.com/docs///', 'https://example.com/docs'],
    ['https://example.com/', 'https://example.com/'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com/?', 'https://example.com/'],
    ['https://example.com/a?utm_source=x&utm_medium=y', 'https://example.com/a'],
    ['https://example.com/a?b=2&fbclid=1&a=1&gclid=z', 'https://example.com/a?a=1&b=2'],
    ['https://example.com/a?UTM_Campaign=1&q=x', 'https://example.com/a?q=x'],
    ['https://example.com/a?x=2&x=1', 'https://example.com/a?x=2&x=1'],
    ['https://user:secret@example.com/a', 'https://example.com/a'],
    ['https://example.com/a/./b/../c', 'https://example.com/a/c'],
    ['https://example.com/a b', 'https://example.com/a%20b'],
    ['https://bücher.example/x', 'https://xn--bcher-kva.example/x'],
    ['http://0x7f.1/', 'http://127.0.0.1/'],
    ['https://[::1]:443/x', 'https://[::1]/x'],
    ['mailto:someone@example.com#x', 'mailto:someone@example.com'],
    ['  not a url  ', 'not a url'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeUrl(input)).toBe(expected);
  });

  it('keeps the query order when asked, and takes a custom tracking rule', () => {
    expect(normalizeUrl('https://a.io/?b=1&a=2', { sortQuery: false })).toBe('https://a.io/?b=1&a=2');
    expect(normalizeUrl('https://a.io/?ref=x&a=2', { isTracking: (name) => name === 'ref' })).toBe('https://a.io/?a=2');
  });

  it('knows the tracking parameters', () => {
    for (const name of ['utm_source', 'utm_anything', 'fbclid', 'gclid', 'msclkid', 'GCLID']) expect(isTrackingParam(name)).toBe(true);
    for (const name of ['q', 'page', 'id', 'utm']) expect(isTrackingParam(name)).toBe(false);
  });

  // The fast path must give what the WHATWG parser gives, on URLs built to hit its edges:
  // mixed case, ports (default, leading zeros, out of range), numeric and punycode hosts,
  // dot segments, characters on both sides of the percent-encode sets, tracking parameters.
  const label = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,6}$/);
  const host = fc.oneof(
    fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')),
    fc.constantFrom('127.0.0.1', '0x7f.1', 'xn--bcher-kva.example', 'EXAMPLE.com.', '1.2.3', 'a.0x10'),
  );
  const segment = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,8}$/), fc.constantFrom('.', '..', '%2e', '.%2E', '.well-known', 'a b', 'ü', '{x}', '^', '|', '"', '`', 'a\\b'));
  const pair = fc.oneof(
    fc.tuple(fc.stringMatching(/^[a-z_]{1,6}$/), fc.stringMatching(/^[A-Za-z0-9%+/?:@-]{0,6}$/)).map(([k, v]) => `${k}=${v}`),
    fc.constantFrom('utm_source=news', 'fbclid=abc', 'gclid=1', 'flag', '', "q='x'", 'a=[1]', 'x=y|z'),
  );
  const url = fc
    .record({
      scheme: fc.constantFrom('http', 'https', 'HTTPS', 'Http'),
      host,
      port: fc.option(fc.constantFrom('', '80', '443', '8080', '0080', '65535', '65536'), { nil: undefined }),
      path: fc.array(segment, { maxLength: 5 }),
      slash: fc.boolean(),
      query: fc.option(fc.array(pair, { maxLength: 5 }), { nil: undefined }),
      fragment: fc.option(fc.stringMatching(/^[A-Za-z0-9 #-]{0,6}$/), { nil: undefined }),
    })
    .map(
      ({ scheme, host, port, path, slash, query, fragment }) =>
        `${scheme}://${host}${port === undefined ? '' : `:${port}`}${path.length > 0 ? `/${path.join('/')}` : ''}${slash ? '/' : ''}${query === undefined ? '' : `?${query.join('&')}`}${fragment === undefined ? '' : `#${fragment}`}`,
    );

  it('leaves punycode hosts, in any case, to the WHATWG parser (a counterexample fast-check found)', () => {
    expect(normalizeUrl('http://xN--')).toBe(normalizeUrlSlow('http://xN--'));
    expect(normalizeUrl('http://XN--80AK6AA92E.com/')).toBe(normalizeUrlSlow('http://XN--80AK6AA92E.com/'));
  });

  it('agrees with the WHATWG parser on the fast path (property)', () => {
    fc.assert(
      fc.property(url, (u) => {
        expect(normalizeUrl(u)).toBe(normalizeUrlSlow(u));
      }),
      { numRuns: 3000 },
    );
  });

  it('is idempotent (property)', () => {
    fc.assert(
      fc.property(url, (u) => {
        const once = normalizeUrl(u);
        expect(normalizeUrl(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('urlDomain', () => {
  it('is the host without www. and port', () => {
    expect(urlDomain('https://www.example.com/a')).toBe('example.com');
    expect(urlDomain('https://docs.example.com:8080/a')).toBe('docs.example.com');
    expect(urlDomain('https://[::1]:8080/a')).toBe('[::1]');
    expect(urlDomain('https://example.com?q=1')).toBe('example.com');
    expect(urlDomain('mailto:x@example.com')).toBeUndefined();
  });
});
