/**
 * The batch tools: `fanout_read` (glob, grep, read, analyze), `fanout_web` (fetch, search) and
 * `fanout_run` (any kind, write and bash included when the server allows them). Each takes a
 * whole plan — operations with ids, `after` and `$ref` — checks all of it at once, runs it,
 * and answers with one entry per operation and the aggregated report.
 */
import { isInputRequiredResult, type McpServer, type ToolAnnotations } from '@modelcontextprotocol/server';
import { createScheduler, type Plan } from '@fanout/scheduler';
import { answer, errorResult, startRun } from '../call.js';
import { invalidRequest, type McpIssue } from '../errors.js';
import { renderRunText } from '../render.js';
import type { RootsResolver } from '../roots.js';
import type { FanoutMcpRuntime } from '../runtime.js';
import { argumentIssues, batchArgsSchema, batchJsonSchema, listedOnly, runResultOutput } from '../tool-schemas.js';

/** One batch tool. */
interface BatchTool {
  name: 'fanout_read' | 'fanout_web' | 'fanout_run';
  title: string;
  description: string;
  kinds: readonly string[];
  annotations: ToolAnnotations;
}

const EXAMPLE = `{"operations": [
  {"id": "ts", "kind": "glob", "input": {"pattern": "src/**/*.ts"}},
  {"id": "todo", "kind": "grep", "input": {"pattern": "TODO|FIXME", "paths": ["src"]}},
  {"id": "heads", "kind": "read", "input": {"paths": {"$ref": "ts", "path": "files"}, "head": 40}}
]}`;

const COMMON = `They run in parallel, except where one waits for another ("after", or a {"$ref": "<id>", "path": "…"} in its input, which takes that operation's output); one failing never stops the others (its dependents are skipped, with the reason). The answer has one entry per operation (state, output or error code and message, attempts, duration) and a report: paths relative to the root, every file, match or URL once with the ids of the operations that found it, failures with what they leave missing, and the heads of what was read — within budgetTokens; what does not fit is written to a file named in the answer. A call that passes deadlineMs answers with what finished and a handle; the rest carries on (fanout_status, fanout_cancel).`;

/** The batch tools this server offers: `fanout_run` only when write or shell is allowed. */
export function batchTools(runtime: FanoutMcpRuntime): BatchTool[] {
  const tools: BatchTool[] = [
    {
      name: 'fanout_read',
      title: 'Read and search many local files at once',
      description: `Run a whole batch of read-only local operations — glob (list files), grep (search contents, ripgrep syntax), read (files, with line ranges), analyze (languages and line counts, TODO markers) — in one call instead of one call each. ${COMMON}\nExample: ${EXAMPLE}`,
      kinds: ['glob', 'grep', 'read', 'analyze'],
      annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
    },
    {
      name: 'fanout_web',
      title: 'Fetch and search the web, many at once',
      description: `Run a whole batch of web operations — fetch (HTTP requests, with timeouts, size caps and retries on 429/503) and search (the configured providers) — in one call; requests to one host are limited and back off when it is overloaded. ${COMMON}\nExample: {"operations": [{"id": "q", "kind": "search", "input": {"query": "undici pool keep-alive"}}, {"id": "docs", "kind": "fetch", "input": {"url": "https://example.com/", "as": "text"}}]}`,
      kinds: ['fetch', 'search'],
      annotations: { readOnlyHint: true, openWorldHint: true, destructiveHint: false, idempotentHint: true },
    },
  ];
  const { allowWrite, allowShell } = runtime.options;
  if (allowWrite || allowShell) {
    const mutating = [...(allowWrite ? ['write'] : []), ...(allowShell ? ['bash'] : [])];
    tools.push({
      name: 'fanout_run',
      title: 'Run a whole plan, writes and commands included',
      description: `Run a whole plan of operations of any kind this server allows — glob, grep, read, analyze, fetch, search and ${mutating.join(' and ')} — in one call. Two writes to one file never overlap; commands run without a shell unless asked, in their own process groups, inside the roots. ${COMMON}\nExample: {"operations": [{"id": "tests", "kind": "glob", "input": {"pattern": "test/**/*.test.ts"}}, ${allowShell ? '{"id": "status", "kind": "bash", "input": {"command": ["git", "status", "--short"]}}' : '{"id": "note", "kind": "write", "input": {"path": "NOTES.md", "content": "…", "mode": "append"}}'}]}`,
      kinds: runtime.kinds,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: true, idempotentHint: false },
    });
  }
  return tools;
}

