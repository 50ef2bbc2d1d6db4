/**
 * Query parameters that only record where a click came from. They never change the page, so
 * two URLs that differ only by them are the same result. `utm_*` is matched as a prefix.
 */
export const TRACKING_PARAMS: ReadonlySet<string> = new Set([
  'fbclid',
  'gclid',
  'gclsrc',
  'dclid',
  'gbraid',
  'wbraid',
  'msclkid',
  'yclid',
  'twclid',
  'igshid',
  'mc_cid',
  'mc_eid',
  '_ga',
  '_gl',
  '_hsenc',
  '_hsmi',
  'mkt_tok',
  'oly_anon_id',
  'oly_enc_id',
  'vero_id',
  'ref_src',
]);

/** True for `utm_*` and the names in {@link TRACKING_PARAMS} (case-insensitive). */
export function isTrackingParam(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('utm_') || TRACKING_PARAMS.has(lower);
}

/** Options of {@link normalizeUrl}. */
export interface UrlNormalizeOptions {
  /**
   * Which query parameters to drop.
   * @default isTrackingParam
   */
  isTracking?: (name: string) => boolean;
  /**
   * Sort query parameters by name (stable: repeated names keep their order), as
   * normalize-url does: `?b=1&a=2` and `?a=2&b=1` are the same page on every server we know.
   * @default true
   */
  sortQuery?: boolean;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21' };

/*
 * The fast path accepts only URLs the WHATWG parser would leave as they are apart from the
 * case of scheme and host and a default port: an ASCII host of letter/digit/hyphen labels,
 * no user info, path and query characters outside every percent-encode set. Anything else
 * (IDN, IPv4 written oddly, dot segments, spaces, backslashes…) goes to `new URL`, which
 * is about three times slower. The property test checks that both paths agree.
 */
const FAST = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?)(?::(\d{0,5}))?(\/[a-z0-9\-._~!$&'()*+,;=:@/%]*)?(?:\?([a-z0-9\-._~!$&()*+,;=:@/?%]*))?(?:#[^\n\r\t]*)?$/i;
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:\/|$)/i;
// WHATWG parses a host whose last label is a number (decimal or 0x-hex) as IPv4; punycode
// labels are validated. Both are left to the slow path.
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;

/**
 * The identity of a URL for deduplication: scheme and host lower-cased, default port,
 * user info and fragment dropped, tracking parameters (`utm_*`, `fbclid`, `gclid`, …)
 * removed, the remaining parameters sorted by name, trailing slashes of the path removed
 * (`/docs/` and `/docs` are one page; the root stays `/`). Not a URL is returned trimmed,
 * as it is, so that it still deduplicates against itself.
 *
 * @example
 * normalizeUrl('HTTPS://Example.com:443/Docs/?utm_source=x&b=2&a=1#intro') // 'https://example.com/Docs?a=1&b=2'
 */
export function normalizeUrl(input: string, options?: UrlNormalizeOptions): string {
  const isTracking = options?.isTracking ?? isTrackingParam;
  const sortQuery = options?.sortQuery ?? true;
  const m = FAST.exec(input);
  if (m !== null) {
    const host = m[2]!;
    const path = m[4] ?? '/';
    const port = m[3];
    // Punycode labels ("xn--", in any case) need the WHATWG parser's validation.
    if (!/xn--/i.test(host) && !NUMERIC_LAST_LABEL.test(host) && (port === undefined || port === '' || Number(port) <= 65535) && !DOT_SEGMENT.test(path)) {
      const scheme = m[1]!.toLowerCase();
      let authority = host.toLowerCase();
      if (port !== undefined && port !== '') {
        const n = String(Number(port));
        if (n !== DEFAULT_PORTS[`${scheme}:`]) authority += `:${n}`;
      }
      return `${scheme}://${authority}${trimSlashes(path)}${cleanQuery(m[5], isTracking, sortQuery)}`;
    }
  }
  return normalizeUrlSlow(input, isTracking, sortQuery);
}

/** The WHATWG path, for everything the fast path does not take. Exported for the tests. */
export function normalizeUrlSlow(input: string, isTracking: (name: string) => boolean = isTrackingParam, sortQuery = true): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return input.trim();
  }
  const scheme = url.protocol;
  if (DEFAULT_PORTS[scheme] === undefined) {
    // Not a hierarchical web URL (mailto:, data:, file:, urn:…): only the fragment goes.
    url.hash = '';
    return url.href;
  }
  // WHATWG already drops the default port of special schemes and lower-cases the host.
  const authority = url.port === '' ? url.hostname : `${url.hostname}:${url.port}`;
  const query = url.search === '' ? undefined : url.search.slice(1);
  return `${scheme}//${authority}${trimSlashes(url.pathname)}${cleanQuery(query, isTracking, sortQuery)}`;
}

function trimSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  return end === path.length ? path : path.slice(0, end);
}

function cleanQuery(query: string | undefined, isTracking: (name: string) => boolean, sortQuery: boolean): string {
  if (query === undefined || query === '') return '';
  const kept: string[] = [];
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      const pair = query.slice(start, end);
      const eq = pair.indexOf('=');
      if (!isTracking(eq === -1 ? pair : pair.slice(0, eq))) kept.push(pair);
    }
    start = end + 1;
  }
  if (kept.length === 0) return '';
  if (sortQuery && kept.length > 1) kept.sort(byName);
  return `?${kept.join('&')}`;
}

function nameOf(pair: string): string {
  const eq = pair.indexOf('=');
  return eq === -1 ? pair : pair.slice(0, eq);
}

function byName(a: string, b: string): number {
  const x = nameOf(a);
  const y = nameOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The host of a normalised URL without a leading `www.` and without the port: the key that
 * correlates results from one site. It is the host, not the registrable domain (that needs
 * the Public Suffix List, which this package does not carry). `undefined` for URLs without
 * a host.
 */
export function urlDomain(normalized: string): string | undefined {
  const sep = normalized.indexOf('://');
  if (sep === -1) return undefined;
  let end = sep + 3;
  while (end < normalized.length) {
    const c = normalized.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  let host = normalized.slice(sep + 3, end);
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    host = host.slice(0, close + 1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.startsWith('www.')) host = host.slice(4);
  return host === '' ? undefined : host;
}
