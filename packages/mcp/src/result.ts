/**
 * A run's answer to a tool call, within the output budget: the structured content (one
 * entry per operation, outputs while they fit) and the text for a model (the aggregated
 * report). The budget bounds the whole structured content, text included, because some
 * clients (Claude Code among them) show the model `JSON.stringify(structuredContent)` and
 * nothing else. What does not fit is counted in the result and written to the run's
 * directory: `report.md` (the full text) and `results.json` (every entry and output).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHARS_PER_TOKEN } from '@fanout/aggregate';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { TerminalState } from '@fanout/scheduler';
import { fitView, jsonFits, jsonLength, jsonValueLength } from './fit.js';
import { collectHeads, longestHead, Paths, type OperationEntry, type RenderInput, type SpillPaths, type TextView } from './render.js';
import type { RunResultContent } from './result-schema.js';
import type { RunRecord } from './runs.js';

/** Entries per group the aggregated report holds: the full text written to the run directory (previews show fewer; results.json has every output). */
const FULL_LIMIT = 5_000;
/** Room kept for everything in the structured content besides entries, text and outputs. */
const ENVELOPE_CHARS = 1_200;
/** What `"output":` and its comma add to an entry. */
const OUTPUT_KEY_CHARS = 10;

/** Every operation's entry: plan order, then fan-out items; operations not ended are `pending`. */
export function operationEntries(record: RunRecord): OperationEntry[] {
  const result = record.result;
  if (result !== undefined) {
    const out: OperationEntry[] = [];
    for (const op of result.operations()) {
      const entry = record.finished.get(op.id);
      if (entry !== undefined) {
        out.push(entry);
        continue;
      }
      // Ended without an event of its own (carried over, or before anyone listened).
      const made: OperationEntry = { id: op.id, kind: op.kind, state: op.state, attempts: op.attempts, durationMs: op.durationMs };
      if (op.parent !== undefined) made.parent = op.parent;
      if (op.state === 'succeeded') made.output = op.output;
      else {
        const e = op.error as { code?: unknown; message?: unknown; path?: unknown } | undefined;
        made.error = { code: typeof e?.code === 'string' ? e.code : 'FANOUT_OPERATION_FAILED', message: typeof e?.message === 'string' ? e.message : String(op.error) };
      }
      out.push(made);
    }
    return out;
  }
  const out: OperationEntry[] = [];
  const planIds = new Set<string>();
  for (const spec of record.plan.operations) {
    planIds.add(spec.id);
    out.push(record.finished.get(spec.id) ?? { id: spec.id, kind: spec.kind, state: 'pending', attempts: 0, durationMs: 0 });
  }
  for (const entry of record.finished.values()) if (!planIds.has(entry.id)) out.push(entry);
  return out;
}

/** Counts by state. */
function countStates(entries: readonly OperationEntry[]): Record<TerminalState | 'pending', number> {
  const counts: Record<TerminalState | 'pending', number> = { succeeded: 0, failed: 0, skipped: 0, cancelled: 0, 'timed-out': 0, pending: 0 };
  for (const entry of entries) counts[entry.state]++;
  return counts;
}

/** An entry without its output. */
function slim(entry: OperationEntry): OperationEntry {
  const { output: _output, ...rest } = entry;
  return rest;
}

/** Options of {@link runResult}. */
export interface ResultOptions {
  budgetTokens: number;
  /** The directory under which each run's directory is made (asked only when something must be written). */
  runsDir: () => Promise<string>;
}

/**
 * The answer for a run as it stands: done, or still going (the call passed its deadline).
 * Never `isError`: failed operations are entries like the others.
 */
