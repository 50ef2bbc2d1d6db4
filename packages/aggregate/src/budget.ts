import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderFull, type LineCache } from './markdown.js';
import type { Report } from './report-schema.js';
import type { ReportBuilder } from './report.js';

/** How much of each list a report shows. */
export interface ReportView {
  perGroup: number;
  failures: number;
  problems: number;
  notes: number;
  operations: number;
}

/** What {@link fitToBudget} needs to know. */
export interface FitOptions {
  /** The report as asked for (`limit` entries per group). */
  full: ReportView;
  /** The report written to the spill file. */
  spill: ReportView;
  format: 'markdown' | 'json';
  unit: 'chars' | 'tokens';
  limit: number;
  limitChars: number;
  /** @default os.tmpdir(), read only when the report spills (it reads three environment variables, with the process's credentials checked each time). */
  spillDir: string | undefined;
  /** Goes into the spill file's name (the run id). */
  stamp: string | undefined;
}

function render(report: Report, format: 'markdown' | 'json', cache?: LineCache): string {
  return format === 'markdown' ? renderFull(report, cache) : JSON.stringify(report);
}

/** Every list of `view` cut to a share `s` in [0, 1] (failures first to stay, operations first to go). */
function scale(view: ReportView, s: number): ReportView {
  const part = (count: number, share: number): number => Math.min(count, Math.ceil(count * share));
  return {
    perGroup: part(view.perGroup, s),
    failures: part(view.failures, Math.sqrt(s)),
    problems: part(view.problems, Math.sqrt(s)),
    notes: part(view.notes, s),
    operations: part(view.operations, s * s),
  };
}

/**
 * Fits a report into its output budget. If the report as asked for fits, that is it.
 * Otherwise the full report (up to `spill.perGroup` entries per group) is written to a file
 * and the report becomes a preview referencing it: the largest share of every list that
 * fits, found by bisection on the rendering's length (about a dozen renderings of small
 * previews). If nothing fits, the smallest preview is returned with `fits: false`; its
 * Markdown rendering then cuts itself at the budget.
 */
export async function fitToBudget(builder: ReportBuilder, options: FitOptions): Promise<Report> {
  const { format, limitChars } = options;
  const cache: LineCache = new Map();
  // `used` is filled in last; measuring with the limit itself in its place never
  // underestimates the length (it has at least as many digits).
  const budget = (used: number, fits: boolean): NonNullable<Report['budget']> => ({ format, unit: options.unit, limit: options.limit, limitChars, used, fits });
  // `measured`: the length of the report's Markdown, rendered already by the caller.
  const finish = (report: Report, fits: boolean, measured?: number): Report => {
    const b = budget(limitChars, fits);
    report.budget = b;
    if (format === 'markdown') {
      // The Markdown does not show the budget, so its length is the one measured before `used`
      // was set: not rendered twice more (a server renders every run's report).
      b.used = measured ?? render(report, format, cache).length;
      return report;
    }
    // The length with `used` in place (JSON shows it): two rounds reach the fixed point.
    b.used = render(report, format, cache).length;
    b.used = render(report, format, cache).length;
    return report;
  };

  const whole = builder.make(options.full, { budget: budget(limitChars, true) });
  const wholeLength = render(whole, format, cache).length;
  if (wholeLength <= limitChars) return finish(whole, true, wholeLength);

  const full = builder.make(options.spill);
  const text = render(full, format, cache);
  // node:crypto is loaded on the first spill, not with this module (every command's start-up).
  const path = join(
    options.spillDir ?? tmpdir(),
    `fanout-report-${(options.stamp ?? new Date().toISOString()).replace(/[^\w.-]/g, '-')}-${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.${format === 'markdown' ? 'md' : 'json'}`,
  );
  let spill: Report['spill'];
  try {
    await writeFile(path, text, { flag: 'wx' });
    spill = { path, format, chars: text.length, perGroup: options.spill.perGroup };
  } catch (error) {
    builder.state.notes.push(`the full report could not be written to ${path} (${(error as Error).message}); only this preview is left`);
  }

  const attempt = (s: number): Report => builder.make(scale(options.full, s), { budget: budget(limitChars, true), ...(spill === undefined ? {} : { spill }) });
  const fits = (report: Report): boolean => render(report, format, cache).length <= limitChars;
  let best = attempt(0);
  if (!fits(best)) return finish(best, false);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    const report = attempt(mid);
    if (fits(report)) {
      lo = mid;
      best = report;
    } else {
      hi = mid;
    }
  }
  return finish(best, true);
}
