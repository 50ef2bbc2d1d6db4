/*
 * A real server on 127.0.0.1 that takes 3 requests at once and turns the rest away, as an
 * overloaded service does: with 503 or 429 and no Retry-After, or by resetting the
 * connection. A burst of 60 fetches must bring the pool's limit down (the answers are drops
 * for its limiter) in time for the retries, so the retry budget is not spent on the first
 * burst. Asserted on the run's events and summary, never on time.
 */
import type { ServerResponse } from 'node:http';
import { createScheduler, type SchedulerEvent } from '@fanout/scheduler';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAdapter } from '../../src/web/index.js';
import { startServer, type TestServer } from './http-server.js';

type Refusal = '503' | '429' | 'reset';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Starts a server serving 3 at once (each held 50 ms) and refusing the others as `refusal` says. */
async function busyServer(refusal: Refusal): Promise<{ server: TestServer; served: () => number; refused: () => number }> {
  let inflight = 0;
  let served = 0;
  let refused = 0;
  const refuse = (response: ServerResponse): void => {
    refused++;
    if (refusal === 'reset') {
      response.socket?.resetAndDestroy();
      return;
    }
    response.statusCode = Number(refusal);
    response.end('busy');
  };
  server = await startServer((_request, response) => {
    if (inflight >= 3) return refuse(response);
    inflight++;
    setTimeout(() => {
      inflight--;
      served++;
      response.end('ok');
    }, 50);
  });
  return { server, served: () => served, refused: () => refused };
}

describe('a burst against a server that takes 3 at once', () => {
  it.each(['503', '429', 'reset'] as const)('refusing with %s (no Retry-After): the limit comes down, and most of the burst gets through', async (refusal) => {
    const { server, served, refused } = await busyServer(refusal);
    const fetch = fetchAdapter();
    try {
      const run = createScheduler({ adapters: [fetch] }).run({
        operations: Array.from({ length: 60 }, (_, i) => ({ id: `f${i}`, kind: 'fetch', input: { url: `${server.origin}/${i}` } })),
      });
      const events: SchedulerEvent[] = [];
      run.on((event) => {
        if (event.type === 'limit-changed' || event.type === 'op-retrying' || event.type === 'op-started') events.push(event);
      });
      const result = await run.result;
      const cuts = events.filter((event) => event.type === 'limit-changed' && event.reason === 'drop');
      expect(cuts.length, 'limit cuts for drops').toBeGreaterThan(0);
      const lowest = Math.min(...events.flatMap((event) => (event.type === 'limit-changed' ? [event.to] : [])));
      expect(lowest).toBeLessThanOrEqual(4);
      // The first cut comes before the burst's retries have all gone out at the starting limit.
      const firstCut = events.indexOf(cuts[0]!);
      const retriesBefore = events.slice(0, firstCut).filter((event) => event.type === 'op-started' && event.attempt > 1).length;
      expect(retriesBefore, 'retries started before the limit was first cut').toBeLessThan(5);
      expect(refused()).toBeGreaterThan(0);
      // Measured: 42–53 of 60 succeed; 12–38 did when the limit came down only once a window had aged.
      expect(result.summary.byState.succeeded, `succeeded (served ${served()}, refused ${refused()})`).toBeGreaterThanOrEqual(40);
    } finally {
      await fetch.close();
    }
  });
});
