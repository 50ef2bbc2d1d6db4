/**
 * What every request must pass before a route sees it: a `Host` this server answers for (a
 * page of another site that rebinds its name to 127.0.0.1 sends its own), an `Origin` of this
 * server or one allowed, and the bearer token when one is set — compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { networkInterfaces, hostname } from 'node:os';
import { isIP } from 'node:net';
import { ServerError } from './errors.js';

/** True for 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function bracket(name: string): string {
  return isIP(name) === 6 ? `[${name}]` : name;
}

/**
 * The `Host` values this server answers for: the address it listens on, and on loopback the
 * loopback names; on a wildcard address, the machine's name and its interfaces' addresses;
 * plus what `--allow-host` adds. Each with and without the port (a browser omits :80).
 */
export function allowedHosts(host: string, port: number, extra: readonly string[]): Set<string> {
  const names = new Set<string>([host.toLowerCase()]);
  if (isLoopbackHost(host)) for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name);
  if (host === '0.0.0.0' || host === '::') {
    names.add('localhost').add('127.0.0.1').add('::1').add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) for (const entry of list ?? []) names.add(entry.address.toLowerCase());
  }
  const allowed = new Set<string>();
  for (const name of names) {
    allowed.add(`${bracket(name)}:${port}`);
    if (port === 80) allowed.add(bracket(name));
  }
  for (const entry of extra) {
    const lower = entry.toLowerCase();
    allowed.add(lower);
    if (!/:\d+$/.test(lower)) allowed.add(`${lower}:${port}`);
  }
  return allowed;
}

/** Checks `Host` and `Origin`; throws the refusal. */
export function checkHostAndOrigin(headers: { host: string | undefined; origin: string | undefined }, hosts: ReadonlySet<string>, origins: ReadonlySet<string>): void {
  const host = headers.host?.toLowerCase();
  if (host === undefined || !hosts.has(host)) {
    throw new ServerError(
      'FANOUT_SERVER_HOST_REFUSED',
      `expected a Host header naming this server (${[...hosts].slice(0, 4).join(', ')}…), got ${host === undefined ? 'none' : JSON.stringify(host)}; start it with --allow-host to answer for another name`,
    );
  }
  const origin = headers.origin;
  if (origin === undefined) return;
  const lower = origin.toLowerCase();
  if (lower === `http://${host}` || lower === `https://${host}` || origins.has(lower)) return;
  throw new ServerError('FANOUT_SERVER_ORIGIN_REFUSED', `expected requests from pages of this server (http://${host}) or an --allow-origin, got Origin ${JSON.stringify(origin)}`);
}

/** The tokens a server accepts, each compared in constant time, each naming a principal for the per-token limits. */
export class Tokens {
  readonly #digests: { digest: Buffer; principal: string }[];

  /** `tokens` may be empty: every request is then the one principal "local". */
  constructor(tokens: readonly string[]) {
    this.#digests = tokens.map((token) => {
      const digest = createHash('sha256').update(token).digest();
      return { digest, principal: digest.subarray(0, 6).toString('hex') };
    });
  }

  get required(): boolean {
    return this.#digests.length > 0;
  }

  /**
   * The principal of a request's `Authorization` header. Both sides are hashed first, so the
   * comparison is of equal lengths and takes the same time whatever the token sent.
   */
  principal(authorization: string | undefined): string {
    if (!this.required) return 'local';
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match === null) throw new ServerError('FANOUT_SERVER_UNAUTHORIZED', `expected an "Authorization: Bearer <token>" header, got ${authorization === undefined ? 'none' : 'another scheme'}`);
    const sent = createHash('sha256').update(match[1]!).digest();
    let found: string | undefined;
    // Every token is compared, so the time does not tell which one matched.
    for (const { digest, principal } of this.#digests) if (timingSafeEqual(sent, digest) && found === undefined) found = principal;
    if (found === undefined) throw new ServerError('FANOUT_SERVER_UNAUTHORIZED', 'expected a token this server was started with, got another one');
    return found;
  }
}
