/**
 * Ctrl-C and SIGTERM for the commands that run operations. The first cancels the run
 * gracefully: what runs gets SIGTERM, then SIGKILL after a grace period, and what finished is
 * printed. A second — or any once the run is over, while its last processes are still being
 * stopped — exits at once with 130, through `process.exit`, whose `exit` hooks (the shell
 * adapter's) SIGKILL every process group still alive, synchronously: nothing that ignores
 * SIGTERM outlives fanout.
 *
 * The handlers stay installed until the process exits: once they are gone, a signal kills
 * Node without running any `exit` hook, which is how such processes survived.
 */

/** The signals that stop a run. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** What {@link handleInterrupts} returns. */
export interface Interrupts {
  /** Whether a signal came (the command then exits with 130). */
  readonly interrupted: boolean;
  /** The run is over: from now on any signal exits at once. */
  runOver(): void;
}

/**
 * Installs the handlers: `cancel` is called on the first signal during the run, after
 * `onFirst`; `onAgain` is called just before exiting on a later one.
 */
export function handleInterrupts(handlers: { cancel: () => void; onFirst?: () => void; onAgain?: () => void }): Interrupts {
  let interrupted = false;
  let over = false;
  const onSignal = (): void => {
    if (interrupted || over) {
      handlers.onAgain?.();
      process.exit(130);
    }
    interrupted = true;
    handlers.onFirst?.();
    handlers.cancel();
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return {
    get interrupted() {
      return interrupted;
    },
    runOver() {
      over = true;
    },
  };
}
