/**
 * The programs a fleet runs to their end (git, the setup and verify commands) are forked by
 * the bash adapter's spawn server: a pool of small bash workers, so that Node does not fork
 * its own large process, on the event loop, for each of them. Spawning git from the CLI's
 * process cost about 5.5 ms of its CPU per command on 2 loaded cores and held its event loop
 * up to 260 ms at 8 at once; through the workers, 2.6 ms and 50-70 ms. The results are
 * runProcess's (process group, TERM-then-KILL on abort, capped output, exit code), see
 * SpawnServer for the differences (the output goes through private files, read at the end).
 * The agent itself is still spawned by Node: its events are read as it prints them.
 *
 * One server for the whole process: its idle workers hold no reference (they do not keep Node
 * alive) and its directory is removed at exit.
 */
import { SpawnServer, type ProcessOutcome, type ProcessSpec } from '@fanout/adapters/shell';

let server: SpawnServer | undefined;

/** Runs `spec` to its end as `runProcess` does, forked by a spawn-server worker when it can be. */
export function runToEnd(spec: ProcessSpec, signal: AbortSignal): Promise<ProcessOutcome> {
  server ??= new SpawnServer();
  return server.run(spec, signal);
}

/**
 * Stops the server's workers and removes its directory (the next command starts a new pool).
 * For test runners, which end their workers without Node's `exit` event.
 */
export async function closeSpawner(): Promise<void> {
  const closing = server;
  server = undefined;
  await closing?.close();
}
