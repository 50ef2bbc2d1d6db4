#!/usr/bin/env node
/**
 * The `fanout` command. Commands are loaded on demand, so `fanout exec` never pays for the
 * web adapters' imports (start-up time is most of a short run).
 */
import { readFileSync } from 'node:fs';
import { EXIT, UsageError } from './args.js';

/** What a command module exports. */
export interface CommandModule {
  run(argv: string[]): Promise<number>;
}

interface CommandEntry {
  summary: string;
  usage: string;
  load: () => Promise<CommandModule>;
}

const COMMANDS: Record<string, CommandEntry> = {
  run: { summary: 'run a plan file (or - for standard input)', usage: 'fanout run <plan.json | -> [flags]', load: () => import('./commands/run.js') },
  validate: { summary: 'check a plan, reporting every problem with its path', usage: 'fanout validate <plan.json | ->', load: () => import('./commands/validate.js') },
  'explore-codebase': {
    summary: 'explore a codebase in parallel and print what it found (alias: explore)',
    usage: 'fanout explore-codebase [dir] [--size small|medium|large] [--pattern P]… [flags]',
    load: () => import('./commands/explore-codebase.js'),
  },
  'explore-web': {
    summary: 'search the web on a topic across providers and categories',
    usage: 'fanout explore-web <topic> [--depth simple|complex|comprehensive] [flags]',
    load: () => import('./commands/explore-web.js'),
  },
  start: { summary: 'discover a project: structure, context, complexity, all at once', usage: 'fanout start [dir] [flags]', load: () => import('./commands/start.js') },
  grep: { summary: 'search files, ripgrep-style (-i -w -F -c -l -C N --glob, --json)', usage: 'fanout grep <pattern> [paths...] [flags]', load: () => import('./commands/grep.js') },
  agents: {
    summary: 'run coding agents on tasks in parallel, each in its own git worktree (and clean up after)',
    usage: 'fanout agents [tasks-file | -] [--agent claude,codex:2] [flags] [::: task…]  |  fanout agents clean',
    load: () => import('./commands/agents.js'),
  },
  exec: {
    summary: 'run commands in parallel, like GNU parallel / xargs -P',
    usage: "fanout exec [-j N] [-k] [command {}] [::: args...]  (or commands on standard input)",
    load: () => import('./commands/exec.js'),
  },
  profiles: { summary: 'list the built-in profiles, or show one', usage: 'fanout profiles [name]', load: () => import('./commands/profiles.js') },
  schema: { summary: 'print the JSON Schemas of plans and configuration', usage: 'fanout schema [plan|config]', load: () => import('./commands/schema.js') },
};

const ALIASES: Record<string, string> = { explore: 'explore-codebase' };

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `fanout ${version()} — run batches of tool operations in parallel, in order only where a dependency demands it

Usage: fanout <command> [arguments] [flags]

Commands:
${lines.join('\n')}

Run "fanout <command> --help" for a command's flags.
Exit codes: 0 all succeeded, 1 some operations failed, 2 usage or validation error, 130 interrupted.`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined) return main([topic, '--help']);
    process.stdout.write(`${help()}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const name = ALIASES[first] ?? first;
  const entry = COMMANDS[name];
  if (entry === undefined) {
    const known = Object.keys(COMMANDS).join(', ');
    process.stderr.write(`fanout: unknown command "${first}"; expected one of: ${known}\nRun "fanout --help" for usage.\n`);
    return EXIT.usage;
  }
  try {
    const command = await entry.load();
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`fanout ${name}: ${error.message}\nUsage: ${entry.usage}\nRun "fanout ${name} --help" for its flags.\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

// A reader that stops early (`fanout grep … | head`) is not an error: stop quietly, as grep does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Configuration and plan errors are the user's to fix (exit 2) and list every problem;
    // anything else is a failure of the run itself.
    const code = (error as { code?: unknown }).code;
    const named = typeof code === 'string' ? ` (${code})` : '';
    process.stderr.write(`fanout: ${(error as Error)?.message ?? String(error)}${named}\n`);
    process.exitCode = code === 'FANOUT_CONFIG_INVALID' || code === 'FANOUT_PLAN_INVALID' || code === 'FANOUT_JOURNAL_INVALID' ? EXIT.usage : EXIT.failed;
  },
);
