/**
 * The server's defaults against untrusted requests, one case each, over real HTTP: token,
 * Host (DNS rebinding), Origin, body size, per-token limits, disabled kinds, paths outside
 * the roots, and no start off loopback without a token.
 */
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, readEvents, runServerBin, startServer, tempDir, type Served } from './helpers.js';

const TOKEN = 'first-token-0123456789abcdef';
const OTHER = 'second-token-0123456789abcdef';
const auth = (token = TOKEN): Record<string, string> => ({ authorization: `Bearer ${token}` });

let served: Served;
let temp: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  temp = await tempDir();
  await writeFile(join(temp.dir, 'tokens'), `# one token a line\n${TOKEN}\n${OTHER}\n`);
  await writeFile(join(temp.dir, 'inside.txt'), 'inside\n');
  served = await startServer(['--token-file', 'tokens', '--max-body', '2048', '--max-operations', '5'], temp.dir);
});

afterAll(async () => {
  await writeFile(join(temp.dir, 'gate'), '');
  await served?.stop();
  await temp?.remove();
});

/** A request with headers exactly as given (fetch would set Host itself). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: served.port, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('safe by default', () => {
  it('refuses a request without a token (401)', async () => {
    const { status, body } = await api(served.url, '/v1/runs');
    expect(status).toBe(401);
    expect(body.error.code).toBe('FANOUT_SERVER_UNAUTHORIZED');
  });

  it('refuses a wrong token (401) and takes either configured one', async () => {
    const wrong = await api(served.url, '/v1/runs', { headers: auth('not-the-token-0123456789') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toContain('got another one');
    expect((await api(served.url, '/v1/runs', { headers: auth(TOKEN) })).status).toBe(200);
    expect((await api(served.url, '/v1/runs', { headers: auth(OTHER) })).status).toBe(200);
  });

  it('refuses a Host header that names another site (DNS rebinding), before the token is even looked at', async () => {
    const rebound = await raw('/v1/runs', { host: `evil.example:${served.port}`, ...auth() });
    expect(rebound.status).toBe(403);
    expect(rebound.body.error?.code).toBe('FANOUT_SERVER_HOST_REFUSED');
    expect((await raw('/healthz', { host: `localhost:${served.port}` })).status).toBe(200);
  });

  it('refuses a page of another origin, and takes its own', async () => {
    const foreign = await api(served.url, '/v1/runs', { headers: { ...auth(), origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('FANOUT_SERVER_ORIGIN_REFUSED');
    expect((await api(served.url, '/v1/runs', { headers: { ...auth(), origin: served.url } })).status).toBe(200);
  });

  it('refuses a body over --max-body (413)', async () => {
    const big = { operations: [{ id: 'a', kind: 'read', input: { path: 'x'.repeat(4096) } }] };
    const { status, body } = await api(served.url, '/v1/runs', { method: 'POST', headers: auth(), json: big });
    expect(status).toBe(413);
    expect(body.error.code).toBe('FANOUT_SERVER_BODY_TOO_LARGE');
  });

  it('refuses a body sent without a length (chunked) once it passes --max-body (413)', async () => {
    const chunk = new TextEncoder().encode(`{"operations":[{"id":"a","kind":"read","input":{"path":"${'x'.repeat(1024)}`);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far past the limit, then an end that would parse: only the count refuses it.
        if (sent++ < 8) controller.enqueue(sent === 1 ? chunk : new TextEncoder().encode('x'.repeat(1024)));
        else {
          controller.enqueue(new TextEncoder().encode('"}}]}'));
          controller.close();
        }
      },
    });
    const response = await fetch(new URL('/v1/runs', served.url), { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FANOUT_SERVER_BODY_TOO_LARGE');
  });

  it('refuses a plan over --max-operations (429)', async () => {
    const operations = Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, kind: 'read', input: { path: 'inside.txt' } }));
    const { status, headers, body } = await api(served.url, '/v1/runs', { method: 'POST', headers: auth(), json: { operations } });
    expect(status).toBe(429);
    expect(headers.get('retry-after')).not.toBeNull();
    expect(body.error.code).toBe('FANOUT_SERVER_TOO_MANY_OPERATIONS');
  });

  it('refuses bash and write unless the server allows them (403, each operation named)', async () => {
    const { status, body } = await api(served.url, '/v1/runs', {
      method: 'POST',
      headers: auth(),
      json: {
        operations: [
          { id: 'w', kind: 'write', input: { path: 'x', content: 'y' } },
          { id: 'b', kind: 'bash', input: { command: ['true'] } },
        ],
      },
    });
    expect(status).toBe(403);
    expect(body.error.code).toBe('FANOUT_SERVER_KIND_DISABLED');
    expect(body.error.issues.map((i: { path: string }) => i.path)).toEqual(['operations[0].kind', 'operations[1].kind']);
  });

  it('fails an operation whose path escapes the roots; the rest of the run goes on', async () => {
    const posted = await api(served.url, '/v1/runs', {
      method: 'POST',
      headers: auth(),
      json: {
        operations: [
          { id: 'ok', kind: 'read', input: { path: 'inside.txt' } },
          { id: 'escape', kind: 'read', input: { path: '../../../../etc/passwd' } },
        ],
      },
    });
    expect(posted.status).toBe(202);
    await readEvents(served.url, posted.body.id, { headers: auth() });
    const run = await api(served.url, `/v1/runs/${posted.body.id}`, { headers: auth() });
    expect(run.body.state).toBe('failed');
    expect(run.body.summary.byState).toMatchObject({ succeeded: 1, failed: 1 });
    expect(run.body.summary.failures[0]).toMatchObject({ id: 'escape', error: { code: 'FANOUT_PATH_OUTSIDE_ROOT' } });
  });

  it('queues runs over --max-runs, refuses those over --max-queued with 429 and Retry-After; another token has its own room', async () => {
    const own = await startServer(['--token-file', 'tokens', '--allow-shell', '--max-runs', '1', '--max-queued', '1', '--data-dir', 'data-limits'], temp.dir);
    try {
      const gated = { operations: [{ id: 'wait', kind: 'bash', input: { command: ['sh', '-c', 'while [ ! -f gate ]; do sleep 0.02; done'], cwd: temp.dir } }] };
      const going = await api(own.url, '/v1/runs', { method: 'POST', headers: auth(), json: gated });
      await readEvents(own.url, going.body.id, { headers: auth(), until: (e) => e.event === 'event' && JSON.parse(e.data).type === 'op-started' });
      const queued = await api(own.url, '/v1/runs', { method: 'POST', headers: auth(), json: gated });
      expect(queued.status).toBe(202);
      expect((await api(own.url, `/v1/runs/${queued.body.id}`, { headers: auth() })).body.state).toBe('queued');
      const refused = await api(own.url, '/v1/runs', { method: 'POST', headers: auth(), json: gated });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.body.error.code).toBe('FANOUT_SERVER_TOO_MANY_RUNS');
      const other = await api(own.url, '/v1/runs', { method: 'POST', headers: auth(OTHER), json: gated });
      expect(other.status).toBe(202);
      await writeFile(join(temp.dir, 'gate'), '');
      // Once the first ends, the queued one runs.
      const events = await readEvents(own.url, queued.body.id, { headers: auth() });
      expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'succeeded' });
    } finally {
      await own.stop();
    }
  });

  it('will not listen off loopback without a token', async () => {
    const out = await runServerBin(['--host', '0.0.0.0', '--port', '0'], temp.dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('FANOUT_SERVER_TOKEN_REQUIRED');
  });
});
