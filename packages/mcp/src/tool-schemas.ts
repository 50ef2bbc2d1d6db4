/**
 * The tools' arguments: zod schemas that validate them, and the JSON Schemas `tools/list`
 * shows. A batch's operations are listed kind by kind with every field of the kind's input
 * (from the adapters' own schemas, `kind-schemas.ts`), each field also accepting a reference
 * to another operation's output. Arguments are checked in the handler rather than by the SDK,
 * so that one answer lists every problem of a request — the arguments' and the plan's (ids,
 * dependencies, cycles, inputs) — each with its path.
 */
import type { StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { describeZodIssues } from '@fanout/scheduler';
import { z } from 'zod';
import type { McpIssue } from './errors.js';
import { KIND_INPUT_SCHEMAS } from './kind-schemas.js';
import { runResultSchema, type RunResultContent } from './result-schema.js';
import { TOOL_JSON_SCHEMAS } from './tool-json.js';

const BUDGET_DESCRIPTION = 'Most tokens this result may take (≈ 4 characters each). What does not fit is counted, and written to a file named in the result. Default 20000.';
const DEADLINE_DESCRIPTION =
  'How long this call waits, in ms, before answering with what has finished and a handle; the rest carries on (fanout_status gets it, fanout_cancel stops it). 0 answers at once. Default 50000.';

/** The per-call options every run tool takes. */
const callOptions = {
  budgetTokens: z.number().int().min(500).max(1_000_000).optional().describe(BUDGET_DESCRIPTION),
  deadlineMs: z.number().int().min(0).max(3_600_000).optional().describe(DEADLINE_DESCRIPTION),
};

function makeBatchArgs(maxOperations: number) {
  return z
    .object({
      operations: z.array(z.unknown()).min(1).max(maxOperations),
      failure: z.enum(['isolate', 'continue']).optional(),
      name: z.string().max(200).optional(),
      ...callOptions,
    })
    .strict();
}

const batchArgs = new Map<number, ReturnType<typeof makeBatchArgs>>();

/**
 * Arguments of a batch tool (`fanout_read`, `fanout_web`, `fanout_run`); the operations are
 * checked by the scheduler. Made once per limit (a zod schema costs more to build than to use).
 */
export function batchArgsSchema(maxOperations: number): ReturnType<typeof makeBatchArgs> {
  let schema = batchArgs.get(maxOperations);
  if (schema === undefined) {
    schema = makeBatchArgs(maxOperations);
    batchArgs.set(maxOperations, schema);
  }
  return schema;
}

export const exploreCodebaseArgs = z
  .object({
    path: z.string().min(1).optional().describe('The directory to explore, inside the roots. Default: the first root.'),
    size: z.enum(['small', 'medium', 'large']).optional().describe('small (< 1,000 files: 12 operations), medium (24) or large (52). Default: chosen by counting the files.'),
    patterns: z.array(z.string().min(1)).max(20).optional().describe('Regular expressions to search for besides the built-in ones (entry points, exports, TODO markers, tests, configuration, imports).'),
    ...callOptions,
  })
  .strict();

export const exploreWebArgs = z
  .object({
    topic: z.string().trim().min(1).max(300).describe('What to research.'),
    depth: z.enum(['simple', 'complex', 'comprehensive']).optional().describe('simple: 8 searches (default), complex: 16, comprehensive: 32 across 8 categories; then the pages several searches agree on are fetched.'),
    ...callOptions,
  })
  .strict();

export const statusArgs = z
  .object({
    handle: z.string().min(1).describe('The handle a run tool answered with.'),
    deadlineMs: z.number().int().min(0).max(3_600_000).optional().describe('How long to wait for the run to end before answering with where it stands. 0 answers at once. Default 50000.'),
    budgetTokens: callOptions.budgetTokens,
  })
  .strict();

export const cancelArgs = z
  .object({
    handle: z.string().min(1).describe('The handle a run tool answered with.'),
    budgetTokens: callOptions.budgetTokens,
  })
  .strict();

/**
 * A schema the SDK lists but does not enforce: `validate` passes the arguments through, and
 * the handler checks them (with the plan) so that one answer lists every problem.
 */
export function listedOnly<T>(json: Record<string, unknown>): StandardSchemaWithJSON<T, T> {
  return {
    '~standard': {
      version: 1,
      vendor: 'fanout',
      validate: (value: unknown) => ({ value: value as T }),
      jsonSchema: { input: () => json, output: () => json },
    },
  };
}

const converted = new WeakMap<z.ZodType, Record<string, unknown>>([
  // Converted ahead of time (scripts/tool-schemas.mjs): zod's conversion of these took
  // ~10 ms of every server's start, before its first tools/list could be answered.
  [runResultSchema, TOOL_JSON_SCHEMAS.runResult],
  [exploreCodebaseArgs, TOOL_JSON_SCHEMAS.exploreCodebase],
  [exploreWebArgs, TOOL_JSON_SCHEMAS.exploreWeb],
  [statusArgs, TOOL_JSON_SCHEMAS.status],
  [cancelArgs, TOOL_JSON_SCHEMAS.cancel],
]);

/**
 * The JSON Schema of a zod schema as `tools/list` shows it, converted once per process (a
 * server is made per connection, and per request over stateless HTTP).
 */
export function jsonOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  let json = converted.get(schema);
  if (json === undefined) {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Record<string, unknown>;
    json = rest;
    converted.set(schema, json);
  }
  return json;
}

