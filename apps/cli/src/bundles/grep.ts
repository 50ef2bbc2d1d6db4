/**
 * The entry of the `fanout grep` bundle (see build.mjs): only `grep` and what it imports, so
 * that a short `fanout grep` reads, compiles and initialises none of the other commands'
 * modules (explore, serve, mcp, agents, distributed…).
 */
// First: the schemas the command's modules build at import are built without zod's compiled fast path.
import './zod-jitless.js';
import * as command from '../commands/grep.js';
import { runsOnly } from '../commands/run-command.js';

/** Runs `fanout grep` (the only command of this bundle) and returns its exit code. */
export const runCommand = runsOnly('grep', command);
