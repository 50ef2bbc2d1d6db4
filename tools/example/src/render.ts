import type { RunSummary } from '@fanout/scheduler';

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value >= 10 ? 0 : 1)} ms`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

/** The run summary as the lines a person reads at a terminal. */
export function renderSummary(summary: RunSummary): string[] {
  const header = ['kind', 'ops', 'ok', 'not ok', 'attempts', 'busy', 'p50', 'p99', 'peak/limit'];
  const rows = Object.entries(summary.byKind).map(([kind, k]) => [
    kind,
    String(k.total),
    String(k.byState.succeeded),
    String(k.total - k.byState.succeeded),
    String(k.attempts),
    ms(k.busyMs),
    ms(k.runTime.p50),
    ms(k.runTime.p99),
    `${k.peakInflight}/${k.limit.final}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map((r) => pad(r, widths))];
  const states = Object.entries(summary.byState)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ');
  lines.push(
    '',
    `operations   ${summary.total} (${states})`,
    `wall time    ${ms(summary.wallMs)}`,
    `sequential   ${ms(summary.busyMs)}  (the sum of every attempt: one at a time, it would have taken this long)`,
    `speedup      ${summary.speedup.toFixed(1)}×  (parallel efficiency ${(summary.efficiency * 100).toFixed(0)}% of the ${summary.peakInflight} slots used at the peak)`,
    `queue wait   p50 ${ms(summary.queueWait.p50)}, p99 ${ms(summary.queueWait.p99)}`,
  );
  for (const failure of summary.failures.slice(0, 10)) {
    lines.push(`  ${failure.state} ${failure.id}: ${failure.error?.message ?? ''}`);
  }
  return lines;
}
