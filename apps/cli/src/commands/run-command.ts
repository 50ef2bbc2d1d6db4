/**
 * How a command runs, in every bundle (see build.mjs): its module is loaded, run with its
 * arguments, and a usage error is printed with the command's usage line (exit code 2).
 */
import { EXIT, UsageError } from '../args.js';
import { COMMANDS, type CommandName } from '../command-table.js';

/** What a command module exports. */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

/**
 * Runs the command `name`, whose module `load` gives, with its arguments and returns its exit
 * code. A usage error is printed with the command's usage line (exit 2); other errors are the
 * caller's.
 */
export async function runWith(name: CommandName, load: () => Promise<CommandModule>, argv: string[]): Promise<number> {
  try {
    const command = await load();
    return await command.run(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout ${name}: ${error.message}\nUsage: ${COMMANDS[name].usage}\nRun "fanout ${name} --help" for its flags.\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

/**
 * The id of a run that is neither journaled nor shown (`fanout grep`, `fanout exec`): unique
 * on this machine at this time. The scheduler's default, a random UUID, loads node:crypto
 * (~16 internal modules) at the start of every such command.
 */
export function localRunId(name: CommandName): string {
  return `${name}-${process.pid}-${Date.now().toString(36)}`;
}
