/**
 * The HTML report of a run: one self-contained page (inline CSS and SVG, no script, no
 * external asset). Its sections are exported too, so that a live view (the server's
 * dashboard) draws a run with the same code.
 */
import { escapeHtml, type RunSummary } from '@fanout/scheduler';
import { formatMs, sequentialNote } from './format.js';
import type { Point, Timeline } from './timeline.js';

const OUTCOME_COLORS: Record<string, string> = {
  succeeded: '#3a8f5c',
  failed: '#c0392b',
  'timed-out': '#d35400',
  cancelled: '#7f8c8d',
  skipped: '#95a5a6',
  retried: '#e1a100',
};

function steps(points: readonly Point[], x: (t: number) => number, y: (v: number) => number, endTime: number): string {
  if (points.length === 0) return '';
  const coords: string[] = [];
  let previous = points[0]!;
  coords.push(`${x(previous.time).toFixed(1)},${y(previous.value).toFixed(1)}`);
  for (const point of points.slice(1)) {
    coords.push(`${x(point.time).toFixed(1)},${y(previous.value).toFixed(1)}`, `${x(point.time).toFixed(1)},${y(point.value).toFixed(1)}`);
    previous = point;
  }
  coords.push(`${x(endTime).toFixed(1)},${y(previous.value).toFixed(1)}`);
  return coords.join(' ');
}

/** The timeline: a row per lane of each kind, a bar per attempt, coloured by how it ended. */
function timelineSvg(timeline: Timeline, width: number): string {
  const end = Math.max(timeline.wallMs, ...timeline.slices.map((s) => s.end), 1);
  const laneHeight = 6;
  const gap = 14;
  const label = 90;
  const x = (t: number): number => label + (t / end) * (width - label - 10);
  let y = 4;
  const parts: string[] = [];
  for (const kind of timeline.kinds) {
    const slices = timeline.slices.filter((s) => s.kind === kind);
    const lanes = Math.max(1, ...slices.map((s) => s.lane + 1));
    parts.push(`<text x="0" y="${y + 10}" class="kind">${escapeHtml(kind)}</text>`);
    for (const s of slices) {
      const w = Math.max(0.6, x(s.end) - x(s.start));
      parts.push(
        `<rect class="bar" data-id="${escapeHtml(s.id)}" data-kind="${escapeHtml(kind)}" data-outcome="${s.outcome}" x="${x(s.start).toFixed(2)}" y="${y + s.lane * laneHeight}" width="${w.toFixed(2)}" height="${laneHeight - 1}" fill="${OUTCOME_COLORS[s.outcome] ?? '#555'}"><title>${escapeHtml(s.id)} · attempt ${s.attempt} · ${formatMs(s.end - s.start)} · ${s.outcome}</title></rect>`,
      );
    }
    y += lanes * laneHeight + gap;
  }
  // The first label starts at its tick, the last ends at it, the others are centred: all fit.
  const anchor = (f: number): string => (f === 0 ? 'start' : f === 1 ? 'end' : 'middle');
  const axis = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * end).toFixed(1)}" y="${y + 4}" class="tick" text-anchor="${anchor(f)}">${formatMs(f * end)}</text>`).join('');
  return `<svg class="timeline" viewBox="0 0 ${width} ${y + 14}" width="100%" role="img" aria-label="timeline of every operation">${parts.join('')}${axis}</svg>`;
}

/** In flight against the limit, per kind, as step lines. */
function concurrencySvg(timeline: Timeline, width: number): string {
  const end = Math.max(timeline.wallMs, 1);
  const charts: string[] = [];
  for (const kind of timeline.kinds) {
    const limit = timeline.limits[kind] ?? [];
    const inflight = timeline.inflight[kind] ?? [];
    const top = Math.max(1, ...limit.map((p) => p.value), ...inflight.map((p) => p.value));
    const h = 70;
    const x = (t: number): number => 40 + (t / end) * (width - 50);
    const y = (v: number): number => 6 + (1 - v / top) * (h - 12);
    charts.push(
      `<figure><figcaption>${escapeHtml(kind)}: in flight (solid) against the limit (dashed), peak ${Math.max(0, ...inflight.map((p) => p.value))} of ${top}</figcaption>` +
        `<svg viewBox="0 0 ${width} ${h}" width="100%" class="concurrency" data-kind="${escapeHtml(kind)}"><text x="0" y="12" class="tick">${top}</text><text x="0" y="${h - 4}" class="tick">0</text>` +
        `<polyline class="limit" points="${steps(limit, x, y, end)}"/><polyline class="inflight" points="${steps(inflight, x, y, end)}"/></svg></figure>`,
    );
  }
  return charts.join('');
}

const RESOURCE_COLORS = { cpu: '#c05621', memory: '#6b46c1', disk: '#2f855a' } as const;

