/**
 * The address policy `fanout run` gives fetch when the configuration says nothing: loopback
 * (a developer's own servers) is reached; the cloud metadata endpoint, link-local and private
 * addresses are refused — on the URL, and after a redirect — with FANOUT_HTTP_ADDRESS_REFUSED,
 * which the adapter answers before it connects (a connection to them would fail with a network
 * code instead, or hang until its timeout). The allowed case runs against a real HTTP server
 * on 127.0.0.1; nothing is sent anywhere else.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

let dir: string;
let site: Server;
let port: number;
/** The paths the loopback site was asked for. */
const seen: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-fetch-policy-'));
  await mkdir(join(dir, 'home'));
  site = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('local page\n');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  port = (site.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => site.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

interface Finished {
  type: string;
  id: string;
  state: string;
  error?: { code: string; message: string };
}

describe('fanout run: the default address policy of fetch', () => {
  it('reaches loopback; refuses metadata, link-local and private addresses, and a redirect to metadata, before connecting', async () => {
    const fetchOp = (id: string, url: string) => ({ id, kind: 'fetch', input: { url }, retry: { attempts: 1 } });
    await writeFile(
      join(dir, 'plan.json'),
      JSON.stringify({
        name: 'address policy',
        operations: [
          fetchOp('loopback', `http://127.0.0.1:${port}/page`),
          fetchOp('localhost', `http://localhost:${port}/page`),
          fetchOp('metadata', 'http://169.254.169.254/latest/meta-data/'),
          fetchOp('link-local', 'http://169.254.1.1/'),
          fetchOp('private-10', 'http://10.0.0.1/'),
          fetchOp('private-172', 'http://172.16.0.1/'),
          fetchOp('private-192', 'http://192.168.1.1/'),
          fetchOp('private-v6', 'http://[fd00::1]/'),
          fetchOp('redirected', `http://127.0.0.1:${port}/to-metadata`),
        ],
      }),
    );
    // No configuration anywhere: none in the tree (a temp dir), none of the user's, none named.
    const env = { HOME: join(dir, 'home'), XDG_CONFIG_HOME: join(dir, 'home', '.config'), FANOUT_CONFIG: undefined, FANOUT_PROFILE: undefined };
    const result = await fanout(['run', 'plan.json', '--ndjson'], { cwd: dir, env });
    const finished = new Map(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Finished)
        .filter((event) => event.type === 'op-finished')
        .map((event) => [event.id, event]),
    );
    expect(finished.size, `expected an op-finished event per operation, got: ${result.stdout}\n${result.stderr}`).toBe(9);
    expect(finished.get('loopback')?.state).toBe('succeeded');
    expect(finished.get('localhost')?.state).toBe('succeeded');
    const refused: [string, string][] = [
      ['metadata', 'metadata address 169.254.169.254'],
      ['link-local', 'link-local address 169.254.1.1'],
      ['private-10', 'private address 10.0.0.1'],
      ['private-172', 'private address 172.16.0.1'],
      ['private-192', 'private address 192.168.1.1'],
      ['private-v6', 'private address fd00::1'],
      ['redirected', 'metadata address 169.254.169.254'],
    ];
    for (const [id, what] of refused) {
      const op = finished.get(id)!;
      expect({ id, state: op.state, code: op.error?.code }).toEqual({ id, state: 'failed', code: 'FANOUT_HTTP_ADDRESS_REFUSED' });
      expect(op.error?.message).toContain(`got ${what}`);
      expect(op.error?.message).toContain('(allowed now: loopback)');
    }
    // The loopback site saw the two pages and the redirect, and nothing followed it.
    expect(seen.sort()).toEqual(['/page', '/page', '/to-metadata']);
    // A run with failed operations says so in its exit code.
    expect(result.code).toBe(1);
  });
});
