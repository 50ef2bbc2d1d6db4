import { monitorOptions } from '@fanout/profiles';
import { duration, EXIT, parse, positiveInt, UsageError } from '../args.js';
import { loadSettings } from '../settings.js';
import type { CommandHooks } from './run-command.js';

const HELP = `Usage: fanout mcp [--allow-write] [--allow-shell] [--config FILE] [--budget-tokens N] [--deadline D]

Serves fanout's tools over the Model Context Protocol on standard input and output — the
command Claude Code, Cursor and other MCP clients launch. Tools: fanout_read (glob, grep,
read, analyze), fanout_web (fetch, search), fanout_explore_codebase, fanout_explore_web,
fanout_status and fanout_cancel; fanout_run (whole plans with writes and commands) only with
--allow-write and/or --allow-shell. Same configuration, roots and limits as every other
command; without configured roots, the client's roots, else the working directory. Logs go
to standard error; standard output carries only the protocol.

      --allow-write      offer fanout_run with write operations
      --allow-shell      offer fanout_run with bash operations
      --config FILE      configuration file (default: fanout.config.json found upward)
      --budget-tokens N  default output budget of a result (default 20000)
      --deadline D       default time a call waits before answering with a handle (default 50s)
  -h, --help           this help

Claude Code:  claude mcp add fanout -- npx -y fanout mcp
Any client:   { "mcpServers": { "fanout": { "command": "npx", "args": ["-y", "fanout", "mcp"] } } }`;

/** When the start is taken to be over without a `notifications/initialized`. */
const STARTED_FALLBACK_MS = 1_000;

export async function run(argv: string[], hooks: CommandHooks = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    'allow-write': { type: 'boolean' },
    'allow-shell': { type: 'boolean' },
    config: { type: 'string' },
    'budget-tokens': { type: 'string' },
    deadline: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`expected no arguments, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`);
  const budgetTokens = positiveInt(values['budget-tokens'], '--budget-tokens');
  const deadlineMs = duration(values.deadline, '--deadline');
  // Loaded after the flags are checked (a usage error should not pay for the SDK), while the
  // configuration is read: start-up is most of what a client waits for before it lists tools.
  const loading = Promise.all([import('@fanout/mcp'), import('@modelcontextprotocol/server/stdio'), import('@fanout/monitor')]);
  loading.catch(() => undefined);
  const settings = await loadSettings({ configFile: values.config });
  const [{ createFanoutMcpRuntime, createFanoutMcpServer }, { serveStdio }, { createMonitor }] = await loading;
  // The monitor samples only while a run is subscribed to it: an idle server costs nothing.
  const monitor = createMonitor({ intervalMs: 500, ...monitorOptions(settings.config) });
  const runtime = createFanoutMcpRuntime({
    config: settings.config,
    allowWrite: values['allow-write'] === true,
    allowShell: values['allow-shell'] === true,
    pressure: monitor,
    budgetTokens,
    deadlineMs: deadlineMs === undefined ? undefined : Math.round(deadlineMs),
  });
  // One server per connection era the client picks (the SDK may make a second to probe); all share the runtime.
  const handle = serveStdio(
    () => {
      const { server } = createFanoutMcpServer({ runtime });
      // The start is over once the client has initialised (and, in the same turn of the event
      // loop, usually listed the tools): a code cache made now holds what a start needs.
      server.server.oninitialized = () => setImmediate(() => hooks.started?.());
      return server;
    },
    { onerror: (error) => process.stderr.write(`fanout mcp: ${error.message}\n`) },
  );
  // Clients of the stateless era (2026-07-28) send no `notifications/initialized`: by then they have listed the tools.
  setTimeout(() => hooks.started?.(), STARTED_FALLBACK_MS).unref();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number): void => {
      if (stopping) return;
      stopping = true;
      // Runs are cancelled (process groups killed), adapters closed, spilled results removed.
      void Promise.allSettled([handle.close(), runtime.close()]).then(() => {
        monitor.stop();
        resolve(code);
      });
    };
    // The client closing its end of stdin is how a stdio server is told to go.
    process.stdin.once('end', () => stop(EXIT.ok));
    process.stdin.once('close', () => stop(EXIT.ok));
    process.once('SIGINT', () => stop(EXIT.interrupted));
    process.once('SIGTERM', () => stop(EXIT.ok));
  });
}
