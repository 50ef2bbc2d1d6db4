import { defaultClassify, type Adapter, type AdapterDefaults, type AttemptContext } from '@fanout/scheduler';
import type { Dispatcher } from 'undici';
import { classifyAdapterError } from '../errors.js';
import { ACCEPT_ENCODING } from './content-coding.js';
import { exchange, type BodyPlan, type ExchangeProgress, type ResponseHeaders } from './exchange.js';
import { DEFAULT_ALLOWED_ADDRESSES, refusalIn, refuseUrl, type AddressClass } from './addresses.js';
import { Connections } from './connections.js';
import { fetchInputSchema, IDEMPOTENT_METHODS, isHttpUrl, type FetchInput, type FetchOutput } from './fetch-input.js';
import { positiveOption } from './options.js';
import { headerText, HttpError, networkError, statusError, type FailureContext, type TimeoutsInForce } from './http-error.js';
import { followRedirect, isRedirect, type Hop } from './redirect.js';

/**
 * The fetch adapter's defaults, and why:
 * - `maxConcurrency` 64, `optimalConcurrency` 16: a fetch waits on the network and costs one
 *   socket and a few kilobytes, so many can be in flight on a small machine; 64 sockets stay
 *   far below file-descriptor limits, and the adaptive limiter starts at 16 and grows only
 *   while latency stays flat.
 * - `keyLimit` 8 per host: polite to any one server (browsers open 6 per host) and below the
 *   burst most rate limiters tolerate, while a batch spread over many hosts still reaches 64.
 * - `timeoutMs` 60 s per attempt, with connect 10 s, headers 30 s, body idle 30 s inside it.
 */
export const FETCH_DEFAULTS = {
  maxConcurrency: 64,
  optimalConcurrency: 16,
  keyLimit: 8,
  timeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  maxBytes: 10 * 1024 * 1024,
  maxRedirects: 20,
  maxRetryAfterMs: 60_000,
  userAgent: 'fanout',
} as const;

/** Options of {@link fetchAdapter}. */
export interface FetchAdapterOptions {
  /** @default 64 */
  maxConcurrency?: number;
  /** @default 16 */
  optimalConcurrency?: number;
  /** Most requests in flight per host (the sub-limit key). @default 8 */
  keyLimit?: number;
  /** Timeout of each attempt. @default 60000 */
  timeoutMs?: number;
  /** @default 10000 */
  connectTimeoutMs?: number;
  /** Most time from sending the request to the end of the response headers. @default 30000 */
  headersTimeoutMs?: number;
  /** Most time between two chunks of the body. @default 30000 */
  bodyTimeoutMs?: number;
  /** Most decoded body bytes kept, unless an input says otherwise. @default 10485760 (10 MiB) */
  maxBytes?: number;
  /**
   * Most redirects followed (the WHATWG Fetch standard's limit).
   * @default 20
   */
  maxRedirects?: number;
  /** A `Retry-After` longer than this makes a 429 or 503 fatal instead of waited for. @default 60000 */
  maxRetryAfterMs?: number;
  /**
   * Most connections kept per origin. The scheduler never runs more than `maxConcurrency`
   * fetches, so a pool of that size never queues a request behind the scheduler's back.
   * @default maxConcurrency
   */
  connectionsPerOrigin?: number;
  /** Sent unless the input sets `user-agent`. @default "fanout" */
  userAgent?: string;
  /** Requests go through this dispatcher (a `ProxyAgent`…) instead of the adapter's own pools. */
  dispatcher?: Dispatcher;
  /**
   * Address classes requests may reach, checked on IP literals and after DNS resolution, for
   * every redirect hop (SSRF). `metadata` endpoints are refused unless named. With a
   * `dispatcher` of your own, only IP literals are checked.
   * @default ["loopback"]
   */
  allowAddresses?: readonly AddressClass[];
}

/** The fetch adapter: an {@link Adapter} that owns its connection pools. */
export interface FetchAdapter extends Adapter<FetchInput, FetchOutput> {
  readonly kind: 'fetch';
  /** The undici dispatcher requests go through (made on first use). */
  readonly dispatcher: Dispatcher;
  /** Closes the adapter's connection pools once requests in flight have finished. */
  close(): Promise<void>;
  /** Closes the adapter's connection pools at once, aborting requests in flight. */
  destroy(): Promise<void>;
}

const NO_LOCKS: readonly string[] = Object.freeze([]);
/** A redirect's body is read to its end, unkept, so that its connection can serve the next hop. */
const REDIRECT_BODY: BodyPlan = { keep: 0, decode: false, drain: true };
/** An error's body is read for its first kilobyte, for the message, and never waited for long. */
const ERROR_BODY: BodyPlan = { keep: 1024, waitMs: 1000 };
const NO_BODY: BodyPlan = { keep: 0, decode: false };

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  return positiveOption('fetchAdapter', name, value, fallback, allowZero);
}

function charsetOf(contentType: string | undefined): string | undefined {
  return contentType === undefined ? undefined : /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
}

