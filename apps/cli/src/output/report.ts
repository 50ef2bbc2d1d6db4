/**
 * What a command prints once its run is over: the Rendered shape every command fills, and the
 * default rendering — the aggregated report as text, Markdown, JSON and the HTML page's tables.
 */
import { renderMarkdown, type Report } from '@fanout/aggregate';
import { aggregateRun, type Config } from '@fanout/profiles';
import { escapeHtml, type Plan, type RunResult } from '@fanout/scheduler';

/** What a command prints once its run is over, in each format it supports. */
export interface Rendered {
  /** For a person at a terminal (stdout). */
  text?: string;
  /** `--json`. */
  json?: unknown;
  /** `--markdown`. */
  markdown?: string;
  /** The results section of the HTML report. */
  html?: string;
}

/** The report's groups as HTML tables (for the HTML page). */
function reportHtml(report: Report): string {
  return report.groups
    .filter((group) => group.entries.length > 0)
    .map((group) => {
      const rows = group.entries
        .slice(0, 25)
        .map((e) => `<tr><td>${e.rank}</td><td>${escapeHtml(e.label ?? e.key)}</td><td>${e.confidence.toFixed(2)}</td><td>${escapeHtml(e.explanation)}</td></tr>`)
        .join('');
      return `<h3>${escapeHtml(group.title)}</h3><table><tr><th>#</th><th>result</th><th>confidence</th><th>why</th></tr>${rows}</table>`;
    })
    .join('');
}

/**
 * Aggregates a finished run into the report every command prints: Markdown for a person (and
 * `--markdown`), the report object for `--json`, tables for the HTML page. The configured
 * output budget applies; what does not fit is spilled to a file the report references.
 */
export async function renderReport(result: RunResult, plan: Plan, config: Config): Promise<Rendered & { report: Report }> {
  const report = await aggregateRun(result, plan, config);
  const markdown = renderMarkdown(report);
  return { report, text: markdown, markdown, json: report, html: reportHtml(report) };
}
