/**
 * How a command runs, in every bundle (see build.mjs): its module is loaded, run with its
 * arguments, and a usage error is printed with the command's usage line (exit code 2).
 */
import type { EarlyRipgrep } from '@fanout/adapters/grep/early';
import { EXIT, UsageError } from '../args.js';
import { COMMANDS, type CommandName } from '../command-table.js';

/** What the launcher (main.ts) gives a command besides its arguments. */
export interface CommandHooks {
  /**
   * The command's start is over (`fanout mcp`: its client initialised): the launcher writes a
   * code cache it had to make now rather than at exit, so that the cache holds what a start
   * compiles and not everything a long session did.
   */
  started?(): void;
  /** `fanout grep`'s `rg`, started by the launcher before the command loaded (see early-grep.ts). */
  earlyRipgrep?: EarlyRipgrep;
}

/** What a command module exports. */
export interface CommandModule {
  run(argv: string[], hooks?: CommandHooks): Promise<number>;
}

/**
 * Runs the command `name`, whose module `load` gives, with its arguments and returns its exit
 * code. A usage error is printed with the command's usage line (exit 2); other errors are the
 * caller's.
 */
export async function runWith(name: CommandName, load: () => Promise<CommandModule>, argv: string[], hooks?: CommandHooks): Promise<number> {
  try {
    const command = await load();
    return await command.run(argv, hooks);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout ${name}: ${error.message}\nUsage: ${COMMANDS[name].usage}\nRun "fanout ${name} --help" for its flags.\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

/**
 * The `runCommand` of a bundle made for one command (`src/bundles/`): it runs `only`, whose
 * module is bundled with it, and refuses any other name (the launcher picked the wrong bundle).
 */
export function runsOnly(only: CommandName, command: CommandModule): (name: CommandName, argv: string[], hooks?: CommandHooks) => Promise<number> {
  return (name, argv, hooks) => {
    if (name !== only) throw new Error(`expected the command "${only}" of this bundle, got "${name}"`);
    return runWith(name, async () => command, argv, hooks);
  };
}

/**
 * The id of a run that is neither journaled nor shown (`fanout grep`, `fanout exec`): unique
 * on this machine at this time. The scheduler's default, a random UUID, loads node:crypto
 * (~16 internal modules) at the start of every such command.
 */
export function localRunId(name: CommandName): string {
  return `${name}-${process.pid}-${Date.now().toString(36)}`;
}
