/**
 * The server factory: an `McpServer` of the official SDK (v2) with fanout's tools, for any
 * transport — stdio (`fanout mcp`), Streamable HTTP, in memory. Per connection it holds only
 * the client's roots; runs, handles and adapters live in a {@link FanoutMcpRuntime} that
 * several servers may share.
 */
import { createRequire } from 'node:module';
import { McpServer } from '@modelcontextprotocol/server';
import type { FanoutMcpOptions } from './options.js';
import { RootsResolver } from './roots.js';
import { FanoutMcpRuntime } from './runtime.js';
import { registerBatchTools } from './tools/batch.js';
import { registerExploreTools, type ExploreRenderers } from './tools/explore.js';
import { registerHandleTools } from './tools/handles.js';

/** Options of {@link createFanoutMcpServer}. */
export interface FanoutMcpServerOptions extends FanoutMcpOptions {
  /**
   * Share runs, handles and adapters with other servers (one per HTTP session or request);
   * the server then does not close it. Its options win over this object's.
   * @default a runtime of its own, made from these options and closed with the server
   */
  runtime?: FanoutMcpRuntime;
  /** Replace the text of the explore tools (e.g. a codebase map for explore-codebase). */
  renderers?: ExploreRenderers;
}

/** A server with fanout's tools. */
export interface FanoutMcpServer {
  /** The SDK server: `await server.connect(transport)` with any transport. */
  server: McpServer;
  runtime: FanoutMcpRuntime;
  /** Names of the tools offered (`fanout_run` only with write or shell allowed). */
  tools: string[];
  /**
   * Closes the connection; with a runtime of its own, also cancels its runs (process groups
   * killed), closes the adapters and removes the spilled results.
   */
  close(): Promise<void>;
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    // Bundled into an app, the package's own manifest is not beside it.
    return '0.0.0';
  }
}

const INSTRUCTIONS = `fanout runs batches of tool operations in parallel. Prefer one fanout_read call holding every glob, grep, read and analyze you need over many single calls: operations run at once, in order only where "after" or a "$ref" to another operation's output says so, and one failing never stops the others. fanout_web does the same for fetch and search. Each answer names every file, match or URL once with the ids of the operations that found it; what does not fit the token budget is in a file named in the answer. A call that outlasts its deadline answers with a handle: fanout_status waits for the rest, fanout_cancel stops it.`;

/**
 * Makes an MCP server with fanout's tools: `fanout_read`, `fanout_web`, `fanout_run` (only
 * with `allowWrite` or `allowShell`), `fanout_explore_codebase`, `fanout_explore_web`,
 * `fanout_status`, `fanout_cancel`. Connect it to any transport.
 *
 * @example
 * import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
 * const fanout = createFanoutMcpServer({ config: (await loadConfig()).config });
 * await fanout.server.connect(new StdioServerTransport());
 */
export function createFanoutMcpServer(options: FanoutMcpServerOptions = {}): FanoutMcpServer {
  const runtime = options.runtime ?? new FanoutMcpRuntime(options);
  const owned = options.runtime === undefined;
  const server = new McpServer(options.serverInfo ?? { name: 'fanout', version: packageVersion() }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
  const configuredRoots = runtime.options.config.roots;
  const roots = new RootsResolver(server, configuredRoots, runtime.options.cwd);
  registerBatchTools(server, runtime, roots);
  registerExploreTools(server, runtime, roots, options.renderers);
  registerHandleTools(server, runtime);
  const tools = ['fanout_read', 'fanout_web', ...(runtime.options.allowWrite || runtime.options.allowShell ? ['fanout_run'] : []), 'fanout_explore_codebase', 'fanout_explore_web', 'fanout_status', 'fanout_cancel'];
  return {
    server,
    runtime,
    tools,
    close: async () => {
      await server.close();
      if (owned) await runtime.close();
    },
  };
}
