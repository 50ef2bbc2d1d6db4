/** The address classes the SSRF policy of fetch and search refuses, and the refusal on real loopback servers. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import { addressClass, fetchAdapter, searchAdapter, type HttpError, type SearchAdapter, type SearchOutput } from '../../src/web/index.js';
import { startServer } from './http-server.js';

describe('addressClass', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['100.100.100.200', 'metadata'],
  ])('%s is %s', (address, cls) => {
    expect(addressClass(address)).toBe(cls);
  });

  it.each(['8.8.8.8', '172.32.0.1', '2606:4700::1111', 'example.com'])('%s is public (or not an address)', (address) => {
    expect(addressClass(address)).toBeUndefined();
  });
});

describe('fetch address policy', () => {
  it('reaches loopback by default and refuses it when the policy allows nothing, before connecting', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const open = fetchAdapter();
    const closed = fetchAdapter({ allowAddresses: [] });
    try {
      const plan = { operations: [{ id: 'f', kind: 'fetch', input: { url: `http://localhost:${port}/` }, retry: { attempts: 1 } }] };
      expect((await createScheduler({ adapters: [open] }).execute(plan)).get('f')!.state).toBe('succeeded');
      const refused = (await createScheduler({ adapters: [closed] }).execute(plan)).get('f')!;
      expect(refused.state).toBe('failed');
      expect((refused.error as { code: string }).code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect(hits).toBe(1);
    } finally {
      await Promise.all([open.close(), closed.close()]);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('search address policy', () => {
  /** A SearXNG instance on loopback that counts what reaches it. */
  const searxng = () =>
    startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ query: 'q', results: [{ url: 'https://example.com/a', title: 'A', content: 'a' }] }));
    });
  const env = {}; // nothing from the machine's environment
  const plan = { operations: [{ id: 's', kind: 'search', input: { query: 'q' }, retry: { attempts: 1 } }] };
  const outcome = async (adapter: SearchAdapter) => (await createScheduler({ adapters: [adapter] }).execute(plan)).get('s')!;

  it('reaches a provider on loopback by default, refuses it when the policy allows nothing, before connecting', async () => {
    const server = await searxng();
    const open = searchAdapter({ searxng: { url: server.origin }, env });
    const closed = searchAdapter({ searxng: { url: server.origin }, env, allowAddresses: [] });
    try {
      const found = await outcome(open);
      expect(found.state).toBe('succeeded');
      expect((found.output as SearchOutput).results.map((result) => result.url)).toEqual(['https://example.com/a']);
      const refused = await outcome(closed);
      expect(refused.state).toBe('failed');
      expect((refused.error as HttpError).code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect((refused.error as HttpError).message).toContain('loopback address 127.0.0.1');
      expect(server.requests).toHaveLength(1);
      expect(server.sockets).toHaveLength(1);
    } finally {
      await Promise.all([open.close(), closed.close(), server.close()]);
    }
  });

  it('refuses a provider host name that resolves to a refused address (checked after DNS resolution)', async () => {
    const server = await searxng();
    const closed = searchAdapter({ brave: { apiKey: 'k', url: `http://localhost:${server.port}/res/v1` }, env, allowAddresses: ['private'] });
    try {
      const refused = await outcome(closed);
      expect((refused.error as HttpError).code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect((refused.error as HttpError).message).toMatch(/loopback address (127\.0\.0\.1|::1) \(localhost resolves to it\)/);
      expect(server.sockets).toHaveLength(0);
    } finally {
      await Promise.all([closed.close(), server.close()]);
    }
  });

  it('refuses a metadata endpoint even when link-local addresses are allowed', async () => {
    const adapter = searchAdapter({ tavily: { apiKey: 'k', url: 'http://169.254.169.254/latest' }, env, allowAddresses: ['loopback', 'link-local', 'private'] });
    try {
      const refused = await outcome(adapter);
      expect((refused.error as HttpError).code).toBe('FANOUT_HTTP_ADDRESS_REFUSED');
      expect((refused.error as HttpError).message).toContain('metadata address 169.254.169.254');
    } finally {
      await adapter.close();
    }
  });

  it('does not follow a provider redirect: a 302 towards a refused address never reaches it', async () => {
    const target = await searxng();
    const redirecting = await startServer((_request, response) => {
      response.writeHead(302, { location: `http://localhost:${target.port}/search?q=q&format=json` });
      response.end();
    });
    // Loopback is allowed so that the redirecting provider answers; the target is checked by what reaches it.
    const adapter = searchAdapter({ searxng: { url: redirecting.origin }, env });
    try {
      const failed = await outcome(adapter);
      expect(failed.state).toBe('failed');
      expect((failed.error as HttpError).code).toBe('FANOUT_HTTP_STATUS');
      expect((failed.error as HttpError).status).toBe(302);
      expect(redirecting.requests).toHaveLength(1);
      expect(target.sockets).toHaveLength(0);
    } finally {
      await Promise.all([adapter.close(), redirecting.close(), target.close()]);
    }
  });

  it('a refused provider is a failure of the chain: the next provider answers, the refusal is listed', async () => {
    const server = await searxng();
    const adapter = searchAdapter({ providers: ['brave', 'searxng'], brave: { apiKey: 'k', url: 'http://10.0.0.1/res/v1' }, searxng: { url: server.origin }, env });
    try {
      const found = await outcome(adapter);
      expect(found.state).toBe('succeeded');
      const output = found.output as SearchOutput;
      expect(output.provider).toBe('searxng');
      expect(output.failures).toEqual([{ provider: 'brave', code: 'FANOUT_HTTP_ADDRESS_REFUSED', message: expect.stringContaining('private address 10.0.0.1') }]);
    } finally {
      await Promise.all([adapter.close(), server.close()]);
    }
  });
});
