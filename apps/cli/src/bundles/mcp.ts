/**
 * The entry of the `fanout mcp` bundle (see build.mjs): only `mcp` and what it imports, so
 * that the start of `fanout mcp`, which an MCP client waits for before it lists the tools,
 * reads, compiles and initialises none of the other commands' modules (explore, serve,
 * agents, distributed…).
 */
import * as command from '../commands/mcp.js';
import { runsOnly } from '../commands/run-command.js';

/** Runs `fanout mcp` (the only command of this bundle) and returns its exit code. */
export const runCommand = runsOnly('mcp', command);
