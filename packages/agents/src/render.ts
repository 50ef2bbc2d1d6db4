/**
 * The report of a fleet for people: a table of agents (state, turns, tokens, cost, time, diff,
 * verify), what needs attention (flags, failures, conflicts, the merge), the totals and each
 * agent's final message — as terminal text, as Markdown, and as HTML for the report page.
 */
import { escapeHtml } from '@fanout/scheduler';
import type { AgentReport, AgentsReport } from './report.js';

/** 12.3k, 4.5M. */
export function compact(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** 850 ms, 12.4 s, 3 min 05 s. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')} s`;
}

/** 1.2 MB, 340 MB. */
export function bytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
}

function cost(usd: number | undefined): string {
  return usd === undefined ? '—' : `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

function diff(agent: AgentReport): string {
  const d = agent.diff;
  if (d === undefined) return '—';
  if (d.commits === 0) return 'no changes';
  return `+${d.added} −${d.deleted} in ${d.files.length} (${d.commits}c)`;
}

function verify(agent: AgentReport): string {
  if (agent.verify === undefined) return '';
  switch (agent.verify.state) {
    case 'succeeded':
      return 'passed';
    case 'failed':
      return agent.verify.exitCode === undefined ? 'failed' : `failed (${agent.verify.exitCode})`;
    case 'absent':
      return '';
    default:
      return agent.verify.state;
  }
}

const FLAG_WORDS: Record<string, string> = {
  'waiting-for-input': 'waited for input',
  'permission-denied': 'was refused permissions',
  'rate-limited': 'was rate-limited',
  'budget-stopped': 'was stopped by the budget',
  'idle-stopped': 'went idle and was stopped',
};

/** Lines that need a person: flags, failures, conflicts, the merge. */
function attention(report: AgentsReport): string[] {
  const lines: string[] = [];
  for (const agent of report.agents) {
    for (const flag of agent.flags) {
      const extra =
        flag === 'permission-denied' && agent.permissionDenials.length > 0
          ? ` (${[...new Set(agent.permissionDenials)].join(', ')})`
          : flag === 'rate-limited'
            ? ` (${agent.pauses} pause${agent.pauses === 1 ? '' : 's'}, ${duration(agent.pausedMs)} paused)`
            : '';
      lines.push(`${agent.id} ${FLAG_WORDS[flag] ?? flag}${extra}`);
    }
    if (agent.error !== undefined) lines.push(`${agent.id}: ${agent.error.split('\n')[0]}`);
    if (agent.diff?.switchedBranch !== undefined) lines.push(`${agent.id} left its branch for ${agent.diff.switchedBranch}: its diff is of that checkout`);
  }
  for (const pair of report.conflicts.pairs) lines.push(`conflict: ${pair.a} × ${pair.b}: ${pair.files.join(', ')}`);
  if (report.conflicts.error !== undefined) lines.push(`conflict matrix: ${report.conflicts.error}`);
  const merge = report.merge;
  if (merge !== undefined) {
    if (merge.state === 'succeeded') lines.push(`merged into ${merge.branch}: ${merge.merged.length === 0 ? 'nothing (no clean branch with commits)' : merge.merged.join(', ')} (worktree ${merge.worktree})`);
    else if (merge.conflict !== undefined)
      lines.push(
        `merge into ${merge.branch} stopped at ${merge.conflict.agent} (${merge.conflict.files.join(', ') || 'conflict'}) after ${
          merge.merged.length === 0 ? 'nothing' : merge.merged.join(', ')
        }; not tried: ${merge.notTried.join(', ') || 'none'}`,
      );
    else lines.push(`merge into ${merge.branch}: ${merge.state}${merge.error === undefined ? '' : `: ${merge.error}`}`);
  }
  return lines;
}

function rows(report: AgentsReport): string[][] {
  return report.agents.map((agent) => [
    agent.id,
    agent.resumed ? `${agent.state} (resumed)` : agent.state,
    agent.turns === undefined ? '—' : String(agent.turns),
    agent.tokens === 0 ? '—' : compact(agent.tokens),
    cost(agent.costUsd),
    duration(agent.durationMs),
    diff(agent),
    verify(agent),
  ]);
}

const HEADER = ['agent', 'state', 'turns', 'tokens', 'cost', 'time', 'diff', 'verify'];

function totalsLine(report: AgentsReport): string {
  const t = report.totals;
  const spent = t.costed === 0 ? 'no cost reported' : `${cost(t.costUsd)}${t.costed < t.agents ? ` (${t.costed} of ${t.agents} agents report a cost)` : ''}`;
  return `${t.agents} agents: ${t.succeeded} succeeded, ${t.failed} failed${t.other > 0 ? `, ${t.other} other` : ''} · ${spent} · ${compact(t.tokens)} tokens · ${t.turns} turns · ${
    t.commits
  } commits, +${t.added} −${t.deleted}${t.diskBytes > 0 ? ` · ${bytes(t.diskBytes)} on disk` : ''}`;
}

/** The report as terminal text. */
export function renderAgentsText(report: AgentsReport): string {
  const table = [HEADER, ...rows(report)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const right = new Set([2, 3, 4, 5]);
  const line = (row: string[]): string =>
    row
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [`fanout agents · run ${report.run} · base ${report.base.slice(0, 10)} · ${report.repo}`, '', ...table.map(line), '', totalsLine(report)];
  const notes = attention(report);
  if (notes.length > 0) out.push('', ...notes);
  const messages = report.agents.filter((a) => a.message !== undefined);
  if (messages.length > 0) {
    out.push('', 'final messages:');
    for (const agent of messages) out.push(`  ${agent.id}: ${agent.message!.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
  }
  out.push('', `worktrees: ${report.worktreesDir} (branches fanout/${report.run}/…; "fanout agents clean" removes those without commits)`);
  return out.join('\n');
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The report as Markdown. */
export function renderAgentsMarkdown(report: AgentsReport): string {
  const out = [`# fanout agents: run ${report.run}`, '', `Base \`${report.base}\` of \`${report.repo}\`.`, '', `| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => ' --- ').join('|')}|`];
  for (const row of rows(report)) out.push(`| ${row.map(mdCell).join(' | ')} |`);
  out.push('', totalsLine(report));
  const notes = attention(report);
  if (notes.length > 0) out.push('', '## Needs attention', '', ...notes.map((note) => `- ${mdCell(note)}`));
  const messages = report.agents.filter((a) => a.message !== undefined);
  if (messages.length > 0) {
    out.push('', '## Final messages', '');
    for (const agent of messages) out.push(`### ${agent.id}`, '', agent.message!.trim(), '');
  }
  return out.join('\n');
}

/** The report as HTML (a fragment for the report page). */
export function renderAgentsHtml(report: AgentsReport): string {
  const head = `<tr>${HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows(report)
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('');
  const notes = attention(report);
  const list = notes.length === 0 ? '' : `<h3>Needs attention</h3><ul>${notes.map((note) => `<li>${escapeHtml(note)}</li>`).join('')}</ul>`;
  return `<h3>Agents: run ${escapeHtml(report.run)}</h3><table>${head}${body}</table><p>${escapeHtml(totalsLine(report))}</p>${list}`;
}
