import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followRedirect, isRedirect, type Hop } from '../../src/web/redirect.js';

const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE');
const status = fc.constantFrom(301, 302, 303, 307, 308);
const headerName = fc.constantFrom('Authorization', 'authorization', 'Cookie', 'Proxy-Authorization', 'Content-Type', 'X-Trace', 'Accept');
const headers = fc.dictionary(headerName, fc.string({ maxLength: 8 }), { maxKeys: 5 });
const origin = fc.constantFrom('http://a.test', 'https://a.test', 'http://a.test:8080', 'http://b.test');

function hop(m: string, h: Record<string, string>, from: string): Hop {
  return { url: new URL(`${from}/x`), method: m, headers: h, body: m === 'GET' || m === 'HEAD' ? undefined : 'payload' };
}

describe('followRedirect (WHATWG Fetch rules)', () => {
  it('never carries credentials to another origin, and keeps them on the same one', () => {
    fc.assert(
      fc.property(method, headers, status, origin, origin, (m, h, s, from, to) => {
        const next = followRedirect(hop(m, h, from), s, new URL(`${to}/y`));
        const names = Object.keys(next.headers).map((name) => name.toLowerCase());
        const credentials = ['authorization', 'cookie', 'proxy-authorization'];
        if (new URL(from).origin !== new URL(to).origin) return credentials.every((name) => !names.includes(name));
        return Object.keys(h)
          .filter((name) => credentials.includes(name.toLowerCase()))
          .every((name) => next.headers[name] === h[name]);
      }),
    );
  });

  it('307 and 308 keep method and body; 303 makes a GET of anything but HEAD; 301 and 302 make a GET of a POST', () => {
    fc.assert(
      fc.property(method, headers, status, (m, h, s) => {
        const before = hop(m, h, 'http://a.test');
        const next = followRedirect(before, s, new URL('http://a.test/y'));
        const toGet = (s === 303 && m !== 'HEAD' && m !== 'GET') || ((s === 301 || s === 302) && m === 'POST');
        if (toGet) return next.method === 'GET' && next.body === undefined && !Object.keys(next.headers).some((name) => name.toLowerCase() === 'content-type');
        return next.method === m && next.body === before.body;
      }),
    );
  });

  it('knows which statuses redirect', () => {
    expect([300, 301, 302, 303, 304, 305, 307, 308].filter(isRedirect)).toEqual([301, 302, 303, 307, 308]);
  });
});
