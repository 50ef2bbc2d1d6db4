/**
 * The entry of the `fanout exec` bundle (see build.mjs): only `exec` and what it imports, so
 * that a short `fanout exec` reads, compiles and initialises none of the other commands'
 * modules (explore, serve, mcp, agents, distributed…).
 */
import type { CommandName } from '../command-table.js';
import * as command from '../commands/exec.js';
import { runWith } from '../commands/run-command.js';

/** Runs `fanout exec` (the only command of this bundle) and returns its exit code. */
export function runCommand(name: CommandName, argv: string[]): Promise<number> {
  if (name !== 'exec') throw new Error(`expected the command "exec" of this bundle, got "${name}"`);
  return runWith(name, async () => command, argv);
}
