/**
 * The entry of the commands bundle (see build.mjs): every command, each loaded on demand
 * (inside the bundle, a command's modules and the zod schemas they build are initialised only
 * when that command runs), and the usage errors turned into exit code 2. `grep` and `exec`
 * also have lean bundles of their own (src/bundles/), which the launcher prefers.
 */
import type { CommandName } from '../command-table.js';
import { runWith, type CommandHooks, type CommandModule } from './run-command.js';

export type { CommandHooks, CommandModule } from './run-command.js';

const LOADERS: Record<CommandName, () => Promise<CommandModule>> = {
  run: () => import('./run.js'),
  validate: () => import('./validate.js'),
  'explore-codebase': () => import('./explore-codebase.js'),
  'explore-web': () => import('./explore-web.js'),
  start: () => import('./start.js'),
  grep: () => import('./grep.js'),
  exec: () => import('./exec.js'),
  profiles: () => import('./profiles.js'),
  schema: () => import('./schema.js'),
  mcp: () => import('./mcp.js'),
  serve: () => import('./serve.js'),
  agents: () => import('./agents.js'),
  worker: () => import('./worker.js'),
};

/**
 * Runs the command `name` with its arguments and returns its exit code. A usage error is
 * printed with the command's usage line (exit 2); other errors are the caller's.
 */
export function runCommand(name: CommandName, argv: string[], hooks?: CommandHooks): Promise<number> {
  return runWith(name, LOADERS[name], argv, hooks);
}
