/**
 * Progress notifications for a client that sent a progress token: one when an operation
 * ends, but at most one every 250 ms (a 1,000-operation batch must not send 1,000 messages),
 * and at least one every 5 s even while nothing ends (clients that reset their time-out on
 * progress would otherwise give up on a long grep).
 */
import { systemClock, type Clock, type TimerHandle } from '@fanout/scheduler';

/** What a notification says. */
export interface ProgressUpdate {
  /** Increases with every notification (the protocol requires it). */
  progress: number;
  total: number;
  message: string;
}

/** Where the counts come from: operations ended so far, of how many (fan-out children included). */
export interface ProgressSource {
  settled(): number;
  total(): number;
  message(): string;
}

export interface ProgressOptions {
  /** @default 250 */
  minIntervalMs?: number;
  /** @default 5000 */
  heartbeatMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * Throttles progress to the client. Call {@link changed} on every operation's end; it
 * sends at once if the last notification is at least `minIntervalMs` old, else once when it
 * is. A heartbeat goes out `heartbeatMs` after the last notification whatever happened.
 * While nothing ends, `progress` still grows, by ever smaller steps that never reach the next
 * whole number: `settled + beats / (beats + 1)`.
 */
export class ProgressReporter {
  readonly #send: (update: ProgressUpdate) => void;
  readonly #source: ProgressSource;
  readonly #clock: Clock;
  readonly #minIntervalMs: number;
  readonly #heartbeatMs: number;
  #lastSentAt = Number.NEGATIVE_INFINITY;
  #lastSettled = -1;
  #beats = 0;
  #lastProgress = Number.NEGATIVE_INFINITY;
  #pending: TimerHandle | undefined;
  #heartbeat: TimerHandle | undefined;
  #stopped = false;

  constructor(send: (update: ProgressUpdate) => void, source: ProgressSource, options: ProgressOptions = {}) {
    this.#send = send;
    this.#source = source;
    this.#clock = options.clock ?? systemClock;
    this.#minIntervalMs = options.minIntervalMs ?? 250;
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
  }

  /** Sends the first notification and arms the heartbeat. */
  start(): void {
    this.#emit();
  }

  /** Something ended: notify now, or as soon as the interval allows. */
  changed(): void {
    if (this.#stopped || this.#pending !== undefined) return;
    const wait = this.#lastSentAt + this.#minIntervalMs - this.#clock.now();
    if (wait <= 0) this.#emit();
    else
      this.#pending = this.#clock.setTimeout(() => {
        this.#pending = undefined;
        this.#emit();
      }, wait);
  }

  /** No more notifications (the call is answering). */
  stop(): void {
    this.#stopped = true;
    if (this.#pending !== undefined) this.#clock.clearTimeout(this.#pending);
    if (this.#heartbeat !== undefined) this.#clock.clearTimeout(this.#heartbeat);
    this.#pending = undefined;
    this.#heartbeat = undefined;
  }

  #emit(): void {
    if (this.#stopped) return;
    const settled = this.#source.settled();
    if (settled !== this.#lastSettled) {
      this.#lastSettled = settled;
      this.#beats = 0;
    } else {
      this.#beats++;
    }
    const progress = Math.max(settled + this.#beats / (this.#beats + 1), this.#lastProgress);
    this.#lastProgress = progress;
    this.#lastSentAt = this.#clock.now();
    if (this.#heartbeat !== undefined) this.#clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = this.#clock.setTimeout(() => {
      this.#heartbeat = undefined;
      this.#emit();
    }, this.#heartbeatMs);
    this.#send({ progress, total: Math.max(this.#source.total(), settled), message: this.#source.message() });
  }
}