/** `schema`, validated by zod as before, with its JSON Schema converted once ({@link jsonOf}). */
export function withCachedJson<T>(schema: z.ZodType<T>): StandardSchemaWithJSON<T, T> {
  const json = jsonOf(schema, 'output');
  return {
    '~standard': {
      version: 1,
      vendor: 'zod',
      validate: (value: unknown) => schema['~standard'].validate(value) as ReturnType<StandardSchemaWithJSON<T, T>['~standard']['validate']>,
      jsonSchema: { input: () => json, output: () => json },
    },
  };
}

/** Problems of `value` against `schema`, as issues with their paths in the arguments. */
export function argumentIssues(schema: z.ZodType, value: unknown): { data: unknown; issues: McpIssue[] } {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return { data: parsed.data, issues: [] };
  const issues = describeZodIssues(parsed.error, value).map((d): McpIssue => ({ path: d.path, code: 'FANOUT_INPUT_INVALID', message: d.message.replace(/^unknown field/, 'unknown argument') }));
  return { data: undefined, issues };
}

// ─── The batch tools' listed schema ───────────────────────────────────────────────────

const REFERENCE = {
  type: 'object',
  description:
    'A value taken from another operation\'s output when it has ended: {"$ref": "<id>", "path": "files"} (path: dotted, or a list of keys; the operation waits for it). Inside a forEach, {"$item": true} is the current item.',
};

/**
 * The kind's input schema, saying that any field may be a reference instead. (Wrapping each
 * field in `anyOf: [field, reference]` said it to validators too, at 40 characters a field
 * that every conversation pays for; clients do not validate arguments, the server does.)
 */
function withReferences(schema: Record<string, unknown>): Record<string, unknown> {
  return { ...schema, description: `${typeof schema.description === 'string' ? `${schema.description}. ` : ''}Any field may instead be a reference to another operation's output: {"$ref": "<id>", "path": "files"}.` };
}

/** How to use each kind, in a line (the fields come from its schema). */
const KIND_HINTS: Record<string, string> = {
  glob: 'glob: list files by pattern (gitignore applied; "cwd" to start elsewhere). Output { files, count, truncated }.',
  grep: 'grep: search file contents like ripgrep (Rust regex; "paths" default the root; mode content|count|files). Output: ripgrep --json messages.',
  read: 'read: read "path" or "paths" (head/tail/from/to for line ranges). Output { files: [{ path, ok, text, lines }] }.',
  analyze: 'analyze: "stats" (files, lines, languages) or "markers" (TODO/FIXME/HACK/XXX) over "paths".',
  fetch: 'fetch: an HTTP(S) request ("as": text|json|bytes). Output { url, status, headers, text|json }.',
  search: 'search: a web search with the configured providers. Output { results: [{ url, title, snippet }] }.',
  write: 'write: write "content" to "path" (mode create|overwrite|append; atomic; one write per file at a time).',
  bash: 'bash: run { "command": ["git", "status"] } (no shell) or { "script": "…", "shell": true }; cwd inside the roots.',
};

/** The listed input schema of a batch tool running `kinds`. */
export function batchJsonSchema(kinds: readonly string[], maxOperations: number): Record<string, unknown> {
  const operation = (kind: string): Record<string, unknown> => ({
    type: 'object',
    title: kind,
    description: KIND_HINTS[kind],
    properties: {
      id: { $ref: '#/$defs/id' },
      kind: { const: kind },
      input: withReferences(KIND_INPUT_SCHEMAS[kind] ?? { type: 'object' }),
      after: { $ref: '#/$defs/after' },
      forEach: { $ref: '#/$defs/forEach' },
      timeoutMs: { $ref: '#/$defs/timeoutMs' },
      retry: { $ref: '#/$defs/retry' },
      priority: { $ref: '#/$defs/priority' },
    },
    required: ['id', 'kind', 'input'],
    additionalProperties: false,
  });
  return {
    type: 'object',
    properties: {
      operations: {
        type: 'array',
        minItems: 1,
        maxItems: maxOperations,
        description: 'All the operations, at once. They run in parallel except where "after" or a "$ref" orders them; one failing never stops the others (its dependents are skipped).',
        items: { anyOf: kinds.map(operation) },
      },
      failure: { type: 'string', enum: ['isolate', 'continue'], description: 'isolate (default): dependents of a failure are skipped; continue: they run anyway (optional $refs give null).' },
      name: { type: 'string', maxLength: 200, description: 'A name for the run, shown in the result.' },
      budgetTokens: { type: 'integer', minimum: 500, maximum: 1_000_000, description: BUDGET_DESCRIPTION },
      deadlineMs: { type: 'integer', minimum: 0, maximum: 3_600_000, description: DEADLINE_DESCRIPTION },
    },
    required: ['operations'],
    additionalProperties: false,
    $defs: {
      reference: REFERENCE,
      id: { type: 'string', minLength: 1, maxLength: 512, description: 'Unique in the batch; results and evidence name it.' },
      after: { type: 'array', items: { type: 'string' }, description: 'Ids this one waits for (a $ref waits by itself).' },
      forEach: { $ref: '#/$defs/reference', description: 'Run once per item of the list referenced ({"$ref": "<id>", "path": "files"}); the input takes the item as {"$item": true}.' },
      timeoutMs: { type: 'integer', minimum: 1, description: 'Per attempt.' },
      retry: { anyOf: [{ type: 'integer', minimum: 1, maximum: 100 }, { const: false }], description: 'Most attempts (retryable errors only), or false.' },
      priority: { type: 'integer', description: 'Higher starts first among ready operations.' },
    },
  };
}

let runResult: StandardSchemaWithJSON<RunResultContent, RunResultContent> | undefined;

/** The output schema every run tool declares: {@link runResultSchema}, its JSON Schema converted once. */
export function runResultOutput(): StandardSchemaWithJSON<RunResultContent, RunResultContent> {
  runResult ??= withCachedJson(runResultSchema);
  return runResult;
}
