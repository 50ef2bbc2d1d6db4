/**
 * The entry of the `fanout exec` bundle (see build.mjs): only `exec` and what it imports, so
 * that a short `fanout exec` reads, compiles and initialises none of the other commands'
 * modules (explore, serve, mcp, agents, distributed…).
 */
import * as command from '../commands/exec.js';
import { runsOnly } from '../commands/run-command.js';

/** Runs `fanout exec` (the only command of this bundle) and returns its exit code. */
export const runCommand = runsOnly('exec', command);
