/** How durations and the sequential estimate read, in the HTML report and the CLI's summary. */
import type { RunSummary } from '@fanout/scheduler';

/** A duration for a person: "12 ms", "1.25 s", "2.5 min". */
export function formatMs(value: number): string {
  if (value >= 60_000) return `${(value / 60_000).toFixed(1)} min`;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return `${value.toFixed(value >= 10 ? 0 : 1)} ms`;
}

/** What the sequential figure is, in a few words (see `RunSummary.sequentialMs`). */
export function sequentialNote(summary: RunSummary): string {
  if (!summary.sequentialMeasured) return '(attempts added up: an upper bound for work that competes for the CPU)';
  const shared = summary.busyMs > summary.sequentialMs * 1.05 ? `; the attempts' own durations add up to ${formatMs(summary.busyMs)}` : '';
  return `(estimated for -j 1: shared work counted once, busy-CPU stretches by the CPU they used${shared})`;
}
