import { z } from 'zod';

/** HTTP methods the fetch adapter sends. */
export const FETCH_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Methods a server may act on twice if sent twice (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Headers the connection owns; a caller setting them would break the framing (undici refuses most of them). */
const RESERVED_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect', 'content-length', 'te', 'trailer']);
// RFC 9110 §5.6.2 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * True for an absolute `http://` or `https://` URL that `new URL` can read. The scheme is
 * checked on the text (one parse instead of two, on every operation of a plan); forms the URL
 * parser would repair, such as `http:example.com` or leading spaces, are refused.
 */
export function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value) && URL.canParse(value);
}

/** An absolute http(s) URL; anything else (file:, data:, a relative path) is refused by name. */
export const httpUrlSchema = z.string().refine(isHttpUrl, { message: 'expected an absolute http:// or https:// URL' });

const headersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `expected a header name made of token characters (RFC 9110), got ${JSON.stringify(name)}` });
    else if (RESERVED_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: `the ${name} header is set by the connection, not by a request` });
    if (/[\r\n\0]/.test(value)) ctx.addIssue({ code: 'custom', path: [name], message: `expected a header value without CR, LF or NUL, got ${JSON.stringify(value)}` });
  }
});

const positiveMs = z
  .number()
  .int()
  .positive()
  .max(24 * 3600 * 1000);

/**
 * Input of a fetch operation.
 *
 * @example
 * { "url": "https://registry.npmjs.org/undici", "as": "json", "headers": { "accept": "application/json" } }
 */
export const fetchInputSchema = z
  .strictObject({
    /** Absolute http:// or https:// URL. */
    url: httpUrlSchema,
    /** @default "GET" */
    method: z.enum(FETCH_METHODS).optional(),
    headers: headersSchema.optional(),
    /** A request body sent as is (with a `content-type` of your choosing). */
    body: z.string().optional(),
    /** A request body sent as JSON, with `content-type: application/json`. */
    json: z.unknown().optional(),
    /**
     * How to return the body: `text` (decoded with the response's charset, UTF-8 by default),
     * `json` (parsed) or `bytes` (base64).
     * @default "text"
     */
    as: z.enum(['text', 'json', 'bytes']).optional(),
    /** Most decoded body bytes to keep. @default the adapter's maxBytes (10 MiB) */
    maxBytes: z
      .number()
      .int()
      .positive()
      .max(512 * 1024 * 1024)
      .optional(),
    /** `follow` redirects (up to `maxRedirects`), or return the 3xx answer as it is (`manual`). @default "follow" */
    redirect: z.enum(['follow', 'manual']).optional(),
    /** @default the adapter's maxRedirects (20) */
    maxRedirects: z.number().int().min(0).max(100).optional(),
    /** @default the adapter's headersTimeoutMs */
    headersTimeoutMs: positiveMs.optional(),
    /** @default the adapter's bodyTimeoutMs */
    bodyTimeoutMs: positiveMs.optional(),
    /**
     * Whether sending the request twice is harmless. POST and PATCH are not by default, so
     * their failures are only retried when the server cannot have acted (429, 503, a refused
     * connection); say `true` when the request carries an idempotency key.
     * @default true for GET, HEAD, PUT, DELETE, OPTIONS
     */
    idempotent: z.boolean().optional(),
  })
  .superRefine((input, ctx) => {
    const method = input.method ?? 'GET';
    if (input.body !== undefined && input.json !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['json'], message: 'expected either body or json, got both' });
    }
    if ((method === 'GET' || method === 'HEAD') && (input.body !== undefined || input.json !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [input.body !== undefined ? 'body' : 'json'], message: `expected no request body with ${method}` });
    }
  });

/** A fetch operation's input (see {@link fetchInputSchema}). */
export type FetchInput = z.infer<typeof fetchInputSchema>;

/**
 * What a fetch returns. Exactly one of `text`, `json`, `base64` is set, per `as`; a response
 * without a body (HEAD, 204, 304) gives `""`, `null` or `""`.
 */
export interface FetchOutput {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  /** Response headers, names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The URLs that answered with a redirect, in order (the requested URL first). */
  redirects: string[];
  contentType: string | undefined;
  /** Decoded body bytes returned (at most `maxBytes`). */
  bytes: number;
  /** True when the body was longer than `maxBytes` and was cut there (`text` and `bytes` only: `json` fails instead). */
  truncated: boolean;
  text?: string;
  json?: unknown;
  base64?: string;
}
