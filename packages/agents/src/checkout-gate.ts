/**
 * Checkouts before launches. An agent whose worktree is checked out waits, before its first
 * launch, while other worktrees are still being checked out — at most as long as its own
 * checkout took. A fleet's wave then starts together, once its checkouts are done, rather than
 * one agent at a time as each checkout ends.
 *
 * Why: an agent CLI's start is CPU (a Node or Python program loading: ~70 ms of CPU for the
 * test fixture's Node on the 2-core machine of the benchmark, far more for a real agent), and
 * with more agents than cores the agents started first took the cores from the checkouts still
 * running, which the rest of the wave waits for. On 2 cores, 16 agents at -j 16 on a 20-file
 * repository: sixteen `git reset --hard` take ~60 ms side by side from a shell, yet in the
 * fleet they ended one by one over ~400-700 ms, behind the agents already starting (and every
 * later spawn of Node's waited for a core to exec its child). Letting them finish first made
 * the run 134-153 ms shorter (medians of two sets of 6 interleaved pairs against the build
 * without it; shorter in 11 of the 12; `agents-fleet` in tools/bench measures the fleet). The wait is bounded by the agent's own checkout time, so that one slow checkout
 * (a huge tree, a slow disk) never holds the others back by more than they spent themselves.
 *
 * Only an order, never a dependency: a checkout that fails, a worktree that is never made, an
 * agent carried over from a resumed run count for nothing here, since only checkouts that run
 * are counted.
 */

/** Counts the checkouts running and lets agents wait for none to be. */
export class CheckoutGate {
  #running = 0;
  #tookMs = new Map<string, number>();
  #waiters = new Set<() => void>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Checkouts running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * A checkout of the worktree at `path` starts; the function returned is called when it has
   * ended, however it ended (called twice, it counts once).
   */
  begin(path: string): () => void {
    this.#running++;
    const started = this.#now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#tookMs.set(path, this.#now() - started);
      this.#running--;
      if (this.#running === 0) for (const wake of [...this.#waiters]) wake();
    };
  }

  /**
   * How long the agent of the worktree at `path` waits at most: as long as its checkout took
   * (0 when it made none here: a worktree left as it was, a checkout of an earlier process).
   */
  budgetMs(path: string): number {
    return this.#tookMs.get(path) ?? 0;
  }

  /**
   * Resolves once no checkout runs, or after `maxMs`, or at once when the signal is aborted
   * (the caller's own checks then see it). Resolves at once when none runs.
   */
  idle(maxMs: number, signal: AbortSignal): Promise<void> {
    if (this.#running === 0 || maxMs <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#waiters.delete(done);
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
