import type { Clock } from '@fanout/scheduler';

/**
 * The real clock with timers that never keep the process alive: a monitor that nobody stopped
 * must not hold a CLI open after its work is done.
 */
export const unrefClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
