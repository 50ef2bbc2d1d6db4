import type { Transform } from 'node:stream';
import { TextDecoder } from 'node:util';
import type { Dispatcher } from 'undici';
import { ByteCap } from '../caps.js';
import { contentDecoders } from './content-coding.js';
import { headerText, HttpError } from './http-error.js';

/** Response headers as undici gives them: names in lower case. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** How to read the body of a response, decided once its status and headers are known. */
export interface BodyPlan {
  /** Most decoded bytes kept; past them reading stops and the connection is closed. */
  keep: number;
  /** Undo the `Content-Encoding`. @default true */
  decode?: boolean;
  /**
   * Read the body to its end without keeping what passes `keep`, so that the connection can be
   * reused (a redirect's body). Past {@link DRAIN_LIMIT} bytes the connection is closed instead.
   */
  drain?: boolean;
  /** Stop waiting for the body after this long and keep what came (an error body, read for its message). */
  waitMs?: number;
}

/** Bodies drained for connection reuse larger than this are not worth it: the connection is closed. */
export const DRAIN_LIMIT = 64 * 1024;

/** One HTTP request. */
export interface ExchangeRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string | undefined;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

/** How far an exchange got, for the messages of the errors that end it. */
export interface ExchangeProgress {
  /** The status and headers arrived. */
  responded: boolean;
  /** Decoded body bytes received. */
  bytes: number;
}

/** A response read by {@link exchange}. */
export interface Exchanged {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** True when the body was longer than the plan's `keep` (or its wait ran out) and was cut. */
  readonly truncated: boolean;
  /** The decoded body kept. */
  bytes(): Buffer;
  /** The decoded body kept, as text in `charset` (UTF-8 by default; a character cut at the end is dropped). */
  text(charset?: string): string;
}

/** What an exchange is told when it starts. */
export interface ExchangeOptions {
  /** Aborting it closes the connection and rejects with its reason. */
  signal: AbortSignal;
  /** Decides how the body is read; an error returned or thrown ends the exchange with it. */
  onResponse(status: number, headers: ResponseHeaders): BodyPlan | Error;
  progress?: ExchangeProgress;
}

/** Why the exchange closed a connection itself (a cap, a wait): never seen by callers. */
const STOPPED = new Error('fanout: body no longer wanted');

/**
 * One request and its response as an undici dispatch handler (undici's `DispatchHandler`, the
 * interface its own `request()` is built on). It does what `request()` plus a body stream
 * would do without creating the stream: body chunks go straight into a {@link ByteCap}, or
 * through the content decoders into it. Measured in the fetch-fanout benchmark, `request()`
 * with a signal and its body stream cost about 13 µs of CPU a request more than this, which
 * at 64 requests in flight is most of what separated the adapter from a bare undici Pool.
 */
class Exchange implements Dispatcher.DispatchHandler, Exchanged {
  status = 0;
  headers: ResponseHeaders = {};
  truncated = false;
  readonly #url: string;
  readonly #signal: AbortSignal;
  readonly #options: ExchangeOptions;
  readonly #progress: ExchangeProgress;
  readonly #resolve: (value: Exchanged) => void;
  readonly #reject: (error: unknown) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #plan: BodyPlan | undefined;
  #cap: ByteCap | undefined;
  #stages: Transform[] | undefined;
  #raw = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settled = false;
  #stopReason: Error | undefined;

  constructor(url: string, options: ExchangeOptions, resolve: (value: Exchanged) => void, reject: (error: unknown) => void) {
    this.#url = url;
    this.#signal = options.signal;
    this.#options = options;
    this.#progress = options.progress ?? { responded: false, bytes: 0 };
    this.#resolve = resolve;
    this.#reject = reject;
  }

