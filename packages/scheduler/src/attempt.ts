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
  // Fields, reaching the engine through the context, not closures made in the constructor over
  // its `engine` parameter: with those, every run's objects survived the young-generation GCs
  // and were promoted (at one client, a server's whole run, ~8–12 KB, copied twice and then
  // collected only by a full GC; measured with --trace-gc-nvp, `promoted` per run 8.2 KB →
  // 0.16 KB in a loop of one-operation runs). A V8 behaviour we could not pin down further:
  // the closures were made and never called (a synchronous adapter), and it did not depend
  // on the JIT tiers (the same with --no-turbofan, --no-maglev).
  readonly resolve = (value: unknown): void => this.#engine.settled(this, true, value);
  readonly reject = (error: unknown): void => this.#engine.settled(this, false, error);

  constructor(engine: AttemptHost) {
    this.#engine = engine;
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
