/**
 * What every run tool does once it has a plan: start the run on the scheduler (the
 * configuration's limits, timeouts and retries), wait for it until the call's deadline while
 * telling a client that asked how it goes, cancel it if the client cancels the call, and
 * answer with the result as it stands. Also the one shape of a refused call.
 */
import type { CallToolResult, ServerContext } from '@modelcontextprotocol/server';
import { runOptions, schedulerOptions } from '@fanout/profiles';
import { createScheduler, systemClock, type Adapter, type FailurePolicy, type Plan, type PressureSource, type Run, type RunOptions } from '@fanout/scheduler';
import { FanoutMcpError } from './errors.js';
import { ProgressReporter } from './progress.js';
import type { TextRenderer } from './render.js';
import { runResult } from './result.js';
import type { CallRoots } from './roots.js';
import { RunRecord } from './runs.js';
import type { FanoutMcpRuntime } from './runtime.js';

/**
 * A new run handle: short enough to retype, random enough not to guess. node:crypto is loaded
 * here, on the first call, not with this module: at start-up it was part of what a client
 * waits for before it lists the tools.
 */
export function newHandle(): string {
  return `run-${process.getBuiltinModule('node:crypto').randomBytes(6).toString('hex')}`;
}

/** A refused call: `isError`, the code and every problem in the text (some clients show nothing else), and the same as structured content. */
export function errorResult(error: unknown): CallToolResult {
  if (error instanceof FanoutMcpError) {
    return {
      isError: true,
      content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
      structuredContent: { error: { code: error.code, message: error.message, issues: [...error.issues] } },
    };
  }
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'FANOUT_OPERATION_FAILED';
  const message = (error as Error)?.message ?? String(error);
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }], structuredContent: { error: { code, message, issues: [{ path: '', code, message }] } } };
}

/** What a run is started with. */
export interface StartRun {
  tool: string;
  title: string;
  plan: Plan;
  roots: CallRoots;
  adapters: Adapter[];
  renderer: TextRenderer;
  failure?: FailurePolicy | undefined;
  /** Who called (the HTTP handler's `authInfo.clientId`), for an embedder's `launch`. */
  principal?: string | undefined;
}

/** Starts a run (the plan is already valid) and registers its handle. */
export function startRun(runtime: FanoutMcpRuntime, start: StartRun): RunRecord {
  const { config, pressure, clock } = runtime.options;
  const scheduler = createScheduler({ adapters: start.adapters, ...schedulerOptions(config), ...(pressure === undefined ? {} : { pressure: subscribedAfterStart(pressure) }) });
  const handle = newHandle();
  const record = new RunRecord({
    handle,
    tool: start.tool,
    title: start.title,
    plan: start.plan,
    roots: start.roots,
    renderer: start.renderer,
    clock: clock ?? systemClock,
    launch: (onEvent) => {
      const run = (options: Pick<RunOptions, 'runId' | 'journal' | 'onEvent'> = {}): Run => {
        const theirs = options.onEvent;
        return scheduler.run(start.plan, {
          ...runOptions(config),
          runId: handle,
          ...(start.failure === undefined ? {} : { failure: start.failure }),
          ...options,
          onEvent:
            theirs === undefined
              ? onEvent
              : (event) => {
                  onEvent(event);
                  theirs(event);
                },
        });
      };
      const hook = runtime.options.launch;
      return hook === undefined ? run() : hook({ handle, tool: start.tool, title: start.title, plan: start.plan, principal: start.principal, start: run });
    },
  });
  runtime.runs.add(record);
  return record;
}

/**
 * `pressure`, subscribed to a turn of the event loop after the run has started rather than
 * as it starts. An idle monitor takes its first sample when subscribed to (nine /proc and
 * cgroup files read on this thread: 1.3 ms of CPU on a busy machine), and the scheduler
 * subscribes before it starts the first operations, so every call waited for that sample;
 * a turn later, the sample is taken while the first operations wait for their files. The
 * run reads the readings at its start as before, and once more when subscribed (they may
 * have changed meanwhile); a run that ends first never subscribes.
 */
export function subscribedAfterStart(pressure: PressureSource): PressureSource {
  return {
    read: (kind) => pressure.read(kind),
    subscribe(onChange) {
      let unsubscribe: (() => void) | undefined;
      const later = setImmediate(() => {
        unsubscribe = pressure.subscribe(onChange);
        onChange();
      });
      return () => {
        clearImmediate(later);
        unsubscribe?.();
      };
    },
  };
}

/** How an answer waits. */
export interface AnswerOptions {
  deadlineMs: number;
  budgetTokens: number;
  /** The call owns the run: aborting the call cancels it (status calls only stop waiting). */
  cancelOnAbort: boolean;
}

/**
 * Waits for the run until the deadline (progress notifications meanwhile, if the client sent
 * a token), then answers with the run as it stands. If the client cancels a call that owns
 * the run, the run is cancelled: every operation not ended ends `cancelled`, process groups
 * are killed.
 */
export async function answer(runtime: FanoutMcpRuntime, record: RunRecord, ctx: ServerContext, options: AnswerOptions): Promise<CallToolResult> {
  const token = ctx.mcpReq._meta?.progressToken;
  let reporter: ProgressReporter | undefined;
  let unsubscribe = (): void => undefined;
  if (token !== undefined && !record.done) {
    reporter = new ProgressReporter(
      (update) => {
        ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, ...update } }).catch(() => undefined);
      },
      {
        settled: () => record.run.snapshot().settled,
        total: () => record.run.snapshot().total,
        message: () => progressMessage(record),
      },
      { clock: runtime.options.clock ?? systemClock },
    );
    unsubscribe = record.run.on((event) => {
      if (event.type === 'op-finished') reporter!.changed();
    });
    reporter.start();
  }
  let outcome;
  try {
    outcome = await record.wait(options.deadlineMs, ctx.mcpReq.signal);
    if (outcome === 'aborted' && options.cancelOnAbort) {
      record.cancel('cancelled: the client cancelled the call');
      await record.settled();
    }
  } finally {
    unsubscribe();
    reporter?.stop();
  }
  // Nobody reads the answer to a cancelled request: do not render (or spill) one. The run
  // stays known by its handle, for fanout_status.
  if (outcome === 'aborted') return { isError: true, content: [{ type: 'text', text: `cancelled by the client; the run is ${record.handle}` }] };
  return runResult(record, { budgetTokens: options.budgetTokens, runsDir: () => runtime.runsDir() });
}

/** "12/50 done · 3 running (grep 2, read 1) · 1 failed". */
function progressMessage(record: RunRecord): string {
  const snapshot = record.run.snapshot();
  const running = Object.entries(snapshot.kinds)
    .filter(([, k]) => k.inflight > 0)
    .map(([kind, k]) => `${kind} ${k.inflight}`);
  const inflight = Object.values(snapshot.kinds).reduce((sum, k) => sum + k.inflight, 0);
  const failed = snapshot.byState.failed + snapshot.byState['timed-out'];
  return `${snapshot.settled}/${snapshot.total} done${inflight > 0 ? ` · ${inflight} running (${running.join(', ')})` : ''}${failed > 0 ? ` · ${failed} failed` : ''}`;
}
