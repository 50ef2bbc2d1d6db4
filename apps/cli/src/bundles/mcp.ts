/**
 * The entry of the `fanout mcp` bundle (see build.mjs): only `mcp` and what it imports, so
 * that the start of `fanout mcp`, which an MCP client waits for before it lists the tools,
 * reads, compiles and initialises none of the other commands' modules (explore, serve,
 * agents, distributed…).
 */
import type { CommandName } from '../command-table.js';
import * as command from '../commands/mcp.js';
import { runWith } from '../commands/run-command.js';

/** Runs `fanout mcp` (the only command of this bundle) and returns its exit code. */
export function runCommand(name: CommandName, argv: string[]): Promise<number> {
  if (name !== 'mcp') throw new Error(`expected the command "mcp" of this bundle, got "${name}"`);
  return runWith(name, async () => command, argv);
}
