import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { createScheduler, type Limiter, type LimiterSample } from '@fanout/scheduler';
import { ManualClock } from '@fanout/scheduler/testing';
import { errors as undiciErrors } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkError } from '../../src/web/http-error.js';
import { fetchAdapter, HttpError, type FetchOutput } from '../../src/web/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { attemptContext, eventually, startServer, type SeenRequest, type TestServer } from './http-server.js';

const TEXT = 'héllo, wörld — '.repeat(200);
const BIG = Buffer.alloc(1024 * 1024, 'x');

let server: TestServer;
let other: TestServer;
/** Per-path counters for routes that answer differently on later requests. */
const hits = new Map<string, number>();

function hit(request: SeenRequest): number {
  const path = new URL(request.url, 'http://x').pathname;
  const n = (hits.get(path) ?? 0) + 1;
  hits.set(path, n);
  return n;
}

beforeAll(async () => {
  other = await startServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ authorization: request.headers.authorization ?? null, cookie: request.headers.cookie ?? null }));
  });
  server = await startServer((request, response) => {
    const url = new URL(request.url, server.origin);
    const n = hit(request);
    switch (url.pathname) {
      case '/text':
        response.setHeader('content-type', 'text/plain; charset=utf-8');
        response.setHeader('x-custom', ['a', 'b']);
        return void response.end(TEXT);
      case '/echo':
        response.setHeader('content-type', 'application/json');
        return void response.end(JSON.stringify({ method: request.method, headers: request.headers, body: request.body }));
      case '/latin1':
        response.setHeader('content-type', 'text/plain; charset=iso-8859-1');
        return void response.end(Buffer.from('café', 'latin1'));
      case '/binary':
        response.setHeader('content-type', 'application/octet-stream');
        return void response.end(Buffer.from([0, 1, 2, 250, 255]));
      case '/not-json':
        response.setHeader('content-type', 'text/html');
        return void response.end('<html>nope</html>');
      case '/gzip':
        response.setHeader('content-encoding', 'gzip');
        return void response.end(gzipSync(TEXT));
      case '/deflate':
        response.setHeader('content-encoding', 'deflate');
        return void response.end(deflateSync(TEXT));
      case '/deflate-raw':
        response.setHeader('content-encoding', 'deflate');
        return void response.end(deflateRawSync(TEXT));
      case '/br':
        response.setHeader('content-encoding', 'br');
        return void response.end(brotliCompressSync(TEXT));
      case '/gzip-bomb':
        response.setHeader('content-encoding', 'gzip');
        return void response.end(gzipSync(Buffer.alloc(50 * 1024 * 1024)));
      case '/bad-gzip':
        response.setHeader('content-encoding', 'gzip');
        return void response.end('this is not gzip at all');
      case '/zstd':
        response.setHeader('content-encoding', 'zstd');
        return void response.end('whatever');
      case '/big':
        response.setHeader('content-length', String(BIG.length));
        return void response.end(BIG);
      case '/big-chunked':
        response.write(BIG.subarray(0, 512 * 1024));
        return void response.end(BIG.subarray(512 * 1024));
      case '/big-json':
        response.setHeader('content-type', 'application/json');
        response.setHeader('content-length', String(BIG.length + 2));
        return void response.end(`"${BIG.toString()}"`);
      case '/redirect': {
        const to = url.searchParams.get('to') ?? '/text';
        response.writeHead(Number(url.searchParams.get('status') ?? 302), { location: to });
        return void response.end('moved');
      }
      case '/chain':
        response.writeHead(301, { location: '/redirect?status=302&to=/text' });
        return void response.end();
      case '/loop-a':
        response.writeHead(302, { location: '/loop-b' });
        return void response.end();
      case '/loop-b':
        response.writeHead(302, { location: `${server.origin}/loop-a` });
        return void response.end();
      case '/endless': {
        const k = Number(url.searchParams.get('k') ?? 0);
        response.writeHead(302, { location: `/endless?k=${k + 1}` });
        return void response.end();
      }
      case '/status': {
        const status = Number(url.searchParams.get('code'));
        const retryAfter = url.searchParams.get('retry-after');
        if (retryAfter !== null) response.setHeader('retry-after', retryAfter);
        response.writeHead(status, { 'content-type': 'application/json' });
        return void response.end(JSON.stringify({ error: `status ${status} on purpose` }));
      }
      case '/flaky-429':
        if (n === 1) {
          response.writeHead(429, { 'retry-after': '2' });
          return void response.end('slow down');
        }
        return void response.end('fine now');
      case '/never':
        return; // never answers
      case '/stall-body':
        response.writeHead(200, { 'content-length': '1000' });
        response.write('x'.repeat(10));
        return; // never sends the rest
      case '/cut':
        response.writeHead(200, { 'content-length': '1000' });
        response.write('x'.repeat(100));
        return void setTimeout(() => request.socket.destroy(), 20);
      case '/empty-gzip':
        response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': '0' });
        return void response.end();
      case '/error-stalls':
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.write('partial explanation');
        return; // the rest never comes
      case '/empty':
        response.writeHead(204);
        return void response.end();
      default:
        response.writeHead(404);
        return void response.end('no such route');
    }
  });
});

