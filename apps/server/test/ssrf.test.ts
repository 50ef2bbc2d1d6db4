/**
 * fetch refuses loopback, link-local, private and metadata addresses on the server unless
 * its configuration allows them: on an IP literal, after DNS resolution, after a redirect;
 * search refuses a provider endpoint at such an address the same way.
 * No outward traffic: the refused addresses are refused before any connection.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, readEvents, runServerBin, startServer, tempDir, type Served } from './helpers.js';

let temp: { dir: string; remove: () => Promise<void> };
let target: Server;
let targetPort: number;
let hits = 0;

beforeAll(async () => {
  temp = await tempDir();
  // A local site: / answers, /to-metadata redirects to the cloud metadata endpoint.
  target = createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/searx/search?') === true) {
      // A SearXNG instance's JSON answer.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ query: 'q', results: [{ url: 'https://example.com/a', title: 'A', content: 'a' }] }));
      return;
    }
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('local secret');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetPort = (target.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => target.close(resolve));
  await temp.remove();
});

async function fetchOutcome(served: Served, url: string): Promise<{ state: string; error?: { code: string; message: string } }> {
  return outcome(served, { id: 'f', kind: 'fetch', input: { url }, retry: { attempts: 1 } });
}

async function outcome(served: Served, operation: Record<string, unknown>): Promise<{ state: string; error?: { code: string; message: string } }> {
  const posted = await api(served.url, '/v1/runs', { method: 'POST', json: { operations: [operation] } });
  expect(posted.status).toBe(202);
  await readEvents(served.url, posted.body.id);
  const run = await api(served.url, `/v1/runs/${posted.body.id}`);
  return run.body.summary.failures[0] ?? { state: 'succeeded' };
}

describe('SSRF policy of the server', () => {
  it('refuses the metadata address, and a name that resolves to loopback, by default', async () => {
    const served = await startServer(['--data-dir', 'data-default'], temp.dir);
    try {
      const metadata = await fetchOutcome(served, 'http://169.254.169.254/latest/meta-data/');
      expect(metadata.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(metadata.error?.message).toContain('metadata address 169.254.169.254');
      const before = hits;
      const named = await fetchOutcome(served, `http://localhost:${targetPort}/`);
      expect(named.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(named.error?.message).toMatch(/loopback address .* \(localhost resolves to it\)/);
      const literal = await fetchOutcome(served, `http://127.0.0.1:${targetPort}/`);
      expect(literal.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(hits).toBe(before); // the local site was never reached
    } finally {
      await served.stop();
    }
  });

  it('with loopback allowed, reaches the local site but refuses its redirect to the metadata address', async () => {
    const served = await startServer(['--data-dir', 'data-loopback', '--allow-addresses', 'loopback'], temp.dir);
    try {
      expect((await fetchOutcome(served, `http://127.0.0.1:${targetPort}/`)).state).toBe('succeeded');
      const redirected = await fetchOutcome(served, `http://127.0.0.1:${targetPort}/to-metadata`);
      expect(redirected.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(redirected.error?.message).toContain('169.254.169.254');
    } finally {
      await served.stop();
    }
  });

  it('refuses a search provider at the metadata address or on loopback by default; search.allowAddresses allows loopback', async () => {
    const search = { id: 's', kind: 'search', input: { query: 'q' }, retry: { attempts: 1 } };
    const configs = {
      metadata: { search: { searxng: { url: 'http://169.254.169.254/searx' } } },
      loopback: { search: { searxng: { url: `http://localhost:${targetPort}/searx` } } },
      allowed: { search: { searxng: { url: `http://localhost:${targetPort}/searx` }, allowAddresses: ['loopback'] } },
    };
    for (const [name, config] of Object.entries(configs)) await writeFile(join(temp.dir, `search-${name}.json`), JSON.stringify(config));
    const before = hits;
    const metadata = await startServer(['--data-dir', 'data-search-metadata', '--config', join(temp.dir, 'search-metadata.json')], temp.dir);
    try {
      const refused = await outcome(metadata, search);
      expect(refused.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(refused.error?.message).toContain('metadata address 169.254.169.254');
    } finally {
      await metadata.stop();
    }
    const loopback = await startServer(['--data-dir', 'data-search-loopback', '--config', join(temp.dir, 'search-loopback.json')], temp.dir);
    try {
      const refused = await outcome(loopback, search);
      expect(refused.error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(refused.error?.message).toMatch(/loopback address .* \(localhost resolves to it\)/);
      expect(hits).toBe(before); // the local SearXNG was never reached
    } finally {
      await loopback.stop();
    }
    const allowed = await startServer(['--data-dir', 'data-search-allowed', '--config', join(temp.dir, 'search-allowed.json')], temp.dir);
    try {
      expect((await outcome(allowed, search)).state).toBe('succeeded');
      expect(hits).toBe(before + 1);
      // fetch keeps its own policy: allowing loopback for the providers does not open it to fetch.
      expect((await fetchOutcome(allowed, `http://127.0.0.1:${targetPort}/`)).error?.code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
    } finally {
      await allowed.stop();
    }
  });

  it('refuses an unknown address class on the command line (exit 2)', async () => {
    const out = await runServerBin(['--allow-addresses', 'loopback,everything'], temp.dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('expected --allow-addresses to list loopback, private, link-local, metadata (or none), got "everything"');
  });
});
