/**
 * A run as the dashboard shows it, rendered on the server with the HTML report's own sections
 * (`@fanout/monitor/report`) from the run's stored event stream: per kind done / total and in
 * flight against the limit, the attempt timeline, the limit over time, resource pressure,
 * failures with their reasons, and once it is over the summary and the report.
 */
import { renderFailures, renderSummaryFacts, renderTimelineSections, TimelineRecorder } from '@fanout/monitor/report';
import { escapeHtml, type Plan, type SchedulerEvent } from '@fanout/scheduler';
import type { RunMeta, StoredReport } from './store.js';

interface ResourceEvent {
  type: 'resource-sample';
  time: number;
  cpu?: number;
  memory?: number;
  disk?: number;
  eventLoopP99Ms?: number;
}

/** The HTML fragment of one run (the dashboard puts it in its page). */
export function renderRunView(meta: RunMeta, lines: readonly string[], plan: Plan | undefined, report: StoredReport | undefined): string {
  // The last start's events: a resumed run is drawn from its resume (successes carried over show as such).
  let from = 0;
  const events = lines.map((line) => JSON.parse(line) as SchedulerEvent | ResourceEvent);
  events.forEach((event, i) => {
    if (event.type === 'run-started') from = i;
  });
  const recorder = new TimelineRecorder();
  const totals = new Map<string, number>();
  const done = new Map<string, { ok: number; other: number }>();
  const failures: { id: string; kind: string; state: string; why: string }[] = [];
  for (const op of plan?.operations ?? []) totals.set(op.kind, (totals.get(op.kind) ?? 0) + 1);
  for (const event of events.slice(from)) {
    if (event.type === 'resource-sample') {
      recorder.resource(event);
      continue;
    }
    recorder.record(event);
    if (event.type === 'op-expanded') totals.set(event.kind, (totals.get(event.kind) ?? 0) + event.children.length);
    if (event.type === 'op-finished') {
      const counts = done.get(event.kind) ?? { ok: 0, other: 0 };
      if (event.state === 'succeeded') counts.ok++;
      else {
        counts.other++;
        if (failures.length < 50) failures.push({ id: event.id, kind: event.kind, state: event.state, why: event.error?.message ?? '' });
      }
      done.set(event.kind, counts);
    }
  }
  const timeline = recorder.timeline();
  const rows = [...totals.keys()]
    .map((kind) => {
      const counts = done.get(kind) ?? { ok: 0, other: 0 };
      const total = totals.get(kind)!;
      const inflight = timeline.inflight[kind]?.at(-1)?.value ?? 0;
      const limit = timeline.limits[kind]?.at(-1)?.value;
      const share = total === 0 ? 0 : (counts.ok + counts.other) / total;
      return `<tr data-kind="${escapeHtml(kind)}"><td>${escapeHtml(kind)}</td><td class="done">${counts.ok + counts.other} / ${total}</td><td>${counts.other}</td><td>${meta.state === 'running' ? inflight : 0}${limit === undefined ? '' : ` / ${limit}`}</td><td><progress max="1" value="${share.toFixed(3)}"></progress></td></tr>`;
    })
    .join('');
  const live =
    report === undefined && failures.length > 0
      ? `<h2>Did not succeed (so far)</h2><table><tr><th>operation</th><th>kind</th><th>state</th><th>why</th></tr>${failures.map((f) => `<tr><td>${escapeHtml(f.id)}</td><td>${escapeHtml(f.kind)}</td><td>${f.state}</td><td>${escapeHtml(f.why)}</td></tr>`).join('')}</table>`
      : '';
  return `<div class="run" data-id="${meta.id}" data-state="${meta.state}">
<h1>${escapeHtml(meta.title)} <small class="quiet">${meta.id} · ${meta.state}${meta.starts > 1 ? ` · started ${meta.starts} times` : ''}</small></h1>
${report === undefined ? '' : renderSummaryFacts(report.summary)}
<h2>Operations by kind</h2>
<table class="kinds"><tr><th>kind</th><th>done / total</th><th>not succeeded</th><th>in flight / limit</th><th></th></tr>${rows}</table>
${renderTimelineSections(timeline)}
${report === undefined ? live : renderFailures(report.summary)}
${report === undefined ? '' : `<h2>Report</h2><pre class="report">${escapeHtml(report.markdown)}</pre>`}
</div>`;
}
