/**
 * The adapters of the distributed-scale benchmark, shared by its executor side (schemas,
 * defaults) and its worker processes (src/distributed-worker.ts).
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchAdapter } from '@fanout/adapters/web';
import { type Adapter, defineAdapter } from '@fanout/scheduler';
import { z } from 'zod';

/** Per-kind limit of the I/O-bound plan: fetches in flight at once, across every worker. */
export const FETCH_LIMIT = 64;

/** Fixed CPU work: `rounds` SHA-256 digests of 16 KiB (about 20 ms on this machine's cores at 1,000 rounds). */
const BLOCK = Buffer.alloc(16 * 1024, 7);
export const spin = defineAdapter({
  kind: 'spin',
  input: z.object({ rounds: z.number().int().min(1) }),
  defaults: { maxConcurrency: 64, idempotent: true },
  run: ({ rounds }) => {
    let digest = BLOCK;
    for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(BLOCK).update(digest).digest();
    return digest.toString('hex', 0, 4);
  },
});

/** Nothing at all: what is left is the hand-off. */
export const noop = defineAdapter({
  kind: 'noop',
  input: z.object({ i: z.number() }),
  defaults: { maxConcurrency: 64, idempotent: true },
  run: ({ i }) => i,
});

/** Waits `ms`; records its start (pid and time) in `dir` when given, for the recovery figure. */
export const hold = defineAdapter({
  kind: 'hold',
  input: z.object({ ms: z.number(), dir: z.string() }),
  defaults: { maxConcurrency: 64, idempotent: true },
  run: ({ ms, dir }, ctx) => {
    appendFileSync(join(dir, 'starts'), `${ctx.id} ${process.pid} ${Date.now()}\n`);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
  },
});

export function benchAdapters(): Adapter[] {
  const fetch = fetchAdapter({ maxConcurrency: FETCH_LIMIT, keyLimit: FETCH_LIMIT, connectionsPerOrigin: FETCH_LIMIT });
  return [fetch as Adapter, spin as Adapter, noop as Adapter, hold as Adapter];
}
