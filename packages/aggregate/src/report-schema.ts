import { z } from 'zod';

const stateSchema = z.enum(['succeeded', 'failed', 'skipped', 'cancelled', 'timed-out']);
const failedStateSchema = z.enum(['failed', 'skipped', 'cancelled', 'timed-out']);
const countSchema = z.number().int().min(0);

/** One operation's agreement with an entry: the "which operations agreed" of the score. */
export const agreementSchema = z
  .object({
    op: z.string().describe('Operation id.'),
    kind: z.string(),
    weight: z.number().min(0).max(1).describe('How much this sighting counted (noisy-OR term).'),
    count: countSchema.describe('Sightings of the entry by this operation.'),
    detail: z.string().optional().describe('What the operation was, and its rank or status for this entry.'),
  })
  .strict();

/** One deduplicated, ranked result. */
export const entrySchema = z
  .object({
    rank: z.number().int().min(1).describe('Position in its group, 1 first.'),
    key: z.string().describe('Normalised identity: the URL, path, path:line, query…'),
    confidence: z.number().min(0).max(1).describe('1 − Π(1 − weight) over the operations that agreed.'),
    sources: countSchema.describe('Distinct operations that reached it.'),
    hits: countSchema.describe('Sightings, duplicates included.'),
    explanation: z.string(),
    agreed: z.array(agreementSchema).describe('The first operations that agreed (at most 16).'),
    label: z.string().optional(),
    path: z.string().optional(),
    line: z.number().int().optional(),
    column: z.number().int().optional(),
    text: z.string().optional(),
    url: z.string().optional(),
    title: z.string().optional(),
    snippet: z.string().optional(),
    domain: z.string().optional(),
    status: z.number().int().optional(),
    finalUrl: z.string().optional(),
    bestRank: z.number().optional().describe('Best search rank seen, 1 the top.'),
    providers: z.array(z.string()).optional(),
    queries: z.array(z.string()).optional(),
    tag: z.string().optional(),
    query: z.string().optional(),
    count: z.number().optional().describe('Matches in a file, URLs on a domain, results of a query.'),
    markers: z.number().optional().describe('Markers found in a file.'),
    bytes: z.number().optional(),
    command: z.string().optional(),
    exitCode: z.number().int().nullable().optional(),
    signal: z.string().nullable().optional(),
    stdout: z.string().optional(),
    stderr: z.string().optional(),
    mode: z.string().optional(),
    created: z.boolean().optional(),
    files: z.number().optional(),
    lines: z.number().optional(),
    languages: z.record(z.string(), z.object({ files: z.number(), lines: z.number(), bytes: z.number() }).strict()).optional(),
    truncated: z.boolean().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** The entries of one type of result. */
export const groupSchema = z
  .object({
    type: z.string().describe('url, domain, file, match, marker, query, command, write, stats, or a custom type.'),
    title: z.string(),
    seen: countSchema.describe('Sightings, duplicates included.'),
    distinct: countSchema.describe('Distinct keys (an estimate when exact is false).'),
    exact: z.boolean().describe('False once entries were forgotten to bound memory.'),
    duplicates: countSchema,
    held: countSchema.describe('Entries held when the report was made.'),
    evicted: countSchema.describe('Entries forgotten to stay within maxEntries.'),
    evictedAtMost: z.number().min(0).max(1).optional().describe('Highest confidence among forgotten entries.'),
    omitted: countSchema.describe('Held entries not listed here.'),
    entries: z.array(entrySchema),
  })
  .strict();

/** An operation that did not succeed, and what the result lacks because of it. */
export const failureSchema = z
  .object({
    op: z.string(),
    kind: z.string(),
    state: failedStateSchema,
    code: z.string(),
    message: z.string(),
    path: z.string().optional().describe('The input field or file the error names.'),
    missing: z.string().describe('What the result lacks because of it.'),
    parent: z.string().optional(),
  })
  .strict();

/** A problem inside an operation that succeeded (a cut output, a file that failed). */
export const problemSchema = z
  .object({
    op: z.string(),
    kind: z.string(),
    code: z.string(),
    message: z.string(),
    missing: z.string().optional(),
  })
  .strict();

/** One operation's share of the result. */
export const operationSummarySchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    state: stateSchema,
    detail: z.string().optional(),
    items: countSchema,
    fresh: countSchema.describe('Items no earlier operation had produced.'),
    problems: countSchema,
    attempts: countSchema,
    durationMs: z.number().min(0),
    parent: z.string().optional(),
    expanded: z.boolean().optional().describe('A fan-out operation: its children carry its results.'),
  })
  .strict();