export async function runResult(record: RunRecord, options: ResultOptions): Promise<CallToolResult> {
  const entries = operationEntries(record);
  const counts = countStates(entries);
  const report = await record.aggregator.report({ budget: false, limit: FULL_LIMIT, title: record.title });
  const summary = record.result?.summary;
  const wallMs = summary?.wallMs ?? record.elapsedMs();
  const sequentialMs = summary?.sequentialMs ?? entries.reduce((sum, entry) => sum + entry.durationMs, 0);
  const pending = entries.filter((entry) => entry.state === 'pending').map((entry) => entry.id);
  const notes: string[] = [];
  if (record.failure !== undefined) notes.push(`the run itself failed (${(record.failure as Error)?.message ?? String(record.failure)}); what finished before is below`);
  const input: RenderInput = {
    tool: record.tool,
    title: record.title,
    handle: record.handle,
    done: record.done,
    roots: record.roots.roots,
    rootsSource: record.roots.source,
    rootsNote: [record.roots.note, ...notes].filter((note) => note !== undefined).join('; ') || undefined,
    counts,
    total: entries.length,
    wallMs,
    sequentialMs,
    pending,
    report,
    operations: entries,
  };

  const budgetChars = options.budgetTokens * CHARS_PER_TOKEN;
  let spill: SpillPaths | undefined;
  const spillPaths = async (): Promise<SpillPaths> => {
    if (spill === undefined) {
      const dir = join(await options.runsDir(), record.handle);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      spill = { dir, report: join(dir, 'report.md'), results: join(dir, 'results.json') };
    }
    return spill;
  };

  // 1. The entries, without outputs. Past half the budget, those of operations that
  //    succeeded go first (failures are what a model must see).
  let listed = entries.map(slim);
  let entriesOmitted = 0;
  if (JSON.stringify(listed).length > budgetChars / 2) {
    const failed = listed.filter((entry) => entry.state !== 'succeeded');
    const ok = listed.filter((entry) => entry.state === 'succeeded');
    let size = JSON.stringify(failed).length;
    const kept = new Set<OperationEntry>(failed);
    for (const entry of ok) {
      const add = JSON.stringify(entry).length + 1;
      if (size + add > budgetChars / 2) break;
      size += add;
      kept.add(entry);
    }
    entriesOmitted = listed.length - kept.size;
    listed = listed.filter((entry) => kept.has(entry));
  }
  const listedChars = JSON.stringify(listed).length;

  // 2. Outputs, in operation order, while they fit beside the entries and room kept for the
  //    report itself (at most half of what is left).
  const paths = new Paths(input.roots);
  const render = record.renderer;
  const fullView = (forInput: RenderInput): TextView => {
    const heads = collectHeads(forInput, paths);
    return {
      entries: Math.max(0, ...report.groups.map((g) => g.entries.length)),
      heads: heads.length,
      headLines: longestHead(heads),
      operations: report.operations.total,
      problems: report.failures.total + report.problems.total,
    };
  };
  // A fan-out operation's output is its items' outputs: they carry them, it does not repeat them.
  const fannedOut = new Set(entries.filter((entry) => entry.parent !== undefined).map((entry) => entry.parent!));
  const withOutput = new Set(entries.filter((entry) => entry.output !== undefined && !fannedOut.has(entry.id)).map((entry) => entry.id));
  const bare: RenderInput = { ...input, outputsShown: withOutput };
  // Whole renderings, made once each (the budget checks and the spill want them again).
  const wholes = new Map<RenderInput, string>();
  const whole = (forInput: RenderInput): string => {
    let text = wholes.get(forInput);
    if (text === undefined) {
      text = render(forInput, fullView(forInput), undefined);
      wholes.set(forInput, text);
    }
    return text;
  };
  // Their lengths as JSON strings, measured once each (the reserve and the fit want the same one).
  const lengths = new Map<RenderInput, number>();
  const measured = (forInput: RenderInput): number => {
    let length = lengths.get(forInput);
    if (length === undefined) {
      length = jsonLength(whole(forInput));
      lengths.set(forInput, length);
    }
    return length;
  };
  const room = budgetChars - listedChars - ENVELOPE_CHARS;
  const half = Math.floor(room / 2);
  // No shorter than its characters and quotes: past half the room, the reserve is that half.
  const reserve = whole(bare).length + 2 >= half ? half : Math.min(measured(bare), half);
  let outputChars = 0;
  let outputsOmitted = 0;
  const shown = new Set<string>();
  /** The JSON length of each output shown (the result's own length is added up from them). */
  const outputLengths = new Map<string, number>();
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const operations = listed.map((entry) => {
    const output = byId.get(entry.id)?.output;
    if (output === undefined || fannedOut.has(entry.id)) return entry;
    const json = jsonValueLength(output);
    const size = (json ?? 4) + OUTPUT_KEY_CHARS;
    if (outputChars + size <= room - reserve) {
      outputChars += size;
      shown.add(entry.id);
      if (json !== undefined) outputLengths.set(entry.id, json);
      return { ...entry, output };
    }
    outputsOmitted++;
    return { ...entry, outputOmitted: true as const };
  });
  const listedIds = new Set(listed.map((entry) => entry.id));
  for (const id of withOutput) if (!listedIds.has(id)) outputsOmitted++;

  // 3. The texts, in what is left: in the structured result, the report with the contents of
  //    the operations whose outputs are not beside it; in the text content (for clients that
  //    show only that), the report with every content, in the whole budget.
  let cut = false;
  let fits = true;
  const fit = async (forInput: RenderInput, limit: number): Promise<string> => {
    const text = whole(forInput);
    if (jsonFits(text, limit, () => measured(forInput))) return text;
    const view = fullView(forInput);
    const where = await spillPaths();
    const fitted = fitView((v) => render(forInput, v, where), view, limit, `… cut at the output budget; the full text is in ${where.report}`);
    cut = true;
    fits &&= fitted.fits;
    return fitted.text;
  };
  const structuredInput: RenderInput = shown.size === 0 ? input : shown.size === withOutput.size ? bare : { ...input, outputsShown: shown };
  let structuredText = await fit(structuredInput, Math.max(400, room - outputChars));
  let text = shown.size === 0 ? structuredText : await fit(input, Math.max(400, budgetChars - ENVELOPE_CHARS));

  if (outputsOmitted > 0 || entriesOmitted > 0 || cut) {
    const where = await spillPaths();
    await writeFile(where.report, whole(input));
    await writeFile(where.results, JSON.stringify({ handle: record.handle, done: record.done, roots: input.roots, operations: entries }));
    if (outputsOmitted > 0 || entriesOmitted > 0) {
      const note = `\n${entriesOmitted > 0 ? `${entriesOmitted} entries of operations that succeeded and ` : ''}${outputsOmitted} outputs did not fit the budget: every entry and output is in ${where.results} (read it with fanout_read).\n`;
      structuredText += note;
      text += note;
    }
  }
  const textCut = cut;

  const content: RunResultContent = {
    handle: record.handle,
    done: record.done,
    root: paths.root,
    roots: [...input.roots],
    summary: {
      operations: entries.length,
      succeeded: counts.succeeded,
      failed: counts.failed,
      timedOut: counts['timed-out'],
      skipped: counts.skipped,
      cancelled: counts.cancelled,
      pending: counts.pending,
      wallMs: round(wallMs),
      sequentialMs: round(sequentialMs),
      speedup: wallMs > 0 ? round(sequentialMs / wallMs) : 0,
    },
    operations: operations as RunResultContent['operations'],
    ...(entriesOmitted > 0 ? { operationsOmitted: entriesOmitted } : {}),
    text: structuredText,
    budget: { tokens: options.budgetTokens, chars: budgetChars, used: 0, fits },
    ...(textCut || outputsOmitted > 0 || entriesOmitted > 0 ? { cut: { text: textCut, outputs: outputsOmitted, entries: entriesOmitted } } : {}),
    ...(spill === undefined ? {} : { spill }),
  };
  // The length with `used` in it: measured once with 0 there, then its own digits added.
  const length = jsonLengthOf(content, outputLengths) - 1;
  content.budget.used = length + String(length).length;
  if (String(content.budget.used).length !== String(length).length) content.budget.used++;
  return { content: [{ type: 'text', text }], structuredContent: content };
}

/**
 * `JSON.stringify(content).length`, with each output whose length is known (`outputLengths`,
 * by operation id) written as `0` and its length added: the outputs were measured when they
 * were fitted, and the SDK serializes the whole result once more to send it.
 */
function jsonLengthOf(content: RunResultContent, outputLengths: ReadonlyMap<string, number>): number {
  let known = 0;
  const skeleton = JSON.stringify(content, function (this: { id?: unknown }, key: string, value: unknown) {
    // Only an entry has an `output` key here: the replacer never goes into an output.
    if (key !== 'output' || typeof this.id !== 'string') return value;
    const length = outputLengths.get(this.id);
    if (length === undefined) return value;
    known += length - 1;
    return 0;
  });
  return skeleton.length + known;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
