import { Aggregator, type AggregatorOptions, type FinishedOperation, type Report, type ReportEntry, type ReportGroup } from '../../src/index.js';

/** Aggregates finished operations into a report without a budget. */
export async function reportOf(ops: FinishedOperation[], options: AggregatorOptions & { limit?: number } = {}): Promise<Report> {
  const aggregator = new Aggregator(options);
  for (const op of ops) aggregator.add(op);
  return aggregator.report({ budget: false, limit: options.limit ?? 1_000 });
}

export function group(report: Report, type: string): ReportGroup {
  const found = report.groups.find((g) => g.type === type);
  if (found === undefined) throw new Error(`expected a "${type}" group, got ${report.groups.map((g) => g.type).join(', ')}`);
  return found;
}

export function entry(report: Report, type: string, key: string): ReportEntry {
  const found = group(report, type).entries.find((e) => e.key === key);
  if (found === undefined)
    throw new Error(
      `expected "${key}" in ${type}, got ${group(report, type)
        .entries.map((e) => e.key)
        .join(', ')}`,
    );
  return found;
}

export function ok(id: string, kind: string, output: unknown): FinishedOperation {
  return { id, kind, state: 'succeeded', output };
}

/** A grep output in the contract's shape from ripgrep-style messages. */
export function grepOutput(messages: unknown[], truncated = false): unknown {
  const matches = messages.filter((m) => (m as { type: string }).type === 'match').length;
  return { messages, stats: { files: 0, filesWithMatches: 0, matches, matchedLines: matches, bytesSearched: 0 }, truncated };
}

/** ripgrep --json messages for one file's matches: `[line, text, column0][]`. */
export function rgFile(path: string, lines: [number, string, number?][]): unknown[] {
  return [
    { type: 'begin', data: { path: { text: path } } },
    ...lines.map(([line, text, start]) => ({
      type: 'match',
      data: {
        path: { text: path },
        lines: { text: `${text}\n` },
        line_number: line,
        absolute_offset: 0,
        submatches: [{ match: { text: text.slice(start ?? 0, (start ?? 0) + 4) }, start: start ?? 0, end: (start ?? 0) + 4 }],
      },
    })),
    { type: 'end', data: { path: { text: path }, binary_offset: null, stats: { matches: lines.length, matched_lines: lines.length } } },
  ];
}
