/**
 * The entry of the `fanout grep` bundle (see build.mjs): only `grep` and what it imports, so
 * that a short `fanout grep` reads, compiles and initialises none of the other commands'
 * modules (explore, serve, mcp, agents, distributed…).
 */
import type { CommandName } from '../command-table.js';
import * as command from '../commands/grep.js';
import { runWith } from '../commands/run-command.js';

/** Runs `fanout grep` (the only command of this bundle) and returns its exit code. */
export function runCommand(name: CommandName, argv: string[]): Promise<number> {
  if (name !== 'grep') throw new Error(`expected the command "grep" of this bundle, got "${name}"`);
  return runWith(name, async () => command, argv);
}
