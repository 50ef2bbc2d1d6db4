import { METRICS, type Row } from './types.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The row of `subject` (and params, when given) for `metric`. */
export function find(rows: readonly Row[], bench: string, subject: string, metric: string, params?: Record<string, unknown>): Row | undefined {
  return rows.find((row) => row.bench === bench && row.subject === subject && row.metric === metric && (params === undefined || JSON.stringify(row.params ?? {}) === JSON.stringify(params)));
}

/** How many times better fanout is than `row` (> 1: fanout is better), for the metric's direction. */
export function advantage(fanout: number, other: number, metric: string): number {
  const better = METRICS[metric]?.better ?? 'higher';
  return better === 'higher' ? fanout / other : other / fanout;
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'ops/s') return value >= 1e6 ? `${(value / 1e6).toFixed(2)}M/s` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}k/s` : `${value.toFixed(0)}/s`;
  if (unit === 'ratio') return value.toFixed(4);
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(2)} ${unit}`;
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function check(ok: boolean): string {
  return ok ? 'met' : 'NOT met';
}
