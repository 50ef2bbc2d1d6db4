/** Statuses that redirect when they carry a `Location` (RFC 9110 §15.4). */
export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** One request of a redirect chain. */
export interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Headers that must not follow a redirect to another origin: they are credentials. */
const CREDENTIALS = ['authorization', 'proxy-authorization', 'cookie'];
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];

/**
 * The request a redirect leads to, by the rules of the WHATWG Fetch standard ("HTTP-redirect
 * fetch"): 303 turns any method but HEAD into GET, 301 and 302 turn a POST into GET (what every
 * browser does), 307 and 308 keep method and body. Credentials are dropped when the origin
 * changes, as Fetch and undici do, so a redirect cannot carry an API key to another host.
 */
export function followRedirect(hop: Hop, status: number, target: URL): Hop {
  let { method, body } = hop;
  const headers = { ...hop.headers };
  if ((status === 303 && method !== 'HEAD' && method !== 'GET') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    for (const name of Object.keys(headers)) if (BODY_HEADERS.includes(name.toLowerCase())) delete headers[name];
  }
  if (target.origin !== hop.url.origin) {
    for (const name of Object.keys(headers)) {
      const lower = name.toLowerCase();
      if (CREDENTIALS.includes(lower) || lower === 'host') delete headers[name];
    }
  }
  return { url: target, method, headers, body };
}
