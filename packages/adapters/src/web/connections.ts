import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, type AddressClass } from './addresses.js';

/** How an adapter's connections are made. */
export interface ConnectionOptions {
  /** Most connections kept per origin. */
  connectionsPerOrigin: number;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** A dispatcher of your own (a `ProxyAgent`, a `MockAgent`); the adapter then owns none. */
  dispatcher?: Dispatcher | undefined;
  /** Address classes connections may reach (checked after DNS resolution); all when undefined. */
  allowedAddresses?: ReadonlySet<AddressClass> | undefined;
}

/**
 * The connection pools of one adapter: an undici `Agent`, which keeps one `Pool` per origin,
 * made on first use and closed by {@link Connections.close}. After `close` the next request
 * makes a new one, so an adapter can be closed between runs and used again.
 */
export class Connections {
  readonly #options: ConnectionOptions;
  #agent: Agent | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** The dispatcher requests go through. */
  get dispatcher(): Dispatcher {
    if (this.#options.dispatcher !== undefined) return this.#options.dispatcher;
    this.#agent ??= new Agent({
      connections: this.#options.connectionsPerOrigin,
      connect: this.#options.allowedAddresses === undefined ? { timeout: this.#options.connectTimeoutMs } : { timeout: this.#options.connectTimeoutMs, lookup: guardedLookup(this.#options.allowedAddresses) },
      headersTimeout: this.#options.headersTimeoutMs,
      bodyTimeout: this.#options.bodyTimeoutMs,
    });
    return this.#agent;
  }

  /**
   * Closes the pools this adapter made: requests in flight finish, idle sockets close. A
   * dispatcher passed in options is left to its owner.
   */
  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.close();
  }

  /** Like {@link close}, but aborts requests in flight. */
  async destroy(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await agent?.destroy();
  }
}
