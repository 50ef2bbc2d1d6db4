/**
 * The commands of `fanout`, by name: what `--help` lists and the usage line an error prints.
 * Data only, so that the launcher (main.ts) can answer `--help` without loading any command.
 */

/** A command's line in `fanout --help` and its usage line. */
export interface CommandInfo {
  summary: string;
  usage: string;
}

/** Every command, in the order `fanout --help` lists them. */
export const COMMANDS = {
  run: { summary: 'run a plan file (or - for standard input)', usage: 'fanout run <plan.json | -> [flags]' },
  validate: { summary: 'check a plan, reporting every problem with its path', usage: 'fanout validate <plan.json | ->' },
  'explore-codebase': {
    summary: 'explore a codebase in parallel and print what it found (alias: explore)',
    usage: 'fanout explore-codebase [dir] [--size small|medium|large] [--pattern P]… [--budget N] [--no-map] [flags]',
  },
  'explore-web': { summary: 'search the web on a topic across providers and categories', usage: 'fanout explore-web <topic> [--depth simple|complex|comprehensive] [flags]' },
  start: { summary: 'discover a project: structure, context, complexity, all at once', usage: 'fanout start [dir] [flags]' },
  grep: { summary: 'search files, ripgrep-style (-i -w -F -c -l -C N --glob, --json)', usage: 'fanout grep <pattern> [paths...] [flags]' },
  exec: {
    summary: 'run commands in parallel, like GNU parallel / xargs -P',
    usage: 'fanout exec [-j N] [-k] [command {}] [::: args...] [:::: argfile...]  (or commands on standard input)',
  },
  profiles: { summary: 'list the built-in profiles, or show one', usage: 'fanout profiles [name]' },
  schema: { summary: 'print the JSON Schemas of plans and configuration', usage: 'fanout schema [plan|config]' },
  agents: {
    summary: 'run coding agents on tasks in parallel, each in its own git worktree (and clean up after)',
    usage: 'fanout agents [tasks-file | -] [--agent claude,codex:2] [flags] [::: task…]  |  fanout agents clean',
  },
  serve: {
    summary: 'serve fanout over HTTP: runs API, live dashboard, MCP over HTTP, metrics (fanout-server)',
    usage: 'fanout serve [--host H] [--port N] [--data-dir DIR] [--token-file FILE] [flags]',
  },
  worker: {
    summary: "run operations handed out over Redis (fanout run --redis), with this machine's adapters",
    usage: 'fanout worker --redis URL [--kinds glob,grep,…] [--concurrency N] [--grace D]',
  },
  mcp: { summary: 'serve the tools to coding agents over MCP (stdio): fanout_read, fanout_web, explore…', usage: 'fanout mcp [--allow-write] [--allow-shell] [--config FILE]' },
} as const satisfies Record<string, CommandInfo>;

/** A command's name. */
export type CommandName = keyof typeof COMMANDS;

/** Other names a command answers to. */
export const ALIASES: Readonly<Record<string, CommandName>> = { explore: 'explore-codebase' };

/** The command `name` stands for (itself or through an alias), or undefined. */
export function commandNamed(name: string): CommandName | undefined {
  if (Object.hasOwn(COMMANDS, name)) return name as CommandName;
  return Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
}
