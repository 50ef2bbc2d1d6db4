/** The address classes fetch's SSRF policy refuses, and the refusal on a real loopback server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createScheduler } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import { addressClass, fetchAdapter } from '../../src/web/index.js';

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
