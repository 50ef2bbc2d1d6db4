/**
 * Which addresses `fetch` and `search` may connect to. A plan is data a caller may not trust: without a
 * policy, `fetch http://169.254.169.254/…` reads a cloud machine's credentials and
 * `http://127.0.0.1:6379` talks to its Redis (SSRF). The check runs on the address actually
 * connected to — in the connection's DNS lookup, so a name that resolves to a private
 * address, and every redirect hop, are checked too — and on IP literals before connecting.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { HttpError } from './http-error.js';

/**
 * Classes of addresses a policy may allow. `loopback`: 127.0.0.0/8, ::1, 0.0.0.0, ::;
 * `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7; `link-local`:
 * 169.254/16, fe80::/10; `metadata`: cloud metadata endpoints (169.254.169.254,
 * 169.254.170.2, 100.100.100.200, fd00:ec2::254), refused unless named even when link-local
 * is allowed.
 */
export type AddressClass = 'loopback' | 'private' | 'link-local' | 'metadata';

/** The classes `fetch` and `search` allow by default: loopback (a developer's local servers, a local SearXNG), nothing else. */
export const DEFAULT_ALLOWED_ADDRESSES: readonly AddressClass[] = ['loopback'];

function list(entries: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const blocks = new BlockList();
  for (const [net, prefix, type] of entries) blocks.addSubnet(net, prefix, type);
  return blocks;
}

const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);
const LOOPBACK = list([
  ['127.0.0.0', 8, 'ipv4'],
  ['0.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['::', 128, 'ipv6'],
]);
const PRIVATE = list([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
]);
const LINK_LOCAL = list([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);

/** The class of an IP address, or undefined for a public one. IPv4-mapped IPv6 counts as its IPv4 address. */
export function addressClass(address: string): AddressClass | undefined {
  let ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped !== null) ip = mapped[1]!;
  const family = isIP(ip);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA.has(ip)) return 'metadata';
  if (LOOPBACK.check(ip, type)) return 'loopback';
  if (LINK_LOCAL.check(ip, type)) return 'link-local';
  if (PRIVATE.check(ip, type)) return 'private';
  return undefined;
}

/** The refusal of `address` (reached for `host`), or undefined when the policy allows it. */
export function refuseAddress(address: string, host: string, allowed: ReadonlySet<AddressClass>, url?: string): HttpError | undefined {
  const cls = addressClass(address);
  if (cls === undefined || allowed.has(cls)) return undefined;
  const via = host.replace(/^\[|\]$/g, '') === address ? '' : ` (${host} resolves to it)`;
  return new HttpError(
    'FANOUT_HTTP_ADDRESS_REFUSED',
    `expected a public address, got ${cls} address ${address}${via}: refused unless the configuration allows ${cls} addresses (allowed now: ${[...allowed].join(', ') || 'none'})`,
    { path: 'url', url },
  );
}

/**
 * The refusal of `url` when its host is an IP literal the policy does not allow. Such a host
 * is connected to without a DNS lookup, so {@link guardedLookup} never sees it: check it
 * before each request (each redirect hop).
 */
export function refuseUrl(url: URL, allowed: ReadonlySet<AddressClass>): HttpError | undefined {
  return refuseAddress(url.hostname.replace(/^\[|\]$/g, ''), url.hostname, allowed, url.href);
}

/** The address refusal a connection failed with, however undici wrapped it (the lookup's error is its cause). */
export function refusalIn(error: unknown): HttpError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof HttpError && e.code === 'FANOUT_HTTP_ADDRESS_REFUSED') return e;
  }
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` that resolves as usual, then refuses the connection when any
 * address the name resolves to is not allowed (checking them all: the socket may try each).
 */
export function guardedLookup(allowed: ReadonlySet<AddressClass>): (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, []);
      for (const { address } of addresses) {
        const refusal = refuseAddress(address, hostname, allowed);
        if (refusal !== undefined) return callback(refusal as unknown as NodeJS.ErrnoException, []);
      }
      if ((options as LookupAllOptions).all === true) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
