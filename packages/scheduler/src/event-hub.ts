/** Options of {@link EventHub.iterate}. */
export interface IterateOptions {
  /**
   * Most events held for a slow consumer. Past it, the oldest buffered events are dropped and
   * the next event delivered carries `droppedBefore` with how many were lost, so execution is
   * never held up and memory stays bounded.
   * @default Infinity
   */
  maxBuffered?: number;
  /** Ends the iteration early. */
  signal?: AbortSignal;
}

interface Subscriber<E> {
  push(event: E): void;
  end(): void;
}

/**
 * One ordered stream of events, delivered to listeners synchronously and to async iterators
 * through a buffer each, so a slow consumer never stalls the producer. With no subscriber,
 * `active` is false and the producer skips building events at all.
 */
export class EventHub<E extends object> {
  #listeners: ((event: E) => void)[] = [];
  #subscribers = new Set<Subscriber<E>>();
  #ended = false;
  #warned = new WeakSet<object>();
  /** True while anyone listens: producers check it before building an event. */
  active = false;

  /** Calls `listener` for every event, in order. Returns an unsubscribe function. */
  on(listener: (event: E) => void): () => void {
    this.#listeners = [...this.#listeners, listener];
    this.active = true;
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
      this.#update();
    };
  }

  emit(event: E): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not break the run; it still surfaces, as one process warning.
        if (!this.#warned.has(listener)) {
          this.#warned.add(listener);
          process.emitWarning(`A fanout event listener threw (further errors of it are not reported): ${String((error as Error)?.stack ?? error)}`, 'FanoutListenerWarning');
        }
      }
    }
    for (const subscriber of this.#subscribers) subscriber.push(event);
  }

  /** Ends every iterator once it has drained what it buffered. */
  end(): void {
    this.#ended = true;
    for (const subscriber of this.#subscribers) subscriber.end();
    this.#subscribers.clear();
    this.#listeners = [];
    this.active = false;
  }

  /** Iterates over the events from now on, ending when the stream ends. */
  iterate(options: IterateOptions = {}): AsyncIterableIterator<E & { droppedBefore?: number }> {
    const maxBuffered = options.maxBuffered ?? Infinity;
    const buffer: E[] = [];
    let head = 0;
    let dropped = 0;
    let ended = this.#ended;
    let wake: (() => void) | undefined;
    const subscriber: Subscriber<E> = {
      push: (event) => {
        if (buffer.length - head >= maxBuffered) {
          head++;
          dropped++;
        }
        buffer.push(event);
        wake?.();
      },
      end: () => {
        ended = true;
        wake?.();
      },
    };
    const detach = (): void => {
      this.#subscribers.delete(subscriber);
      this.#update();
    };
    if (!ended) {
      this.#subscribers.add(subscriber);
      this.active = true;
    }
    const onAbort = (): void => {
      ended = true;
      buffer.length = 0;
      head = 0;
      detach();
      wake?.();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const iterator: AsyncIterableIterator<E & { droppedBefore?: number }> = {
      next: async () => {
        for (;;) {
          if (head < buffer.length) {
            const event = buffer[head]!;
            buffer[head] = undefined as never;
            head++;
            if (head > 1024 && head * 2 > buffer.length) {
              buffer.splice(0, head);
              head = 0;
            }
            if (dropped > 0) {
              const marked = { ...event, droppedBefore: dropped };
              dropped = 0;
              return { value: marked, done: false };
            }
            return { value: event, done: false };
          }
          if (ended) {
            options.signal?.removeEventListener('abort', onAbort);
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
      },
      return: async () => {
        ended = true;
        detach();
        options.signal?.removeEventListener('abort', onAbort);
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  #update(): void {
    this.active = this.#listeners.length > 0 || this.#subscribers.size > 0;
  }
}
