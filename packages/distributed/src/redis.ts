import { OptionCheck } from '@fanout/scheduler';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { DistributedError } from './errors.js';

/** This package's option checks: `FANOUT_OPTION_INVALID` as a `DistributedError`. */
export const check = new OptionCheck(DistributedError);

/**
 * ioredis options from a `redis://` URL or options, with what BullMQ's blocking connections
 * need (no per-request retry limit). A URL is parsed by ioredis itself, without connecting.
 */
export function connectionOptions(redis: string | RedisOptions, path = 'redis'): RedisOptions {
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\/./.test(redis)) check.invalid(path, 'a redis:// or rediss:// URL', redis);
    const probe = new Redis(redis, { lazyConnect: true });
    const { host, port, db, username, password, tls, family } = probe.options;
    probe.disconnect();
    const out: RedisOptions = { maxRetriesPerRequest: null };
    for (const [key, value] of Object.entries({ host, port, db, username, password, tls, family })) if (value !== undefined && value !== '') (out as Record<string, unknown>)[key] = value;
    return out;
  }
  if (typeof redis !== 'object' || redis === null) check.invalid(path, 'a redis:// URL or ioredis options', redis);
  return { ...redis, maxRetriesPerRequest: null };
}

/** The options as BullMQ's types want them (ioredis's, under exactOptionalPropertyTypes). */
export function forBullmq(options: RedisOptions): ConnectionOptions {
  return options as ConnectionOptions;
}

/** Where a connection points, for messages (no password). */
export function describeRedis(options: RedisOptions): string {
  return `redis://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}/${options.db ?? 0}`;
}

/**
 * Connects `client` (made with `lazyConnect`) and pings Redis within `timeoutMs`; when Redis
 * does not answer, disconnects the client (no retries left running) and throws
 * `FANOUT_REDIS_UNAVAILABLE` saying where and what was got.
 */
export async function expectAnswer(client: Redis, connection: RedisOptions, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DistributedError('FANOUT_REDIS_UNAVAILABLE', `expected Redis to answer at ${describeRedis(connection)} within ${timeoutMs} ms, got no answer`, { retryable: false })), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (error) {
    client.disconnect();
    if (error instanceof DistributedError) throw error;
    throw new DistributedError('FANOUT_REDIS_UNAVAILABLE', `expected Redis to answer at ${describeRedis(connection)}, got ${(error as Error).message}`, { cause: error, retryable: false });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks that Redis answers at `redis` before anything is built on it (a worker's queues
 * retry their connections for ever): `FANOUT_REDIS_UNAVAILABLE` otherwise.
 */
export async function checkRedis(redis: string | RedisOptions, timeoutMs = 5_000): Promise<void> {
  const connection = connectionOptions(redis);
  const client = new Redis({ ...connection, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => {});
  await expectAnswer(client, connection, timeoutMs);
  await client.quit();
}

/**
 * Deletes every key under a prefix: the queues, jobs and events of one deployment (or of one
 * test). Workers and executors of that prefix should be closed first.
 */
export async function clearPrefix(redis: string | RedisOptions, prefix: string): Promise<number> {
  if (typeof prefix !== 'string' || prefix === '') check.invalid('prefix', 'a non-empty string', prefix);
  const client = new Redis({ ...connectionOptions(redis), lazyConnect: true });
  client.on('error', () => {});
  let deleted = 0;
  try {
    await client.connect();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}