const adapter = fetchAdapter({ maxRetryAfterMs: 10_000 });

afterAll(async () => {
  await adapter.close();
  await server.close();
  await other.close();
});

async function fetchOk(input: Parameters<typeof adapter.run>[0]): Promise<FetchOutput> {
  return adapter.run(adapter.input.parse(input), attemptContext());
}

async function fetchFails(input: Parameters<typeof adapter.run>[0]): Promise<HttpError> {
  try {
    await fetchOk(input);
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error(`expected ${input.url} to fail`);
}

describe('fetch: requests and responses', () => {
  it('GETs text with the final URL, status, headers, content type and byte count', async () => {
    const output = await fetchOk({ url: `${server.origin}/text` });
    expect(output).toMatchObject({ url: `${server.origin}/text`, status: 200, redirects: [], contentType: 'text/plain; charset=utf-8', truncated: false, text: TEXT });
    expect(output.bytes).toBe(Buffer.byteLength(TEXT));
    expect(output.headers['x-custom']).toBe('a, b');
    expect(output.json).toBeUndefined();
    expect(output.base64).toBeUndefined();
  });

  it('sends methods, headers and bodies, and asks for compressed answers', async () => {
    const posted = await fetchOk({ url: `${server.origin}/echo`, method: 'POST', json: { a: [1, 2] }, as: 'json', headers: { 'X-Trace': 't-1' } });
    const echo = posted.json as { method: string; headers: Record<string, string>; body: string };
    expect(echo.method).toBe('POST');
    expect(JSON.parse(echo.body)).toEqual({ a: [1, 2] });
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['x-trace']).toBe('t-1');
    expect(echo.headers['accept-encoding']).toBe('gzip, deflate, br');
    expect(echo.headers['user-agent']).toBe('fanout');
    const put = (await fetchOk({ url: `${server.origin}/echo`, method: 'PUT', body: 'raw text', headers: { 'content-type': 'text/plain' }, as: 'json' })).json as typeof echo;
    expect([put.method, put.body, put.headers['content-type']]).toEqual(['PUT', 'raw text', 'text/plain']);
    const deleted = (await fetchOk({ url: `${server.origin}/echo`, method: 'DELETE', as: 'json' })).json as typeof echo;
    expect(deleted.method).toBe('DELETE');
  });

  it('HEAD and 204 have no body: empty text, null json, empty base64', async () => {
    const head = await fetchOk({ url: `${server.origin}/text`, method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, text: '', bytes: 0, truncated: false });
    expect((await fetchOk({ url: `${server.origin}/empty`, as: 'json' })).json).toBeNull();
    expect((await fetchOk({ url: `${server.origin}/empty`, as: 'bytes' })).base64).toBe('');
  });

  it('returns bytes as base64 and decodes text with the declared charset', async () => {
    const binary = await fetchOk({ url: `${server.origin}/binary`, as: 'bytes' });
    expect(Buffer.from(binary.base64!, 'base64')).toEqual(Buffer.from([0, 1, 2, 250, 255]));
    expect(binary.bytes).toBe(5);
    expect((await fetchOk({ url: `${server.origin}/latin1` })).text).toBe('café');
  });

  it('refuses a body that is not JSON when asked for JSON, saying what it got', async () => {
    const error = await fetchFails({ url: `${server.origin}/not-json`, as: 'json' });
    expect(error.code).toBe('FANOUT_HTTP_DECODE');
    expect(error.message).toMatch(/text\/html starting "<html>nope/);
    expect(error.classification.class).toBe('fatal');
  });

  it('keeps connections per origin alive across requests, and close() closes them', async () => {
    const local = fetchAdapter();
    const fresh = await startServer((_request, response) => void response.end('ok'));
    try {
      for (let i = 0; i < 10; i++) await local.run(local.input.parse({ url: `${fresh.origin}/` }), attemptContext());
      expect(fresh.requests).toHaveLength(10);
      // undici may open a second socket while the first is still settling its last answer.
      expect(fresh.sockets.length).toBeLessThanOrEqual(2);
      expect(fresh.sockets.some((socket) => fresh.closed(socket))).toBe(false);
      await local.close();
      expect(await eventually(() => fresh.sockets.every((socket) => fresh.closed(socket)))).toBe(true);
    } finally {
      await fresh.close();
    }
  });

  it('refuses bad options by name', () => {
    expect(() => fetchAdapter({ maxBytes: -1 })).toThrow(expect.objectContaining({ code: 'FANOUT_OPTION_INVALID', path: 'maxBytes' }));
    expect(() => fetchAdapter({ keyLimit: 0 })).toThrow(/expected keyLimit to be a positive number, got 0/);
    expect(fetchAdapter({ maxRedirects: 0 }).kind).toBe('fetch');
  });

  it('makes the host the sub-limit key, with a per-host limit by default', () => {
    expect(adapter.key!(adapter.input.parse({ url: 'https://Example.COM:8443/a?b' }))).toBe('example.com:8443');
    expect(adapter.defaults).toMatchObject({ maxConcurrency: 64, optimalConcurrency: 16, keyLimit: 8, idempotent: true });
    expect(adapter.locks!(adapter.input.parse({ url: 'https://example.com' }))).toEqual([]);
  });
});

describe('fetch: decompression and caps', () => {
  it.each(['/gzip', '/deflate', '/deflate-raw', '/br'])('decodes %s bodies', async (path) => {
    const output = await fetchOk({ url: `${server.origin}${path}` });
    expect(output.text).toBe(TEXT);
    expect(output.bytes).toBe(Buffer.byteLength(TEXT));
  });

  it('caps the decoded size, so a compression bomb is cut like any large body', async () => {
    const output = await fetchOk({ url: `${server.origin}/gzip-bomb`, maxBytes: 100_000, as: 'bytes' });
    expect(output.truncated).toBe(true);
    expect(output.bytes).toBe(100_000);
  });

  it('an empty body needs no decoding, whatever its Content-Encoding', async () => {
    expect(await fetchOk({ url: `${server.origin}/empty-gzip` })).toMatchObject({ status: 200, text: '', bytes: 0 });
    expect(await fetchOk({ url: `${server.origin}/gzip`, method: 'HEAD' })).toMatchObject({ status: 200, text: '', bytes: 0 });
  });

  it('says when a body cannot be decoded, or uses a coding it did not ask for', async () => {
    const bad = await fetchFails({ url: `${server.origin}/bad-gzip` });
    expect(bad.code).toBe('FANOUT_HTTP_DECODE');
    const zstd = await fetchFails({ url: `${server.origin}/zstd` });
    expect(zstd.code).toBe('FANOUT_HTTP_DECODE');
    expect(zstd.message).toMatch(/Content-Encoding "zstd"/);
  });

  it('cuts text and bytes at maxBytes, says so, and stops reading (the connection closes)', async () => {
    const before = server.requests.length;
    const local = fetchAdapter();
    try {
      const text = await local.run(local.input.parse({ url: `${server.origin}/big`, maxBytes: 1000 }), attemptContext());
      expect(text).toMatchObject({ truncated: true, bytes: 1000 });
      expect(text.text).toHaveLength(1000);
      const chunked = await local.run(local.input.parse({ url: `${server.origin}/big-chunked`, maxBytes: 10, as: 'bytes' }), attemptContext());
      expect(Buffer.from(chunked.base64!, 'base64').toString()).toBe('x'.repeat(10));
      expect(chunked.truncated).toBe(true);
      // The connections that carried the cut bodies are closed, not left downloading.
      const carriers = server.requests.slice(before).map((request) => request.socket);
      expect(carriers).toHaveLength(2);
      expect(await eventually(() => carriers.every((socket) => server.closed(socket)))).toBe(true);
    } finally {
      await local.close();
    }
  });

  it('never cuts a UTF-8 character in half', async () => {
    // "é" is two bytes; a cap of 2 lands inside the first one after "h".
    const output = await fetchOk({ url: `${server.origin}/text`, maxBytes: 2 });
    expect(output.text).toBe('h');
    expect(output.truncated).toBe(true);
  });

  it('fails as: "json" over the cap instead of returning a cut document', async () => {
    const declared = await fetchFails({ url: `${server.origin}/big-json`, maxBytes: 1000, as: 'json' });
    expect(declared).toMatchObject({ code: 'FANOUT_HTTP_BODY_TOO_LARGE', path: 'maxBytes' });
    const streamed = await fetchFails({ url: `${server.origin}/big-chunked`, maxBytes: 1000, as: 'json' });
    expect(streamed).toMatchObject({ code: 'FANOUT_HTTP_BODY_TOO_LARGE', path: 'maxBytes' });
    expect(streamed.message).toMatch(/at most 1000 bytes \(maxBytes\)/);
  });
});

describe('fetch: redirects', () => {
  it('reads redirect bodies to their end, so their connections are kept for the next hop', async () => {
    const local = fetchAdapter();
    const hops = await startServer((request, response) => {
      if (request.url === '/a') response.writeHead(302, { location: '/b' }).end('moved to /b');
      else if (request.url === '/b') response.writeHead(301, { location: '/c' }).end('moved to /c');
      else response.end('arrived');
    });
    try {
      const output = await local.run(local.input.parse({ url: `${hops.origin}/a` }), attemptContext());
      expect(output).toMatchObject({ text: 'arrived', redirects: [`${hops.origin}/a`, `${hops.origin}/b`] });
      expect(hops.requests).toHaveLength(3);
      // Drained, not destroyed: the connections stay open for reuse (undici may open a second
      // one while the first is still settling its last answer).
      const sockets = new Set(hops.requests.map((r) => r.socket));
      expect(sockets.size).toBeLessThanOrEqual(2);
      expect([...sockets].some((socket) => hops.closed(socket))).toBe(false);
    } finally {
      await local.close();
      await hops.close();
    }
  });

  it('follows a chain and lists the URLs that redirected', async () => {
    const output = await fetchOk({ url: `${server.origin}/chain` });
    expect(output.url).toBe(`${server.origin}/text`);
    expect(output.redirects).toEqual([`${server.origin}/chain`, `${server.origin}/redirect?status=302&to=/text`]);
    expect(output.text).toBe(TEXT);
  });

  it('turns POST into GET on 303 and keeps it on 307', async () => {
    const seeOther = await fetchOk({ url: `${server.origin}/redirect?status=303&to=/echo`, method: 'POST', body: 'b', as: 'json' });
    expect(seeOther.json).toMatchObject({ method: 'GET', body: '' });
    const temporary = await fetchOk({ url: `${server.origin}/redirect?status=307&to=/echo`, method: 'POST', body: 'b', as: 'json' });
    expect(temporary.json).toMatchObject({ method: 'POST', body: 'b' });
  });

  it('drops credentials when a redirect leaves the origin', async () => {
    const output = await fetchOk({
      url: `${server.origin}/redirect?to=${encodeURIComponent(`${other.origin}/`)}`,
      headers: { authorization: 'Bearer secret', cookie: 'a=b' },
      as: 'json',
    });
    expect(output.json).toEqual({ authorization: null, cookie: null });
  });

  it('ends a redirect loop with FANOUT_HTTP_REDIRECTS, naming the loop', async () => {
    const error = await fetchFails({ url: `${server.origin}/loop-a` });
    expect(error.code).toBe('FANOUT_HTTP_REDIRECTS');
    expect(error.message).toContain(`${server.origin}/loop-a → ${server.origin}/loop-b → ${server.origin}/loop-a`);
    expect(error.classification.class).toBe('fatal');
  });

  it('stops at maxRedirects', async () => {
    const error = await fetchFails({ url: `${server.origin}/endless`, maxRedirects: 3 });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_REDIRECTS', path: 'maxRedirects' });
    expect(error.message).toMatch(/at most 3 redirects/);
  });

  it('refuses a redirect to another scheme, and returns 3xx as they are in manual mode', async () => {
    const error = await fetchFails({ url: `${server.origin}/redirect?to=${encodeURIComponent('file:///etc/passwd')}` });
    expect(error.code).toBe('FANOUT_HTTP_REDIRECTS');
    const manual = await fetchOk({ url: `${server.origin}/redirect?status=301&to=/text`, redirect: 'manual' });
    expect(manual).toMatchObject({ status: 301, text: 'moved', redirects: [] });
    expect(manual.headers.location).toBe('/text');
  });
});

describe('fetch: failures and how they are classified', () => {
  it('4xx is fatal, and the message quotes the body', async () => {
    const error = await fetchFails({ url: `${server.origin}/status?code=404` });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_STATUS', status: 404, path: 'url' });
    expect(error.classification).toEqual({ class: 'fatal' });
    expect(error.message).toMatch(/got status 404: \{"error":"status 404 on purpose"\}/);
    expect(adapter.classify!(error)).toEqual({ class: 'fatal' });
  });

  it('does not wait for an error body that stalls: the message quotes what came', async () => {
    const error = await fetchFails({ url: `${server.origin}/error-stalls` });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_STATUS', status: 500 });
    expect(error.message).toMatch(/: partial explanation$/);
  });

  it('other 5xx are retryable, unless the method is not idempotent', async () => {
    expect((await fetchFails({ url: `${server.origin}/status?code=500` })).classification).toEqual({ class: 'retryable' });
    const post = await fetchFails({ url: `${server.origin}/status?code=502`, method: 'POST', body: 'x' });
    expect(post.classification).toEqual({ class: 'fatal' });
    expect(post.message).toMatch(/not idempotent/);
    const keyed = await fetchFails({ url: `${server.origin}/status?code=502`, method: 'POST', body: 'x', idempotent: true });
    expect(keyed.classification).toEqual({ class: 'retryable' });
  });

  it('429 and 503 are drops carrying Retry-After, in seconds or as an HTTP date', async () => {
    expect((await fetchFails({ url: `${server.origin}/status?code=503&retry-after=3` })).classification).toEqual({ class: 'drop', retryAfterMs: 3000 });
    expect((await fetchFails({ url: `${server.origin}/status?code=429` })).classification).toEqual({ class: 'drop' });
    const date = new Date(Date.now() + 5000).toUTCString();
    const dated = await fetchFails({ url: `${server.origin}/status?code=429&retry-after=${encodeURIComponent(date)}` });
    expect(dated.classification.class).toBe('drop');
    // An HTTP date has a resolution of one second.
    expect(dated.retryAfterMs).toBeGreaterThan(3000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(5000);
    // A POST refused with 429 was not processed: it stays retryable.
    expect((await fetchFails({ url: `${server.origin}/status?code=429&retry-after=1`, method: 'POST', body: 'x' })).classification).toEqual({ class: 'drop', retryAfterMs: 1000 });
  });

  it('a Retry-After beyond maxRetryAfterMs is not waited for', async () => {
    const error = await fetchFails({ url: `${server.origin}/status?code=503&retry-after=3600` });
    expect(error.classification).toEqual({ class: 'fatal' });
    expect(error.message).toMatch(/longer than maxRetryAfterMs/);
  });

  it('times out waiting for headers, and for a stalled body', async () => {
    const headers = await fetchFails({ url: `${server.origin}/never`, headersTimeoutMs: 200 });
    expect(headers.code).toBe('FANOUT_HTTP_TIMEOUT');
    expect(headers.message).toMatch(/within 200 ms \(headersTimeoutMs\)/);
    expect(headers.classification.class).toBe('drop');
    const body = await fetchFails({ url: `${server.origin}/stall-body`, bodyTimeoutMs: 200 });
    expect(body.code).toBe('FANOUT_HTTP_TIMEOUT');
    expect(body.message).toMatch(/after 10 bytes/);
  });

  it('a body cut short by the server is a network failure worth retrying', async () => {
    const error = await fetchFails({ url: `${server.origin}/cut` });
    expect(error.code).toBe('FANOUT_HTTP_NETWORK');
    expect(error.message).toMatch(/reading the body/);
    expect(['drop', 'retryable']).toContain(error.classification.class);
  });

  it("maps undici's connect timeout to FANOUT_HTTP_TIMEOUT, a drop", () => {
    // A connect timeout cannot be provoked on 127.0.0.1 (the kernel answers at once), so the
    // mapping is checked on undici's own error class.
    const error = networkError(new undiciErrors.ConnectTimeoutError(), { url: 'http://10.0.0.1/', maxRetryAfterMs: 1000 }, { connectMs: 10_000, headersMs: 1, bodyMs: 1 });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_TIMEOUT', path: 'url' });
    expect(error.message).toMatch(/connect to 10\.0\.0\.1 within 10000 ms \(connectTimeoutMs\)/);
    expect(error.classification.class).toBe('drop');
    const post = networkError(new undiciErrors.ConnectTimeoutError(), { url: 'http://10.0.0.1/', idempotent: false, maxRetryAfterMs: 1000 }, { connectMs: 1, headersMs: 1, bodyMs: 1 });
    expect(post.classification.class).toBe('drop'); // nothing was sent: safe to retry even a POST
  });

  it('a refused connection is retryable', async () => {
    const gone = await startServer((_request, response) => void response.end());
    const origin = gone.origin;
    await gone.close();
    const error = await fetchFails({ url: `${origin}/` });
    expect(error).toMatchObject({ code: 'FANOUT_HTTP_NETWORK' });
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.classification.class).toBe('retryable');
  });

  it('an abort closes the socket and rejects with the abort reason', async () => {
    const before = server.requests.length;
    const controller = new AbortController();
    const running = adapter.run(adapter.input.parse({ url: `${server.origin}/never` }), attemptContext(controller.signal));
    expect(await eventually(() => server.requests.length > before)).toBe(true);
    const socket = server.requests.at(-1)!.socket;
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(await eventually(() => server.closed(socket))).toBe(true);
  });
});

describe('fetch: through the scheduler', () => {
  it('retries a 429 no sooner than Retry-After, and the drop reaches the limiter', async () => {
    hits.delete('/flaky-429');
    const clock = new ManualClock();
    const outcomes: string[] = [];
    const recording = (options: { initial: number }): Limiter => ({
      limit: options.initial,
      onSample(sample: LimiterSample) {
        outcomes.push(sample.outcome);
      },
    });
    const local = fetchAdapter();
    let calls = 0;
    const counted = { ...local, run: (input: Parameters<typeof local.run>[0], context: Parameters<typeof local.run>[1]) => (calls++, local.run(input, context)) };
    try {
      const scheduler = createScheduler({ adapters: [counted], clock, random: () => 0.5 });
      const run = scheduler.run({ operations: [{ id: 'a', kind: 'fetch', input: { url: `${server.origin}/flaky-429` } }] }, { limits: { fetch: { limiter: recording } } });
      let retryDelay: number | undefined;
      run.on((event) => {
        if (event.type === 'op-retrying') retryDelay = event.delayMs;
      });
      expect(await eventually(() => retryDelay !== undefined)).toBe(true);
      expect(retryDelay).toBeGreaterThanOrEqual(2000);
      expect(calls).toBe(1);
      clock.advance(1999);
      expect(calls).toBe(1);
      clock.advance(retryDelay! - 1999);
      expect(calls).toBe(2);
      const result = await run.result;
      expect(result.get('a')!.state).toBe('succeeded');
      expect((result.get('a')!.output as FetchOutput).text).toBe('fine now');
      expect(outcomes).toEqual(['drop', 'ok']);
    } finally {
      await local.close();
    }
  });
});

const slowServers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(slowServers.map((s) => s.close()));
});

