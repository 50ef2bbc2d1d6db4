/**
 * The account of a fleet, read from a finished run: per agent its state and every step's, the
 * final message, cost, tokens, turns, duration, pauses, flags, its diff against the base and
 * the verify result; the conflict matrix; the merge; and totals that are the sums of the
 * agents' figures. Agents that failed still report what they spent (their error carries it).
 */
import type { OperationResult, RunResult, TerminalState } from '@fanout/scheduler';
import type { AgentFlag, AgentOutput } from './adapters/agent-adapter.js';
import type { DiskOutput } from './adapters/disk-adapter.js';
import type { StepOutput } from './adapters/step-adapters.js';
import type { CollectOutput, FileChange } from './collect.js';
import type { ConflictMatrix, ConflictPair } from './conflicts.js';
import type { MergeOutput } from './merge.js';
import type { AgentsRunInfo } from './plan.js';
import { addUsage, totalTokens, zeroUsage, type TokenUsage } from './usage.js';
import type { CheckoutInfo } from './worktree.js';

/** A step's state, or `absent` when the plan has no such step. */
export type StepState = TerminalState | 'absent';

/** One agent, as the report gives it. */
export interface AgentReport {
  id: string;
  task: string;
  prompt: string;
  preset: string;
  provider: string;
  branch: string;
  worktree: string;
  /** The agent step's state. */
  state: StepState;
  steps: { worktree: StepState; checkout: StepState; setup: StepState; agent: StepState; collect: StepState; verify: StepState };
  /** Why the first step that did not succeed did not. */
  error?: string;
  /** The agent's success was carried over from the journal. */
  resumed: boolean;
  message?: string;
  sessionId?: string;
  costUsd?: number;
  usage: TokenUsage;
  tokens: number;
  turns?: number;
  durationMs: number;
  pausedMs: number;
  pauses: number;
  launches: number;
  flags: AgentFlag[];
  permissionDenials: string[];
  /** Its branch against the base, when collected. */
  diff?: { head: string; commits: number; files: FileChange[]; added: number; deleted: number; leftovers: number; switchedBranch?: string };
  verify?: { state: StepState; exitCode?: number | null; tail?: string };
  diskBytes?: number;
  /** `.worktreeinclude` files copied in. */
  included?: string[];
  /** How long each step's last attempt took (0 for a step that did not run or is absent). */
  timings: { worktreeMs: number; checkoutMs: number; setupMs: number; agentMs: number; collectMs: number; verifyMs: number };
}

/** The whole fleet. */
export interface AgentsReport {
  run: string;
  repo: string;
  base: string;
  worktreesDir: string;
  agents: AgentReport[];
  totals: {
    agents: number;
    succeeded: number;
    failed: number;
    /** Skipped, cancelled or timed out. */
    other: number;
    /** Sum of the agents' costs (only CLIs that report one count). */
    costUsd: number;
    /** Agents that reported a cost. */
    costed: number;
    usage: TokenUsage;
    tokens: number;
    turns: number;
    commits: number;
    added: number;
    deleted: number;
    diskBytes: number;
  };
  conflicts: { state: StepState; agents: string[]; checked: number; apart: number; pairs: ConflictPair[]; error?: string };
  merge?: { state: StepState; branch: string; worktree: string; merged: string[]; conflict?: { agent: string; files: string[] }; notTried: string[]; head?: string; error?: string };
}

function stateOf(result: RunResult, id: string | undefined): StepState {
  if (id === undefined) return 'absent';
  return result.get(id)?.state ?? 'absent';
}

function durationOf(result: RunResult, id: string | undefined): number {
  const op = id === undefined ? undefined : result.get(id);
  return op === undefined || op.resumed === true ? 0 : op.durationMs;
}

/** What a step produced: its output, or the `data` its error carries (a failed agent's figures). */
function dataOf<T>(op: OperationResult | undefined): T | undefined {
  if (op === undefined) return undefined;
  if (op.state === 'succeeded') return op.output as T;
  const data = (op.error as { data?: unknown } | undefined)?.data;
  return data === undefined ? undefined : (data as T);
}

function messageOf(op: OperationResult | undefined): string | undefined {
  if (op === undefined || op.state === 'succeeded') return undefined;
  const error = op.error as { message?: unknown } | undefined;
  return typeof error?.message === 'string' ? error.message : undefined;
}

/**
 * Reads the report of a fleet out of its run's result. `outcomes` (the adapters'
 * `shared.outcomes`, once `shared.running` has settled) fills in the figures of agents the
 * scheduler stopped waiting for: a timed-out or cancelled agent still spent its tokens.
 */
