/**
 * A run's events as Server-Sent Events, written straight to Node's response. The events of one
 * turn of the event loop go out as one write (a run's burst of events is one chunk, a finished
 * run's whole history too), without a web stream per subscriber: at a thousand subscribers,
 * or a hundred short runs a second, what a run costs is mostly what each event costs.
 */
import type { ServerResponse } from 'node:http';
import type { Subscriber } from './runs.js';
import type { RunState } from './store.js';

/** How often a quiet stream sends a comment, so that proxies and clients do not take it for a dead connection. */
const KEEP_ALIVE_MS = 15_000;

const HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-content-type-options': 'nosniff' };

/**
 * Streams the events `subscribe` sends to `outgoing`, then `end` and the end of the response.
 * `subscribe` returns the function that stops the subscription (called when the client goes).
 * The head is written once `subscribe` has delivered something or resolved, so a failure to
 * subscribe can still be answered with an error.
 */
export async function streamEvents(outgoing: ServerResponse, subscribe: (subscriber: Subscriber) => Promise<() => void>): Promise<void> {
  let pending = '';
  let scheduled = false;
  let over = false;
  let stop: (() => void) | undefined;
  const flush = (): void => {
    scheduled = false;
    if (!outgoing.headersSent) outgoing.writeHead(200, HEAD);
    if (pending === '' || outgoing.destroyed) return;
    outgoing.write(pending);
    pending = '';
  };
  const keepAlive = setInterval(() => {
    if (!outgoing.destroyed) outgoing.write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  keepAlive.unref();
  const finish = (): void => {
    if (over) return;
    over = true;
    clearInterval(keepAlive);
    stop?.();
  };
  outgoing.once('close', finish);
  const subscriber: Subscriber = {
    event(id: number, data: string): void {
      if (over) return;
      pending += `event: event\ndata: ${data}\nid: ${id}\n\n`;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    end(state: RunState): void {
      if (over) return;
      pending += `event: end\ndata: ${JSON.stringify({ state })}\n\n`;
      // One write: the head (when not sent yet), what is pending and the response's end (a
      // write() then an end() were two syscalls, the end's chunk alone in the second).
      if (!outgoing.headersSent) outgoing.writeHead(200, HEAD);
      if (!outgoing.destroyed) outgoing.end(pending);
      pending = '';
      finish();
    },
  };
  try {
    stop = await subscribe(subscriber);
  } catch (error) {
    clearInterval(keepAlive);
    over = true;
    throw error;
  }
  if (over) stop();
  else flush();
}
