import type { BashInput } from './schema.js';

/** What to spawn for an input, and which input fields to name in errors. */
export interface ResolvedCommand {
  /** The program to spawn (looked up on the environment's PATH when it has no slash). */
  file: string;
  args: string[];
  /** `[file, ...args]`: what the output reports as `command`. */
  argv: string[];
  /** The field a failure of the process names: `command` or `script`. */
  field: 'command' | 'script';
  /** The field a failure to start names: `command[0]` or `shell`. */
  programField: 'command[0]' | 'shell';
}

/**
 * Argv form runs `command` as given, with no shell: nothing in it is interpreted, so a `;`,
 * `$()` or a quote in an argument stays an argument. The shell form runs
 * `shell -c script [shell ...args]`, and only because the input asked for it; values go in as
 * positional parameters (`"$1"`), never spliced into the script's text. A blocklist of
 * "dangerous" commands is no boundary (shell MCP servers that filtered by one were bypassed
 * with `;`, `$()`, quotes and newlines: ANCHORS.md), so there is none.
 */
export function resolveCommand(input: BashInput, defaultShell: string): ResolvedCommand {
  if (input.command !== undefined) {
    const [file, ...args] = input.command as [string, ...string[]];
    return { file, args, argv: [file, ...args], field: 'command', programField: 'command[0]' };
  }
  const shell = input.shell === true || input.shell === undefined ? defaultShell : input.shell;
  const args = ['-c', input.script ?? ''];
  // $0 names the script in the shell's own messages; $1… are the values.
  if (input.args !== undefined && input.args.length > 0) args.push(shell, ...input.args);
  return { file: shell, args, argv: [shell, ...args], field: 'script', programField: 'shell' };
}
