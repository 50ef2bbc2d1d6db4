/**
 * The entry of the commands bundle (see build.mjs): every command, each loaded on demand
 * (inside the bundle, a command's modules and the zod schemas they build are initialised only
 * when that command runs), and the usage errors turned into exit code 2.
 */
import { EXIT, UsageError } from '../args.js';
import { COMMANDS, type CommandName } from '../command-table.js';

/** What a command module exports. */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

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
export async function runCommand(name: CommandName, argv: string[]): Promise<number> {
  try {
    const command = await LOADERS[name]();
    return await command.run(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout ${name}: ${error.message}\nUsage: ${COMMANDS[name].usage}\nRun "fanout ${name} --help" for its flags.\n`);
      return EXIT.usage;
    }
    throw error;
  }
}