/** Why a kind is refused by a tool, and where to run it instead. */
function kindRefusal(runtime: FanoutMcpRuntime, tool: BatchTool, kind: unknown): string {
  const allowed = `expected one of ${tool.kinds.join(', ')}, got ${JSON.stringify(kind)}`;
  if (kind === 'write' && !runtime.options.allowWrite) return `${allowed}: this server does not write files; start it with --allow-write (allowWrite: true), then use fanout_run`;
  if (kind === 'bash' && !runtime.options.allowShell) return `${allowed}: this server does not run commands; start it with --allow-shell (allowShell: true), then use fanout_run`;
  if (kind === 'fetch' || kind === 'search') return `${allowed}: use fanout_web for fetch and search`;
  if (kind === 'write' || kind === 'bash') return `${allowed}: use fanout_run for writes and commands`;
  return allowed;
}

/** Every problem of a batch request: its arguments, the kinds, and the plan as the scheduler sees it. */
async function checkBatch(
  runtime: FanoutMcpRuntime,
  tool: BatchTool,
  args: unknown,
  roots: readonly string[],
): Promise<{ plan: Plan; data: { failure?: 'isolate' | 'continue'; budgetTokens?: number; deadlineMs?: number }; adapters: Awaited<ReturnType<FanoutMcpRuntime['adapters']['adapters']>> }> {
  const schema = batchArgsSchema(runtime.options.maxOperations);
  const { data, issues } = argumentIssues(schema, args);
  const operations = (args as { operations?: unknown } | undefined)?.operations;
  const refused = new Set<number>();
  if (Array.isArray(operations)) {
    operations.forEach((op: unknown, i) => {
      const kind = (op as { kind?: unknown } | null)?.kind;
      if (typeof kind === 'string' && !tool.kinds.includes(kind)) {
        refused.add(i);
        issues.push({ path: `operations[${i}].kind`, code: 'FANOUT_MCP_KIND_NOT_ALLOWED', message: kindRefusal(runtime, tool, kind) });
      }
    });
  }
  const adapters = await runtime.adapters.adapters(roots, tool.kinds);
  const name = (args as { name?: unknown } | undefined)?.name;
  const failure = (args as { failure?: unknown } | undefined)?.failure;
  const plan = { ...(typeof name === 'string' ? { name } : {}), operations: Array.isArray(operations) ? operations : [], ...(failure === 'isolate' || failure === 'continue' ? { policy: { failure } } : {}) } as Plan;
  if (Array.isArray(operations) && operations.length <= runtime.options.maxOperations) {
    const validation = createScheduler({ adapters }).validate(plan);
    if (!validation.ok) {
      for (const issue of validation.issues) {
        const refusedKind = /^operations\[(\d+)\]\.kind$/.exec(issue.path);
        if (refusedKind !== null && refused.has(Number(refusedKind[1]))) continue; // said better above
        issues.push({ path: issue.path, code: issue.code, message: issue.message } satisfies McpIssue);
      }
    }
  }
  if (issues.length > 0) throw invalidRequest('FANOUT_PLAN_INVALID', tool.name, issues);
  return { plan, data: data as { failure?: 'isolate' | 'continue'; budgetTokens?: number; deadlineMs?: number }, adapters };
}

/** Registers the batch tools on `server`. */
export function registerBatchTools(server: McpServer, runtime: FanoutMcpRuntime, roots: RootsResolver): void {
  for (const tool of batchTools(runtime)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: listedOnly<Record<string, unknown>>(batchJsonSchema(tool.kinds, runtime.options.maxOperations)),
        outputSchema: runResultOutput(),
        annotations: tool.annotations,
      },
      async (args, ctx) => {
        try {
          runtime.assertOpen();
          const callRoots = roots.resolve(ctx);
          if (isInputRequiredResult(callRoots)) return callRoots;
          const { plan, data, adapters } = await checkBatch(runtime, tool, args, callRoots.roots);
          const record = startRun(runtime, {
            tool: tool.name,
            title: plan.name ?? '',
            plan,
            roots: callRoots,
            principal: ctx.http?.authInfo?.clientId,
            adapters,
            renderer: renderRunText,
            failure: data.failure,
          });
          return await answer(runtime, record, ctx, {
            deadlineMs: data.deadlineMs ?? runtime.options.deadlineMs,
            budgetTokens: data.budgetTokens ?? runtime.options.budgetTokens,
            cancelOnAbort: true,
          });
        } catch (error) {
          return errorResult(error);
        }
      },
    );
  }
}
