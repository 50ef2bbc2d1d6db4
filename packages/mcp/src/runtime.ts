/**
 * What outlives one connection: the adapters (worker threads, connection pools), the runs and
 * their handles, and the directory spilled results go to. A stdio server has one connection;
 * a Streamable HTTP server may make a server per session or per request and share one
 * runtime, so a handle from one request is found by the next.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputBudgetChars } from '@fanout/profiles';
import { AdapterCache } from './adapters.js';
import { FanoutMcpError } from './errors.js';
import { resolveOptions, type FanoutMcpOptions, type ResolvedOptions } from './options.js';
import { RunRegistry } from './runs.js';

/**
 * The shared state of fanout's MCP tools. Make one with {@link createFanoutMcpRuntime} and
 * pass it to every {@link createFanoutMcpServer} that should share runs and adapters; close
 * it when the last server is gone.
 */
export class FanoutMcpRuntime {
  readonly options: ResolvedOptions;
  readonly runs: RunRegistry;
  readonly adapters: AdapterCache;
  #runsDir: Promise<string> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FanoutMcpOptions = {}) {
    const resolved = resolveOptions(options);
    // The configuration's output budget is the default when the options do not set one.
    const configured = outputBudgetChars(resolved.config);
    this.options = options.budgetTokens === undefined && configured !== undefined ? { ...resolved, budgetTokens: Math.max(100, Math.floor(configured / 4)) } : resolved;
    this.runs = new RunRegistry(this.options.keepRuns);
    this.adapters = new AdapterCache(this.options.config, () => this.runsDir(), options.adapters);
  }

  /** Kinds the server runs at all (`write` and `bash` only when allowed). */
  get kinds(): string[] {
    return ['glob', 'grep', 'read', 'analyze', 'fetch', 'search', ...(this.options.allowWrite ? ['write'] : []), ...(this.options.allowShell ? ['bash'] : [])];
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Refuses new runs once closing. */
  assertOpen(): void {
    if (this.#closing !== undefined) throw new FanoutMcpError('FANOUT_MCP_CLOSED', 'expected a running server, got one that is closing: it starts no new run');
  }

  /** The private directory runs spill into, made on first use (mode 0700). */
  runsDir(): Promise<string> {
    this.#runsDir ??= mkdtemp(join(this.options.runsDir ?? tmpdir(), 'fanout-mcp-'));
    return this.#runsDir;
  }

  /**
   * Cancels every run (each operation not ended ends `cancelled`, process groups are killed),
   * waits for them, closes the adapters and removes the runs' directory.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.runs.cancelAll('cancelled: the server is closing');
      await this.adapters.close();
      if (this.#runsDir !== undefined) {
        const dir = await this.#runsDir.catch(() => undefined);
        if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      }
    })();
    return this.#closing;
  }
}

/** Makes the shared state of fanout's MCP tools (see {@link FanoutMcpRuntime}). */
export function createFanoutMcpRuntime(options: FanoutMcpOptions = {}): FanoutMcpRuntime {
  return new FanoutMcpRuntime(options);
}
