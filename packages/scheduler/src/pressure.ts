/** What a pressure source says about one kind right now. */
export interface PressureReading {
  /** False pauses the kind: nothing new of it starts until it turns true again. */
  admit: boolean;
  /**
   * Asks the kind's limiter to cut its limit to `shrink` × its limit (0 < shrink < 1); applied
   * once per change of reading, so recovery grows the limit back through the limiter.
   */
  shrink?: number;
  /** Why, for `pressure-changed` and `limit-changed` events ("cpu 94% for 5 s"). */
  reason?: string;
}

/**
 * Gates admission per pool from the state of the machine; `@fanout/monitor` implements it.
 * The scheduler reads a kind when it creates its pool and again whenever `subscribe`'s
 * callback fires, never per operation.
 *
 * @example
 * const source: PressureSource = {
 *   read: (kind) => ({ admit: kind !== 'grep' || cpuBusy() < 0.9 }),
 *   subscribe: (onChange) => { const t = setInterval(onChange, 1000); return () => clearInterval(t); },
 * };
 */
export interface PressureSource {
  read(kind: string): PressureReading;
  /** Calls `onChange` when readings may have changed. Returns an unsubscribe function. */
  subscribe(onChange: () => void): () => void;
}
