import { formatMs, sequentialNote } from '@fanout/monitor/report';
import type { RunSummary } from '@fanout/scheduler';
import type { Paint } from '../color.js';

export { formatMs, sequentialNote };

function pad(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

/**
 * The run summary as a person reads it: a line per kind, then wall time, what running one at
 * a time would have cost, the speedup, and the failures with their reasons.
 */
export function renderSummary(summary: RunSummary, paint: Paint, options: { failures?: number } = {}): string[] {
  const header = ['kind', 'ops', 'ok', 'failed', 'other', 'attempts', 'busy', 'p50', 'p99', 'peak/limit'];
  const rows = Object.entries(summary.byKind).map(([kind, k]) => [
    kind,
    String(k.total),
    String(k.byState.succeeded),
    String(k.byState.failed + k.byState['timed-out']),
    String(k.byState.skipped + k.byState.cancelled),
    String(k.attempts),
    formatMs(k.busyMs),
    formatMs(k.runTime.p50),
    formatMs(k.runTime.p99),
    `${k.peakInflight}/${k.limit.final}${k.slow ? ' slow' : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [paint.bold(pad(header, widths)), ...rows.map((r) => pad(r, widths))];
  const states = Object.entries(summary.byState)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => (state === 'succeeded' ? paint.green(`${n} ${state}`) : paint.red(`${n} ${state}`)))
    .join(', ');
  lines.push(
    '',
    `operations  ${summary.total}${states === '' ? '' : ` (${states})`}${summary.resumed > 0 ? `, ${summary.resumed} carried over from the journal` : ''}`,
    `wall time   ${formatMs(summary.wallMs)}`,
    `sequential  ${formatMs(summary.sequentialMs)} ${paint.dim(sequentialNote(summary))}`,
    `speedup     ${paint.bold(`${summary.speedup.toFixed(1)}×`)} ${paint.dim(`(parallel efficiency ${(summary.efficiency * 100).toFixed(0)}% of the ${summary.peakInflight} slots used at the peak)`)}`,
  );
  if (summary.retries > 0) lines.push(`retries     ${summary.retries} (budget ${summary.retryBudget.spent}/${summary.retryBudget.total})`);
  if (summary.stopReason !== undefined) lines.push(`stopped     ${paint.yellow(summary.stopReason)}`);
  const shown = summary.failures.slice(0, options.failures ?? 10);
  if (shown.length > 0) {
    lines.push('', paint.bold('did not succeed:'));
    for (const failure of shown) lines.push(`  ${paint.red(failure.state.padEnd(9))} ${failure.id} (${failure.kind}): ${failure.error?.message ?? ''}`);
    const more = summary.total - summary.byState.succeeded - shown.length;
    if (more > 0) lines.push(paint.dim(`  … and ${more} more`));
  }
  return lines;
}
