/**
 * `fanout_status` and `fanout_cancel`: for runs that outlast a client's patience. A call that
 * passed its deadline answered with a handle; status waits for the run again (at most its own
 * deadline) and answers with where it stands; cancel stops what has not ended and answers
 * with the run as it ends.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { answer, errorResult } from '../call.js';
import { invalidRequest } from '../errors.js';
import { runResult } from '../result.js';
import type { FanoutMcpRuntime } from '../runtime.js';
import { argumentIssues, cancelArgs, jsonOf, listedOnly, runResultOutput, statusArgs } from '../tool-schemas.js';

/** Registers `fanout_status` and `fanout_cancel` on `server`. */
export function registerHandleTools(server: McpServer, runtime: FanoutMcpRuntime): void {
  server.registerTool(
    'fanout_status',
    {
      title: 'Where a run stands (waits for it)',
      description:
        "The state of a run started by another fanout tool that answered before it ended (done: false, with a handle): waits for it to end, at most deadlineMs, then answers like the tool did — every operation's entry and the report so far. Cancelling this call does not stop the run.",
      inputSchema: listedOnly<Record<string, unknown>>(jsonOf(statusArgs)),
      outputSchema: runResultOutput(),
      annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args, ctx) => {
      try {
        const { data, issues } = argumentIssues(statusArgs, args);
        if (issues.length > 0) throw invalidRequest('FANOUT_INPUT_INVALID', 'fanout_status', issues);
        const parsed = data as { handle: string; deadlineMs?: number; budgetTokens?: number };
        const record = runtime.runs.get(parsed.handle);
        return await answer(runtime, record, ctx, {
          deadlineMs: parsed.deadlineMs ?? runtime.options.deadlineMs,
          budgetTokens: parsed.budgetTokens ?? runtime.options.budgetTokens,
          cancelOnAbort: false,
        });
      } catch (error) {
        return errorResult(error);
      }
    },
  );

  server.registerTool(
    'fanout_cancel',
    {
      title: 'Stop a run',
      description:
        "Stops a run started by another fanout tool: operations not ended end cancelled (commands' process groups are killed; writes are atomic, so no file is left half-written) and the answer is the run as it ends — what finished keeps its results.",
      inputSchema: listedOnly<Record<string, unknown>>(jsonOf(cancelArgs)),
      outputSchema: runResultOutput(),
      annotations: { readOnlyHint: false, openWorldHint: false, destructiveHint: false, idempotentHint: true },
    },
    async (args) => {
      try {
        const { data, issues } = argumentIssues(cancelArgs, args);
        if (issues.length > 0) throw invalidRequest('FANOUT_INPUT_INVALID', 'fanout_cancel', issues);
        const parsed = data as { handle: string; budgetTokens?: number };
        const record = runtime.runs.get(parsed.handle);
        record.cancel('cancelled with fanout_cancel');
        await record.settled();
        return await runResult(record, { budgetTokens: parsed.budgetTokens ?? runtime.options.budgetTokens, runsDir: () => runtime.runsDir() });
      } catch (error) {
        return errorResult(error);
      }
    },
  );
}
