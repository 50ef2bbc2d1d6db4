import type { AttemptContext } from './adapter.js';

/** What an {@link Attempt} asks of the engine that runs it. */
export interface AttemptHost {
  settled(context: Attempt, ok: boolean, value: unknown): void;
  idOf(index: number): string;
  kindOf(index: number): string;
  readonly runId: string;
  idempotentOf(index: number): boolean;
  signalFor(index: number, generation: number): AbortSignal;
  progress(index: number, generation: number, data: unknown): void;
}

/**
 * The context handed to an attempt; its signal is created only if the adapter reads it.
 * Contexts are reused once an attempt's promise has settled (never before), so the two
 * callbacks given to `then` are made once per context rather than once per attempt. An
 * adapter must not use its context after its promise has settled.
 */
export class Attempt implements AttemptContext {
  readonly #engine: AttemptHost;
  index = -1;
  generation = 0;
  attempt = 0;
  deadline: number | undefined = undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;

  constructor(engine: AttemptHost) {
    this.#engine = engine;
    this.resolve = (value) => engine.settled(this, true, value);
    this.reject = (error) => engine.settled(this, false, error);
  }

  get id(): string {
    return this.#engine.idOf(this.index);
  }

  get kind(): string {
    return this.#engine.kindOf(this.index);
  }

  get runId(): string {
    return this.#engine.runId;
  }

  get idempotent(): boolean {
    return this.#engine.idempotentOf(this.index);
  }

  get signal(): AbortSignal {
    return this.#engine.signalFor(this.index, this.generation);
  }

  progress(data: unknown): void {
    this.#engine.progress(this.index, this.generation, data);
  }
}