/** The machine's CPU, memory and disk use (0–100 %) over the run, as lines. */
function resourcesSvg(timeline: Timeline, width: number): string {
  const points = timeline.resources;
  if (points.length === 0) return '<p class="quiet">The machine was not sampled during this run.</p>';
  const end = Math.max(timeline.wallMs, ...points.map((p) => p.time), 1);
  const h = 90;
  const x = (t: number): number => 40 + (Math.max(0, t) / end) * (width - 50);
  const y = (share: number): number => 6 + (1 - Math.min(1, Math.max(0, share))) * (h - 12);
  const lines = (Object.keys(RESOURCE_COLORS) as (keyof typeof RESOURCE_COLORS)[])
    .map((key) => {
      const series = points.filter((p) => p[key] !== undefined).map((p) => [x(p.time).toFixed(1), y(p[key]!).toFixed(1)] as const);
      if (series.length === 0) return '';
      // A dot per sample: a run shorter than the sampling interval still shows its one sample.
      const dots = series.map(([cx, cy]) => `<circle cx="${cx}" cy="${cy}" r="2" fill="${RESOURCE_COLORS[key]}"/>`).join('');
      return `<g class="resource" data-resource="${key}"><polyline fill="none" stroke="${RESOURCE_COLORS[key]}" stroke-width="1.5" points="${series.map((p) => p.join(',')).join(' ')}"/>${dots}</g>`;
    })
    .join('');
  const last = points.at(-1)!;
  const legend = (Object.keys(RESOURCE_COLORS) as (keyof typeof RESOURCE_COLORS)[])
    .filter((key) => last[key] !== undefined)
    .map((key) => `<span style="color:${RESOURCE_COLORS[key]}">${key} ${Math.round(last[key]! * 100)} %</span>`)
    .join(' · ');
  return (
    `<figure><figcaption>CPU, memory and disk use of the machine, 0–100 % (last sample: ${legend}${last.eventLoopP99Ms === undefined ? '' : ` · event loop p99 ${last.eventLoopP99Ms.toFixed(1)} ms`})</figcaption>` +
    `<svg viewBox="0 0 ${width} ${h}" width="100%" class="resources"><text x="0" y="12" class="tick">100%</text><text x="0" y="${h - 4}" class="tick">0</text>${lines}</svg></figure>`
  );
}

/** The report's style sheet (the dashboard uses it too). */
export const REPORT_CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1160px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:28px 0 8px}
.facts{display:flex;gap:28px;flex-wrap:wrap;margin:12px 0}.facts div{min-width:120px}.facts b{display:block;font-size:20px}
.kind{font-size:11px;fill:#333}.tick{font-size:10px;fill:#777}
.limit{fill:none;stroke:#888;stroke-dasharray:4 3}.inflight{fill:none;stroke:#2b6cb0;stroke-width:1.5}
figure{margin:8px 0}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
.quiet{color:#777}.results{overflow:auto}
`;

/**
 * The sections every view of a run draws from its timeline: the attempts, in flight against
 * the limit per kind, and the resource pressure.
 */
export function renderTimelineSections(timeline: Timeline, width = 1100): string {
  const pressure =
    resourcesSvg(timeline, width) +
    (timeline.pressure.length === 0
      ? '<p class="quiet">No pool was paused by resource pressure during the run.</p>'
      : `<ul class="pressure">${timeline.pressure.map((p) => `<li>${formatMs(p.time)} · ${escapeHtml(p.kind)} ${p.admit ? 'resumed' : `paused: ${escapeHtml(p.reason ?? 'pressure')}`}</li>`).join('')}</ul>`);
  return `<h2>Timeline</h2>
<p class="quiet">One bar per attempt, by kind; green succeeded, red failed, orange timed out, yellow retried, grey cancelled.</p>
${timelineSvg(timeline, width)}
<h2>In flight against the limit</h2>
${concurrencySvg(timeline, width)}
<h2>Resource pressure</h2>
${pressure}`;
}

/** The facts of a finished run: counts by state, wall time, the sequential estimate, speedup. */
export function renderSummaryFacts(summary: RunSummary): string {
  const states = Object.entries(summary.byState)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `<span class="state" style="color:${OUTCOME_COLORS[state] ?? '#333'}">${n} ${state}</span>`)
    .join(' · ');
  return `<p>${states}</p>
<div class="facts">
<div><b>${formatMs(summary.wallMs)}</b>wall time</div>
<div title="${escapeHtml(sequentialNote(summary))}"><b>${formatMs(summary.sequentialMs)}</b>one at a time (estimated)</div>
<div><b>${summary.speedup.toFixed(1)}×</b>speedup</div>
<div><b>${summary.total}</b>operations</div>
<div><b>${summary.peakInflight}</b>peak in flight</div>
</div>`;
}

/** The operations that did not succeed, with why (the first 50). */
export function renderFailures(summary: RunSummary): string {
  const failures = summary.failures
    .slice(0, 50)
    .map((f) => `<tr><td>${escapeHtml(f.id)}</td><td>${escapeHtml(f.kind)}</td><td>${f.state}</td><td>${escapeHtml(f.error?.message ?? '')}</td></tr>`)
    .join('');
  return failures === '' ? '' : `<h2>Did not succeed</h2><table><tr><th>operation</th><th>kind</th><th>state</th><th>why</th></tr>${failures}</table>`;
}

/**
 * One self-contained HTML page (inline CSS and SVG, no script, no external asset): the
 * summary, a timeline with one bar per attempt, in flight against the limit per kind, the
 * resource pressure, and the aggregated results (as given, already rendered).
 */
export function renderHtmlReport(input: { title: string; summary: RunSummary; timeline: Timeline; resultsHtml?: string | undefined }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
${REPORT_CSS}</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
${renderSummaryFacts(input.summary)}
${renderTimelineSections(input.timeline)}
${renderFailures(input.summary)}
${input.resultsHtml === undefined ? '' : `<h2>Results</h2><div class="results">${input.resultsHtml}</div>`}
</body></html>
`;
}