/** Counts by kind of operation. */
export const kindSummarySchema = z
  .object({
    kind: z.string(),
    operations: countSchema,
    succeeded: countSchema,
    failed: countSchema.describe('Failed or timed out.'),
    other: countSchema.describe('Skipped or cancelled.'),
    items: countSchema,
    fresh: countSchema,
  })
  .strict();

function listed<T extends z.ZodType>(item: T) {
  return z.object({ total: countSchema, omitted: countSchema, listed: z.array(item) }).strict();
}

/** The aggregated answer of a run. Published as `@fanout/aggregate/report.schema.json`. */
export const reportSchema = z
  .object({
    $schema: z.string().optional(),
    version: z.literal(1),
    title: z.string(),
    createdAt: z.string().describe('ISO 8601.'),
    complete: z.boolean().describe('Every operation succeeded, no output was cut or failed in part, no entry was forgotten to bound memory.'),
    run: z
      .object({
        runId: z.string(),
        name: z.string().optional(),
        wallMs: z.number().min(0),
        busyMs: z.number().min(0).describe('Sum of attempt durations (attempts that ran at once each counted in full).'),
        sequentialMs: z.number().min(0).describe('Estimated one-at-a-time (-j 1) time: shared work counted once, busy-CPU stretches by the CPU used.'),
        speedup: z.number().min(0).describe('sequentialMs / wallMs.'),
      })
      .strict()
      .optional(),
    totals: z
      .object({
        operations: countSchema,
        byState: z.record(stateSchema, countSchema),
        items: countSchema,
        distinct: countSchema,
        duplicates: countSchema,
        failures: countSchema,
        problems: countSchema,
      })
      .strict(),
    kinds: z.array(kindSummarySchema),
    groups: z.array(groupSchema),
    failures: listed(failureSchema).extend({ byCode: z.record(z.string(), countSchema) }),
    problems: listed(problemSchema),
    notes: listed(z.string()),
    operations: listed(operationSummarySchema),
    budget: z
      .object({
        format: z.enum(['markdown', 'json']),
        unit: z.enum(['chars', 'tokens']),
        limit: z.number().min(0).describe('In the unit given.'),
        limitChars: z.number().int().min(0).describe('The limit in characters (tokens ≈ chars / 4).'),
        used: z.number().int().min(0).describe('Characters of the rendering.'),
        fits: z.boolean(),
      })
      .strict()
      .optional(),
    spill: z
      .object({
        path: z.string().describe('The full report, in the same format.'),
        format: z.enum(['markdown', 'json']),
        chars: z.number().int().min(0),
        perGroup: countSchema.describe('Most entries listed per group there.'),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The aggregated answer of a run (the type of {@link reportSchema}). */
export type Report = z.infer<typeof reportSchema>;
/** One ranked result of a {@link Report}. */
export type ReportEntry = z.infer<typeof entrySchema>;
/** One group of a {@link Report}. */
export type ReportGroup = z.infer<typeof groupSchema>;
/** One failure of a {@link Report}. */
export type ReportFailure = z.infer<typeof failureSchema>;
/** One operation agreeing with an entry. */
export type Agreement = z.infer<typeof agreementSchema>;

/** The JSON Schema (draft 2020-12) of a {@link Report}, generated from {@link reportSchema}. */
export function reportJsonSchema(): Record<string, unknown> {
  return {
    title: 'fanout report',
    ...(z.toJSONSchema(reportSchema, { target: 'draft-2020-12' }) as Record<string, unknown>),
  };
}