describeConformance({
  adapter,
  valid: async () => ({ input: adapter.input.parse({ url: `${server.origin}/text` }) }),
  invalid: [
    { input: { url: 'file:///etc/passwd' }, field: 'url' },
    { input: { url: 'ftp://127.0.0.1/x' }, field: 'url' },
    { input: { url: 'not a url' }, field: 'url' },
    { input: { url: 'http://127.0.0.1/', body: 'x' }, field: 'body' },
    { input: { url: 'http://127.0.0.1/', as: 'xml' }, field: 'as' },
    { input: { url: 'http://127.0.0.1/', headers: { 'bad name': 'x' } }, field: 'headers' },
    { input: { url: 'http://127.0.0.1/', headers: { 'x-a': 'line\r\nbreak' } }, field: 'headers' },
    { input: { url: 'http://127.0.0.1/', maxBytes: 0 }, field: 'maxBytes' },
    { input: { url: 'http://127.0.0.1/', method: 'TRACE' }, field: 'method' },
  ],
  slow: async () => {
    const slow = await startServer(() => undefined); // accepts the request, never answers
    slowServers.push(slow);
    return {
      input: adapter.input.parse({ url: `${slow.origin}/never` }),
      stopped: async () => slow.sockets.length > 0 && slow.sockets.every((socket) => slow.closed(socket)),
      cleanup: () => slow.close(),
    };
  },
  big: async () => ({
    input: adapter.input.parse({ url: `${server.origin}/big`, maxBytes: 4096 }),
    within: (output) => (output as FetchOutput).bytes <= 4096 && Buffer.byteLength((output as FetchOutput).text ?? '') <= 4096,
    saysCut: (output) => (output as FetchOutput).truncated,
  }),
});
