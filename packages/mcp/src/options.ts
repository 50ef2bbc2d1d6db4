/**
 * The options of the MCP server factory, their defaults, and their checks (in one place, so
 * that a bad option fails when the server is made, never in the middle of a tool call).
 */
import type { Config } from '@fanout/profiles';
import type { Adapter } from '@fanout/scheduler';
import { OptionCheck, type Clock, type Plan, type PressureSource, type Run, type RunOptions } from '@fanout/scheduler';
import { FanoutMcpError } from './errors.js';

const check = new OptionCheck(FanoutMcpError);

/** Default output budget of a result, in tokens (≈ 4 characters each): under the ~25k-token cut of common MCP clients. */
export const DEFAULT_BUDGET_TOKENS = 20_000;
/** Default time a call waits for its run before answering with what finished and a handle: under the ~60 s client time-out. */
export const DEFAULT_DEADLINE_MS = 50_000;
/** Default most operations in one call. */
export const DEFAULT_MAX_OPERATIONS = 10_000;

/** Options of {@link createFanoutMcpServer} and {@link FanoutMcpRuntime}. */
export interface FanoutMcpOptions {
  /**
   * fanout's configuration (limits, timeouts, retries, roots, search providers, output), as
   * `loadConfig()` of `@fanout/profiles` gives it, trust policy applied.
   * @default {} (the built-in profile's numbers)
   */
  config?: Config;
  /** Run `write` operations (offers `fanout_run`). @default false */
  allowWrite?: boolean;
  /** Run `bash` operations (offers `fanout_run`). @default false */
  allowShell?: boolean;
  /**
   * Where relative roots and, without roots anywhere, the only root come from.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Where each run's directory (spilled reports and results) goes. fanout makes a private
   * directory inside it (`fanout-mcp-XXXXXX`, mode 0700); `read` operations may read it, so
   * a model can page through what did not fit.
   * @default config.output.spillDir, else os.tmpdir()
   */
  runsDir?: string;
  /** Watches the machine; pauses kinds whose resource is under pressure (`@fanout/monitor`'s `createMonitor()`). */
  pressure?: PressureSource;
  /**
   * Adapters that run the kinds they name instead of the configured ones, for every call
   * whatever its roots: an executor's (`distribute()` of `@fanout/distributed`), whose attempts
   * run on workers, with the workers' roots. Only kinds a tool allows are used; the others run
   * here as usual, and so does a `read` whose every path is in the runs' directory (the
   * spilled reports are on this machine). @default none
   */
  adapters?: readonly Adapter[] | undefined;
  /** Default output budget in tokens; each call may set its own `budgetTokens`. @default 20000 */
  budgetTokens?: number | undefined;
  /** Default time a call waits for its run; each call may set its own `deadlineMs`. @default 50000 */
  deadlineMs?: number | undefined;
  /** Most operations one call may hold. @default 10000 */
  maxOperations?: number;
  /** Finished runs kept for `fanout_status` (the oldest are forgotten first). @default 64 */
  keepRuns?: number;
  /** Time for progress notifications and deadlines (tests pass a manual clock). @default the system clock */
  clock?: Clock;
  /** The server's name and version in the `initialize` answer. @default { name: 'fanout', version: the package's } */
  serverInfo?: { name: string; version: string };
  /**
   * Decides how each tool call's run is started (an embedder that keeps its own runs: a log,
   * a journal, limits per principal). Called synchronously once the plan is valid; it calls
   * `launch.start()` (with its own run id, journal and event listener if it likes) and returns
   * that run, or throws to refuse the call: the error's `code` and message become the tool's
   * error result. @default each run is started at once, without a journal
   */
  launch?: ((launch: McpRunLaunch) => Run) | undefined;
}

/** A run a tool call is about to start, handed to {@link FanoutMcpOptions.launch}. */
export interface McpRunLaunch {
  /** The handle `fanout_status` and `fanout_cancel` know it by. */
  handle: string;
  /** The tool that was called (`fanout_read`, …). */
  tool: string;
  title: string;
  /** The plan, already valid for the call's adapters. */
  plan: Plan;
  /** Who called: the `clientId` of the `authInfo` the HTTP handler was given, if any. */
  principal: string | undefined;
  /**
   * Starts the run on the call's adapters and the configuration's limits. `runId` and
   * `journal` replace the call's own; `onEvent` is called after the tool's own listener.
   */
  start(options?: Pick<RunOptions, 'runId' | 'journal' | 'onEvent'>): Run;
}

/** Options with their defaults filled in and checked. */
export interface ResolvedOptions {
  config: Config;
  allowWrite: boolean;
  allowShell: boolean;
  cwd: string;
  runsDir: string | undefined;
  pressure: PressureSource | undefined;
  budgetTokens: number;
  deadlineMs: number;
  maxOperations: number;
  keepRuns: number;
  clock: Clock | undefined;
  launch: ((launch: McpRunLaunch) => Run) | undefined;
}

/** Fills in the defaults and checks every option, naming the bad one. */
export function resolveOptions(options: FanoutMcpOptions): ResolvedOptions {
  for (const flag of ['allowWrite', 'allowShell'] as const) {
    const value = options[flag];
    check.boolean(value, flag, false);
  }
  return {
    config: options.config ?? {},
    allowWrite: options.allowWrite === true,
    allowShell: options.allowShell === true,
    cwd: options.cwd ?? process.cwd(),
    runsDir: options.runsDir ?? options.config?.output?.spillDir,
    pressure: options.pressure,
    budgetTokens: check.integer(options.budgetTokens, 'budgetTokens', DEFAULT_BUDGET_TOKENS, { min: 100 }),
    deadlineMs: check.integer(options.deadlineMs, 'deadlineMs', DEFAULT_DEADLINE_MS, { min: 0 }),
    maxOperations: check.integer(options.maxOperations, 'maxOperations', DEFAULT_MAX_OPERATIONS),
    keepRuns: check.integer(options.keepRuns, 'keepRuns', 64),
    clock: options.clock,
    launch: options.launch,
  };
}