function flatten(headers: ResponseHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headerText(headers[name]);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Makes the `fetch` adapter: HTTP(S) requests on undici, one connection pool per origin
 * (closed by `close()`), connect / headers / body timeouts, a body cap, redirects with a cap
 * and loop detection, gzip / deflate / br decoding, and errors that tell the scheduler what
 * to do: 429 and 503 are `drop` with the server's `Retry-After`, other 5xx `retryable`,
 * 4xx `fatal`. The sub-limit key is the URL's host.
 *
 * Over `maxBytes`, `as: "text"` and `as: "bytes"` return what fits with `truncated: true`;
 * `as: "json"` fails with `FANOUT_HTTP_BODY_TOO_LARGE`, since a cut document cannot be parsed.
 *
 * @example
 * const fetch = fetchAdapter();
 * const scheduler = createScheduler({ adapters: [fetch] });
 * const result = await scheduler.execute({ operations: [{ id: 'a', kind: 'fetch', input: { url: 'https://example.com', as: 'text' } }] });
 * await fetch.close();
 */
export function fetchAdapter(options: FetchAdapterOptions = {}): FetchAdapter {
  const maxConcurrency = positive('maxConcurrency', options.maxConcurrency, FETCH_DEFAULTS.maxConcurrency);
  const defaults: AdapterDefaults = {
    maxConcurrency,
    optimalConcurrency: Math.min(maxConcurrency, positive('optimalConcurrency', options.optimalConcurrency, FETCH_DEFAULTS.optimalConcurrency)),
    timeoutMs: positive('timeoutMs', options.timeoutMs, FETCH_DEFAULTS.timeoutMs),
    idempotent: true,
    // Most of an attempt is waiting for the other side: the run's sequential estimate counts it by wall time.
    waits: true,
    keyLimit: positive('keyLimit', options.keyLimit, FETCH_DEFAULTS.keyLimit),
  };
  const timeouts: TimeoutsInForce = {
    connectMs: positive('connectTimeoutMs', options.connectTimeoutMs, FETCH_DEFAULTS.connectTimeoutMs),
    headersMs: positive('headersTimeoutMs', options.headersTimeoutMs, FETCH_DEFAULTS.headersTimeoutMs),
    bodyMs: positive('bodyTimeoutMs', options.bodyTimeoutMs, FETCH_DEFAULTS.bodyTimeoutMs),
  };
  const maxBytes = positive('maxBytes', options.maxBytes, FETCH_DEFAULTS.maxBytes);
  const maxRedirects = Math.floor(positive('maxRedirects', options.maxRedirects, FETCH_DEFAULTS.maxRedirects, true));
  const maxRetryAfterMs = positive('maxRetryAfterMs', options.maxRetryAfterMs, FETCH_DEFAULTS.maxRetryAfterMs, true);
  const userAgent = options.userAgent ?? FETCH_DEFAULTS.userAgent;
  const allowed = new Set(options.allowAddresses ?? DEFAULT_ALLOWED_ADDRESSES);
  const connections = new Connections({
    connectionsPerOrigin: positive('connectionsPerOrigin', options.connectionsPerOrigin, maxConcurrency),
    connectTimeoutMs: timeouts.connectMs,
    headersTimeoutMs: timeouts.headersMs,
    bodyTimeoutMs: timeouts.bodyMs,
    dispatcher: options.dispatcher,
    allowedAddresses: allowed,
  });

  async function run(input: FetchInput, context: AttemptContext): Promise<FetchOutput> {
    const signal = context.signal;
    const as = input.as ?? 'text';
    const cap = input.maxBytes ?? maxBytes;
    const follow = input.redirect !== 'manual';
    const redirectCap = input.maxRedirects ?? maxRedirects;
    const method = input.method ?? 'GET';
    const idempotent = input.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const attemptTimeouts: TimeoutsInForce =
      input.headersTimeoutMs === undefined && input.bodyTimeoutMs === undefined
        ? timeouts
        : { connectMs: timeouts.connectMs, headersMs: input.headersTimeoutMs ?? timeouts.headersMs, bodyMs: input.bodyTimeoutMs ?? timeouts.bodyMs };
    const headers: Record<string, string> = {};
    if (input.headers !== undefined) for (const name in input.headers) headers[name.toLowerCase()] = input.headers[name]!;
    headers['accept-encoding'] ??= ACCEPT_ENCODING;
    headers['user-agent'] ??= userAgent;
    if (as === 'json') headers['accept'] ??= 'application/json';
    if (input.json !== undefined) headers['content-type'] ??= 'application/json';
    let hop: Hop = { url: new URL(input.url), method, headers, body: input.json !== undefined ? JSON.stringify(input.json) : input.body };
    const redirects: string[] = [];
    let seen: Set<string> | undefined; // made on the first redirect: most requests have none
    const dispatcher = connections.dispatcher;

    /** How to read the body of the answer to `hop`, from its status and headers. */
    const planFor = (status: number, responseHeaders: ResponseHeaders): BodyPlan | Error => {
      if (follow && isRedirect(status) && responseHeaders['location'] !== undefined) return REDIRECT_BODY;
      if (status >= 400) return hop.method === 'HEAD' ? NO_BODY : ERROR_BODY;
      const declared = Number(responseHeaders['content-length']);
      if (as === 'json' && responseHeaders['content-encoding'] === undefined && declared > cap) {
        return new HttpError(
          'FANOUT_HTTP_BODY_TOO_LARGE',
          `expected a JSON body of at most ${cap} bytes (maxBytes) from ${hop.url.href}, got Content-Length ${declared}: a cut JSON document cannot be parsed; raise maxBytes or ask for as: "text"`,
          {
            path: 'maxBytes',
            url: hop.url.href,
            status,
          },
        );
      }
      return { keep: cap };
    };

    for (;;) {
      const url = hop.url.href;
      // An IP literal is connected to without a lookup: check it here, on every hop.
      const literal = refuseUrl(hop.url, allowed);
      if (literal !== undefined) throw literal;
      const failure = (): FailureContext => ({ url, idempotent, maxRetryAfterMs });
      const progress: ExchangeProgress = { responded: false, bytes: 0 };
      let response;
      try {
        response = await exchange(
          dispatcher,
          { url: hop.url, method: hop.method, headers: hop.headers, body: hop.body, headersTimeoutMs: attemptTimeouts.headersMs, bodyTimeoutMs: attemptTimeouts.bodyMs },
          { signal, onResponse: planFor, progress },
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const refused = refusalIn(error);
        if (refused !== undefined) throw refused;
        throw networkError(error, failure(), attemptTimeouts, progress.responded ? progress.bytes : undefined);
      }
      const status = response.status;
      const location = headerText(response.headers['location']);

      if (follow && isRedirect(status) && location !== undefined) {
        redirects.push(url);
        const target = URL.canParse(location, url) ? new URL(location, url) : undefined;
        if (target === undefined || !isHttpUrl(target.href)) {
          throw new HttpError('FANOUT_HTTP_REDIRECTS', `expected ${url} to redirect to an http(s) URL, got Location ${JSON.stringify(location)}`, { path: 'url', url, status });
        }
        const chain = [...redirects, target.href].join(' → ');
        if (redirects.length > redirectCap) {
          throw new HttpError('FANOUT_HTTP_REDIRECTS', `expected at most ${redirectCap} redirects (maxRedirects), got more: ${chain}`, { path: 'maxRedirects', url, status });
        }
        seen ??= new Set([`${hop.method} ${url}`]);
        hop = followRedirect(hop, status, target);
        const step = `${hop.method} ${hop.url.href}`;
        if (seen.has(step)) throw new HttpError('FANOUT_HTTP_REDIRECTS', `expected redirects to lead somewhere, got a loop: ${chain}`, { path: 'url', url, status });
        seen.add(step);
        continue;
      }

      if (status >= 400) {
        const snippet = response.text().replace(/\s+/g, ' ').trim();
        throw statusError({ status, headers: response.headers, snippet }, failure());
      }

      const contentType = headerText(response.headers['content-type']);
      const body = response.bytes();
      const output: FetchOutput = { url, status, headers: flatten(response.headers), redirects, contentType, bytes: body.length, truncated: response.truncated };
      if (as === 'bytes') {
        output.base64 = body.toString('base64');
      } else if (as === 'text') {
        output.text = response.text(charsetOf(contentType));
      } else {
        if (response.truncated) {
          throw new HttpError('FANOUT_HTTP_BODY_TOO_LARGE', `expected a JSON body of at most ${cap} bytes (maxBytes) from ${url}, got more: a cut JSON document cannot be parsed; raise maxBytes or ask for as: "text"`, {
            path: 'maxBytes',
            url,
            status,
          });
        }
        const text = response.text(charsetOf(contentType));
        if (text.trim() === '') {
          output.json = null; // no body (HEAD, 204, 304) or an empty one
        } else {
          try {
            output.json = JSON.parse(text);
          } catch (error) {
            const start = text.slice(0, 80).replace(/\s+/g, ' ');
            throw new HttpError('FANOUT_HTTP_DECODE', `expected a JSON body from ${url} (as: "json"), got ${contentType ?? 'no content-type'} starting ${JSON.stringify(start)}: ${(error as Error).message}`, {
              path: 'as',
              url,
              status,
              cause: error,
            });
          }
        }
      }
      return output;
    }
  }

  return {
    kind: 'fetch',
    input: fetchInputSchema,
    defaults,
    run,
    classify: (error) => classifyAdapterError(error, defaultClassify),
    locks: () => NO_LOCKS,
    key: (input) => new URL(input.url).host,
    get dispatcher() {
      return connections.dispatcher;
    },
    close: () => connections.close(),
    destroy: () => connections.destroy(),
  };
}
