import type { AttemptContext } from '@fanout/scheduler';

/**
 * An attempt context for calling an adapter's `run` directly, outside a scheduler, as one
 * attempt would.
 */
export function attemptContext(signal: AbortSignal = new AbortController().signal, progress: (data: unknown) => void = () => {}): AttemptContext {
  return { id: 'direct', kind: 'direct', attempt: 1, signal, deadline: undefined, progress };
}

/**
 * Polls `probe` until it holds or `withinMs` passes; resolves whether it held. A bound on real
 * work (a process ending, a socket closing), not a timing assertion.
 */
export async function eventually(probe: () => boolean | Promise<boolean>, withinMs = 5000, everyMs = 10): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