export function agentsReport(result: RunResult, info: AgentsRunInfo, outcomes?: ReadonlyMap<string, AgentOutput>): AgentsReport {
  const agents: AgentReport[] = info.agents.map((slot) => {
    const agentOp = result.get(slot.ops.agent);
    const out = dataOf<AgentOutput>(agentOp) ?? (agentOp?.resumed === true ? undefined : outcomes?.get(slot.id));
    const steps = {
      worktree: stateOf(result, slot.ops.worktree),
      checkout: stateOf(result, slot.ops.checkout),
      setup: stateOf(result, slot.ops.setup),
      agent: stateOf(result, slot.ops.agent),
      collect: stateOf(result, slot.ops.collect),
      verify: stateOf(result, slot.ops.verify),
    };
    const report: AgentReport = {
      id: slot.id,
      task: slot.task.id,
      prompt: slot.task.prompt,
      preset: slot.preset,
      provider: slot.provider,
      branch: slot.branch,
      worktree: slot.path,
      state: steps.agent,
      steps,
      resumed: agentOp?.resumed === true,
      usage: out?.usage ?? zeroUsage(),
      tokens: out?.tokens ?? 0,
      durationMs: out?.durationMs ?? 0,
      pausedMs: out?.pausedMs ?? 0,
      pauses: out?.pauses ?? 0,
      launches: out?.launches ?? 0,
      flags: out?.flags ?? [],
      permissionDenials: out?.permissionDenials ?? [],
      timings: {
        worktreeMs: durationOf(result, slot.ops.worktree),
        checkoutMs: durationOf(result, slot.ops.checkout),
        setupMs: durationOf(result, slot.ops.setup),
        agentMs: durationOf(result, slot.ops.agent),
        collectMs: durationOf(result, slot.ops.collect),
        verifyMs: durationOf(result, slot.ops.verify),
      },
    };
    // The fleet's branches step first: when it failed, every worktree step was skipped for it.
    const firstFailure = ['branches', slot.ops.worktree, slot.ops.checkout, slot.ops.setup, slot.ops.agent, slot.ops.collect, slot.ops.verify]
      .filter((id): id is string => id !== undefined)
      .map((id) => messageOf(result.get(id)))
      .find((message) => message !== undefined);
    if (firstFailure !== undefined) report.error = firstFailure;
    if (out?.message !== undefined) report.message = out.message;
    if (out?.sessionId !== undefined) report.sessionId = out.sessionId;
    if (out?.costUsd !== undefined) report.costUsd = out.costUsd;
    if (out?.turns !== undefined) report.turns = out.turns;
    const disk = dataOf<DiskOutput>(result.get(slot.ops.disk))?.bytes ?? out?.diskBytes;
    if (disk !== undefined) report.diskBytes = disk;
    const collected = dataOf<CollectOutput>(result.get(slot.ops.collect));
    if (collected !== undefined && result.get(slot.ops.collect)?.state === 'succeeded') {
      report.diff = { head: collected.head, commits: collected.commits, files: collected.files, added: collected.added, deleted: collected.deleted, leftovers: collected.leftovers };
      if (collected.switchedBranch !== undefined) report.diff.switchedBranch = collected.switchedBranch;
    }
    if (slot.ops.verify !== undefined) {
      const verified = dataOf<StepOutput>(result.get(slot.ops.verify));
      report.verify = { state: steps.verify };
      if (verified !== undefined) {
        report.verify.exitCode = verified.exitCode;
        const tail = (verified.stderrTail.trim() || verified.stdoutTail.trim()).slice(-1000);
        if (tail !== '') report.verify.tail = tail;
      }
    }
    const checkout = dataOf<CheckoutInfo>(result.get(slot.ops.checkout));
    if (checkout !== undefined && checkout.included.length > 0) report.included = checkout.included;
    return report;
  });

  const totals: AgentsReport['totals'] = {
    agents: agents.length,
    succeeded: 0,
    failed: 0,
    other: 0,
    costUsd: 0,
    costed: 0,
    usage: zeroUsage(),
    tokens: 0,
    turns: 0,
    commits: 0,
    added: 0,
    deleted: 0,
    diskBytes: 0,
  };
  for (const agent of agents) {
    if (agent.state === 'succeeded') totals.succeeded++;
    else if (agent.state === 'failed') totals.failed++;
    else totals.other++;
    if (agent.costUsd !== undefined) {
      totals.costUsd += agent.costUsd;
      totals.costed++;
    }
    addUsage(totals.usage, agent.usage);
    totals.turns += agent.turns ?? 0;
    totals.commits += agent.diff?.commits ?? 0;
    totals.added += agent.diff?.added ?? 0;
    totals.deleted += agent.diff?.deleted ?? 0;
    totals.diskBytes += agent.diskBytes ?? 0;
  }
  totals.tokens = totalTokens(totals.usage);

  const conflictsOp = result.get('conflicts');
  const matrix = dataOf<ConflictMatrix>(conflictsOp);
  const conflicts: AgentsReport['conflicts'] = {
    state: conflictsOp?.state ?? 'absent',
    agents: matrix?.agents ?? [],
    checked: matrix?.checked ?? 0,
    apart: matrix?.apart ?? 0,
    pairs: matrix?.pairs ?? [],
  };
  const conflictsError = messageOf(conflictsOp);
  if (conflictsError !== undefined) conflicts.error = conflictsError;

  const report: AgentsReport = { run: info.run, repo: info.repo, base: info.base, worktreesDir: info.worktreesDir, agents, totals, conflicts };
  if (info.merge !== undefined) {
    const mergeOp = result.get('merge');
    const merged = dataOf<MergeOutput>(mergeOp);
    report.merge = { state: mergeOp?.state ?? 'absent', branch: info.merge.branch, worktree: info.merge.path, merged: merged?.merged ?? [], notTried: merged?.notTried ?? [] };
    if (merged?.conflict !== undefined) report.merge.conflict = merged.conflict;
    if (merged?.head !== undefined) report.merge.head = merged.head;
    const error = messageOf(mergeOp);
    if (error !== undefined && merged?.conflict === undefined) report.merge.error = error;
  }
  return report;
}