  readonly onAbort = (): void => {
    const reason: unknown = this.#signal.reason;
    this.#settle(false, reason);
    this.#stop(reason instanceof Error ? reason : new Error(String(reason)));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Settled before the request left the pool's queue (an abort): it must not be sent.
    if (this.#stopReason !== undefined) controller.abort(this.#stopReason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: ResponseHeaders): void {
    this.#controller = controller;
    if (this.#settled || status < 200) return; // 1xx answers are interim
    this.status = status;
    this.headers = headers;
    this.#progress.responded = true;
    let plan: BodyPlan | Error;
    try {
      plan = this.#options.onResponse(status, headers);
    } catch (error) {
      plan = error instanceof Error ? error : new Error(String(error));
    }
    if (plan instanceof Error) return this.#fail(plan);
    this.#plan = plan;
    this.#cap = new ByteCap(plan.keep);
    if (plan.decode !== false) {
      let stages: Transform[];
      try {
        stages = contentDecoders(headerText(headers['content-encoding']), this.#url);
      } catch (error) {
        return this.#fail(error);
      }
      if (stages.length > 0) this.#wire(stages);
    }
    if (plan.waitMs !== undefined) {
      this.#timer = setTimeout(() => this.#cut(), plan.waitMs);
      this.#timer.unref();
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#raw += chunk.length;
    const first = this.#stages?.[0];
    if (first === undefined) return this.#take(chunk);
    if (!first.write(chunk)) {
      controller.pause();
      first.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const stages = this.#stages;
    // No body at all (HEAD, 204, 304, or empty): there is nothing to decode.
    if (stages === undefined || this.#raw === 0) {
      this.#destroyStages();
      return this.#settle(true);
    }
    stages[0]!.end(); // the last stage's 'end' settles
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#fail(error);
  }

  bytes(): Buffer {
    return this.#cap?.bytes() ?? Buffer.alloc(0);
  }

  text(charset?: string): string {
    const cap = this.#cap;
    if (cap === undefined) return '';
    if (charset === undefined || /^utf-?8$/i.test(charset)) return cap.text();
    let decoder: TextDecoder;
    try {
      decoder = new TextDecoder(charset);
    } catch {
      return cap.text(); // an unknown label: UTF-8, the Encoding Standard's fallback
    }
    return decoder.decode(cap.bytes());
  }

  #wire(stages: Transform[]): void {
    for (let i = 0; i < stages.length - 1; i++) stages[i]!.pipe(stages[i + 1]!);
    for (const stage of stages) {
      stage.on('error', (error: Error) => {
        this.#fail(
          new HttpError('FANOUT_HTTP_DECODE', `expected a valid ${headerText(this.headers['content-encoding'])} body from ${this.#url}, but decoding failed after ${this.#progress.bytes} bytes: ${error.message}`, {
            path: 'url',
            url: this.#url,
            status: this.status,
            cause: error,
          }),
        );
      });
    }
    const last = stages.at(-1)!;
    last.on('data', (chunk: Buffer) => this.#take(chunk));
    last.on('end', () => this.#settle(true));
    this.#stages = stages;
  }

  #take(chunk: Buffer): void {
    if (this.#settled) return;
    const cap = this.#cap!;
    cap.push(chunk);
    this.#progress.bytes += chunk.length;
    if (!cap.truncated) return;
    if (this.#plan!.drain === true && this.#raw <= DRAIN_LIMIT) return;
    this.#cut();
  }

  /** Keeps what came and closes the connection: the rest is not wanted. */
  #cut(): void {
    if (this.#settled) return;
    this.truncated = true;
    // Settled first: aborting makes undici report the abort back through onResponseError.
    this.#settle(true);
    this.#stop(STOPPED);
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settle(false, error);
    this.#stop(error instanceof Error ? error : new Error(String(error)));
  }

  /**
   * Ends the request if it is still going (undici ignores an abort after the response's end).
   * The abort waits for a microtask: called from inside undici's parser callbacks (a cap passed
   * in `onResponseData`), it left the client believing a request was still pending, and undici
   * opened a fresh connection for nothing.
   */
  #stop(reason: Error): void {
    this.#stopReason ??= reason;
    const controller = this.#controller;
    if (controller !== undefined) {
      controller.pause();
      queueMicrotask(() => controller.abort(reason));
    }
    this.#destroyStages();
  }

  #destroyStages(): void {
    const stages = this.#stages;
    if (stages === undefined) return;
    this.#stages = undefined;
    for (const stage of stages) stage.destroy();
  }

  #settle(ok: boolean, error?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#signal.removeEventListener('abort', this.onAbort);
    if (ok) this.#resolve(this);
    else this.#reject(error);
  }
}

/**
 * Sends one request through `dispatcher` and reads its response as `options.onResponse`
 * plans. Resolves once the body is read (or cut); rejects with undici's error when the
 * exchange fails (a timeout, a reset), with a {@link HttpError} when the body cannot be
 * decoded, with the plan's error when it returns one, and with the signal's reason when
 * aborted — in every case the connection is closed, never left reading.
 */
export function exchange(dispatcher: Dispatcher, request: ExchangeRequest, options: ExchangeOptions): Promise<Exchanged> {
  return new Promise<Exchanged>((resolve, reject) => {
    const { signal } = options;
    if (signal.aborted) return reject(signal.reason);
    const handler = new Exchange(request.url.href, options, resolve, reject);
    signal.addEventListener('abort', handler.onAbort);
    dispatcher.dispatch(
      {
        origin: request.url.origin,
        path: request.url.pathname + request.url.search,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ?? null,
        headersTimeout: request.headersTimeoutMs,
        bodyTimeout: request.bodyTimeoutMs,
      },
      handler,
    );
  });
}
