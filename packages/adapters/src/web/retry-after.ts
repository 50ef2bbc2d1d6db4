/**
 * When a server says to come back: HTTP `Retry-After` (RFC 9110 §10.2.3) and the
 * `X-RateLimit-*` headers of rate-limited APIs such as Brave Search.
 */

/**
 * Milliseconds to wait according to a `Retry-After` value: either delay-seconds (`"120"`) or
 * an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`), measured from `nowMs` (wall-clock
 * milliseconds, since an HTTP-date is wall-clock time). A date in the past means 0. Anything
 * else is `undefined` (RFC 9110 lets a client ignore what it cannot parse).
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse accepts IMF-fixdate, the obsolete RFC 850 and asctime forms RFC 9110 requires
  // recipients to accept; a bare number that is not all digits ("1.5", "-1") is refused above.
  if (!/[A-Za-z]/.test(text)) return undefined;
  // asctime ("Sun Nov  6 08:49:37 1994") carries no zone but means GMT; Date.parse would read it as local time.
  const at = Date.parse(/^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(text) ? `${text} GMT` : text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** One window of a rate limit as an API reports it. */
export interface RateLimitWindow {
  /** Requests allowed in the window. */
  limit: number | undefined;
  /** Requests left in the window. */
  remaining: number | undefined;
  /** Seconds until the window resets. */
  resetSeconds: number | undefined;
}

function numbers(value: string | undefined): (number | undefined)[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((part) => {
    const n = Number(part.trim());
    return part.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : undefined;
  });
}

/**
 * Reads `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` given as comma
 * lists, one entry per window (Brave Search: `"1, 15000"` = per second, per month). Returns
 * the windows in header order; empty when the headers are absent.
 */
export function parseRateLimitWindows(headers: { limit?: string | undefined; remaining?: string | undefined; reset?: string | undefined }): RateLimitWindow[] {
  const limit = numbers(headers.limit);
  const remaining = numbers(headers.remaining);
  const reset = numbers(headers.reset);
  const count = Math.max(limit.length, remaining.length, reset.length);
  return Array.from({ length: count }, (_, i) => ({ limit: limit[i], remaining: remaining[i], resetSeconds: reset[i] }));
}

/**
 * How long to wait before a request may succeed, from rate-limit windows: until every
 * exhausted window (`remaining` 0) has reset; when none says it is exhausted (the server
 * refused anyway), until the soonest window resets. `undefined` when no window has a reset.
 */
export function rateLimitWaitMs(windows: readonly RateLimitWindow[]): number | undefined {
  let exhausted: number | undefined;
  let soonest: number | undefined;
  for (const window of windows) {
    if (window.resetSeconds === undefined) continue;
    const ms = window.resetSeconds * 1000;
    if (window.remaining !== undefined && window.remaining <= 0) exhausted = Math.max(exhausted ?? 0, ms);
    soonest = Math.min(soonest ?? Infinity, ms);
  }
  return exhausted ?? soonest;
}
