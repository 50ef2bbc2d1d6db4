import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { domainAllowed, inDomain, withSiteOperators } from '../../src/web/domains.js';
import { isoDate, plainText } from '../../src/web/plain-text.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 2, maxLength: 3 }).map((labels) => labels.join('.'));

describe('domains', () => {
  it('a domain holds itself and its subdomains, never a host that merely ends with its name', () => {
    fc.assert(
      fc.property(domain, label, (d, sub) => {
        expect(inDomain(d, d)).toBe(true);
        expect(inDomain(`${sub}.${d}`, d)).toBe(true);
        expect(inDomain(`${sub.toUpperCase()}.${d}.`, d)).toBe(true);
        expect(inDomain(`${sub}${d}`, d)).toBe(false);
      }),
    );
  });

  it('applies include and exclude lists to URLs', () => {
    expect(domainAllowed('https://docs.example.com/a', ['example.com'], [])).toBe(true);
    expect(domainAllowed('https://evilexample.com/a', ['example.com'], [])).toBe(false);
    expect(domainAllowed('https://ads.example.com/a', ['example.com'], ['ads.example.com'])).toBe(false);
    expect(domainAllowed('not a url', [], ['x.com'])).toBe(false);
    expect(domainAllowed('anything', [], [])).toBe(true);
  });

  it('adds site: operators while the query stays within its limit', () => {
    expect(withSiteOperators('q', ['a.com'], ['b.com', 'c.com'])).toBe('q site:a.com -site:b.com -site:c.com');
    expect(withSiteOperators('q', ['a.com', 'b.com'], [])).toBe('q');
    expect(withSiteOperators('x'.repeat(395), ['a.com'], [])).toBe('x'.repeat(395));
  });
});

describe('plain text of provider snippets', () => {
  it('removes markup and decodes character references', () => {
    expect(plainText('<strong>Node.js</strong> &amp; undici&#39;s &#x201C;pool&#x201D;\n\t  fast')).toBe("Node.js & undici's “pool” fast");
    expect(plainText('&unknown; &#0;')).toBe('&unknown; &#0;');
  });

  it('reads dates as UTC ISO 8601 and leaves relative ones out', () => {
    expect(isoDate('2024-03-01T10:00:00')).toBe('2024-03-01T10:00:00.000Z');
    expect(isoDate('2024-03-01T10:00:00+02:00')).toBe('2024-03-01T08:00:00.000Z');
    expect(isoDate('2 days ago')).toBeUndefined();
    expect(isoDate(null)).toBeUndefined();
  });
});
