import { PerformanceObserver } from 'node:perf_hooks';
import { defineAdapter } from '@fanout/scheduler';
import { z } from 'zod';

/** The no-op every scheduler benchmark runs: an async function that does nothing. */
export const noop = defineAdapter({
  kind: 'noop',
  input: z.unknown(),
  defaults: { maxConcurrency: 16, optimalConcurrency: 16 },
  run: async () => {},
});

/** An async no-op for the anchors. */
export async function noopTask(): Promise<void> {}

/** Runs `gc()` when the process was started with --expose-gc, so each subject starts clean (before its warm-up). */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Time spent in garbage collection between `start()` and `stop()` (performance timeline
 * entries, which arrive asynchronously: `stop` waits a turn for them).
 */
export function gcTimer(): { start(): void; stop(): Promise<number> } {
  let from = Infinity;
  let to = Infinity;
  let total = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.startTime >= from && entry.startTime <= to) total += entry.duration;
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    start() {
      from = performance.now();
    },
    async stop() {
      to = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
      observer.disconnect();
      return total;
    },
  };
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** A small seeded PRNG (mulberry32), so plans are the same in every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
