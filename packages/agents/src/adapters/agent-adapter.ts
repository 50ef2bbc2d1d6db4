/**
 * The `agent` kind: one coding agent on one task in its worktree. Its sub-limit key is its
 * provider, so per-provider limits apply (`limits.agent.keyLimits`). An attempt launches the
 * preset's CLI, reads its stream into progress events, charges the budget as tokens and cost
 * are reported, and judges the end from the preset's verdict. A rate limit pauses the
 * provider and relaunches after the reset — continuing the session when the CLI can — within
 * the same attempt: a pause is not a failure, and the pause counts against the attempt's
 * timeout (the timeout bounds the agent's whole turn). The worktree's disk use is measured
 * after it, by the `disk` step, which does not hold the agent's slot.
 */
import { existsSync } from 'node:fs';
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { runAgentProcess } from '../agent-process.js';
import { readAgentState, writeAgentState } from '../agent-state.js';
import { AgentsError, classifyAgentsError } from '../errors.js';
import type { AgentEvent, AgentPreset, AgentVerdict } from '../preset.js';
import { tailOf } from '../preset.js';
import { addUsage, subtractUsage, totalTokens, zeroUsage, type TokenUsage } from '../usage.js';
import { agentStepFields, type AgentsShared } from './context.js';

/** The input of an `agent` operation (the plan builder writes it). */
export const agentInputSchema = z
  .object({
    agent: agentStepFields.agent,
    task: z.string().min(1),
    preset: z.string().min(1),
    provider: z.string().min(1),
    prompt: z.string().min(1),
    path: agentStepFields.path,
    branch: z.string().min(1),
    /** The plan's digest of what this agent is asked: a resumed session must be of the same task. */
    digest: z.string().min(1),
    extraArgs: z.array(z.string()).default([]),
    /** References that order it after its worktree and setup (their outputs are not used). */
    worktree: agentStepFields.worktree,
    setup: z.unknown().optional(),
  })
  .strict();

export type AgentInput = z.output<typeof agentInputSchema>;

/** Flags raised while an agent ran. */
export type AgentFlag = 'waiting-for-input' | 'permission-denied' | 'rate-limited' | 'budget-stopped' | 'idle-stopped';

/** What an agent did: its output when it succeeded, its error's `data` when not. */
export interface AgentOutput {
  agent: string;
  task: string;
  preset: string;
  provider: string;
  ok: boolean;
  /** Why it did not succeed. */
  reason?: string;
  sessionId?: string;
  /** The final message. */
  message?: string;
  usage: TokenUsage;
  /** Every token, all parts. */
  tokens: number;
  /** Dollars, when the CLI reports them. */
  costUsd?: number;
  turns?: number;
  /** Time the agent's processes ran, pauses excluded. */
  durationMs: number;
  /** Time spent paused for rate limits. */
  pausedMs: number;
  /** Processes launched (more than 1 after rate-limit pauses). */
  launches: number;
  pauses: number;
  permissionDenials: string[];
  flags: AgentFlag[];
  exitCode: number | null;
  signal: string | null;
  /** The end of standard error, when it did not succeed. */
  stderrTail?: string;
  stdoutBytes: number;
  /** Output lines over the line cap, dropped. */
  oversizedLines: number;
  /** The worktree's disk use when the agent ended (journals of earlier versions; now the `disk` step's). */
  diskBytes?: number;
  digest: string;
}

/** What goes into an op-progress event: an agent's event, or a pause. */
export type AgentProgress =
  | { agent: string; event: AgentEvent }
  | { agent: string; event: { type: 'paused'; until: number; reason: string } }
  | { agent: string; event: { type: 'resumed'; waitedMs: number } }
  | { agent: string; event: { type: 'waiting'; text: string } }
  | { agent: string; event: { type: 'launch'; launch: number; resumeSession?: string } };

/** Shortens long texts in progress events (a message of a whole file). */
function forProgress(event: AgentEvent): AgentEvent {
  if ((event.type === 'message' || event.type === 'text') && event.text.length > 500) return { ...event, text: tailOf(event.text, 500) };
  return event;
}

/** Runs agents; built by `createAgentsAdapters`. */
export function agentAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'agent',
    input: agentInputSchema,
    // Agents are not idempotent (a second run does the work again) and mostly wait on an API.
    defaults: { maxConcurrency: 8, optimalConcurrency: 8, idempotent: false, waits: true },
    key: (input: AgentInput) => input.provider,
    classify: classifyAgentsError,
    run: (input: AgentInput, context: AttemptContext) => {
      const attempt = runAgent(input, context, shared);
      const settled = attempt.then(
        () => undefined,
        () => undefined,
      );
      shared.running.add(settled);
      void settled.then(() => shared.running.delete(settled));
      return attempt;
    },
  });
}

async function runAgent(input: AgentInput, context: AttemptContext, shared: AgentsShared): Promise<AgentOutput> {
  const preset: AgentPreset | undefined = shared.presets[input.preset];
  if (preset === undefined)
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected an agent preset named ${JSON.stringify(input.preset)}, got none (known: ${Object.keys(shared.presets).join(', ')})`, {
      path: 'preset',
    });
  if (!existsSync(input.path))
    throw new AgentsError(
      'FANOUT_WORKTREE_MISSING',
      `expected the worktree of ${input.agent} at ${input.path}, but it is gone (removed since the run that made it?): run without --resume, or remove the journal's record of it`,
      { path: input.path },
    );
  shared.budget.check();
  const signal = AbortSignal.any([context.signal, shared.budget.signal]);
  const progress = (event: AgentProgress['event']): void => context.progress({ agent: input.agent, event } as AgentProgress);
  const notify = (event: 'waiting' | 'permission-denied' | 'rate-limited' | 'finished', detail: string): void => {
    void shared.notifier?.notify({ event, agent: input.agent, detail, worktree: input.path, branch: input.branch });
  };

  const previous = readAgentState(input.path);
  let sessionId = previous !== undefined && !previous.finished && previous.digest === input.digest ? previous.sessionId : undefined;
  const output: AgentOutput = {
    agent: input.agent,
    task: input.task,
    preset: preset.name,
    provider: input.provider,
    ok: false,
    usage: zeroUsage(),
    tokens: 0,
    durationMs: 0,
    pausedMs: 0,
    launches: 0,
    pauses: 0,
    permissionDenials: [],
    flags: [],
    exitCode: null,
    signal: null,
    stdoutBytes: 0,
    oversizedLines: 0,
    digest: input.digest,
  };
  const flag = (name: AgentFlag): void => {
    if (!output.flags.includes(name)) output.flags.push(name);
  };
  let cost = 0;
  let costKnown = false;
  let verdict: AgentVerdict | undefined;
  let failure: AgentsError | undefined;

  try {
    // The other checkouts first, within what this one's took (see checkout-gate.ts): no hop
    // through the event loop when none runs.
    if (shared.checkouts.running > 0) {
      await shared.checkouts.idle(shared.checkouts.budgetMs(input.path), signal);
      // Stopped while it waited (a timeout, a cancel): nothing is launched. A spent budget is
      // the budget check's below.
      if (context.signal.aborted) throw context.signal.reason;
    }
    for (;;) {
      // Not paused (the common case): no hop through the event loop before the launch.
      const waitedMs = shared.gates.pausedUntil(input.provider) === undefined ? 0 : await shared.gates.wait(input.provider, signal);
      if (waitedMs > 0) {
        output.pausedMs += waitedMs;
        progress({ type: 'resumed', waitedMs });
      }
      shared.budget.check();
      output.launches++;
      const resumeSession = preset.resumes ? sessionId : undefined;
      progress(resumeSession === undefined ? { type: 'launch', launch: output.launches } : { type: 'launch', launch: output.launches, resumeSession });
      const launch = preset.launch({
        prompt: input.prompt,
        dir: input.path,
        extraArgs: input.extraArgs,
        agent: input.agent,
        branch: input.branch,
        task: input.task,
        ...(resumeSession === undefined ? {} : { resumeSession }),
      });
      // What this process reported so far: its usage events are running totals.
      let seen = zeroUsage();
      let seenCost = 0;
      const charge = (usage: TokenUsage, usd: number | undefined): void => {
        const delta = subtractUsage(usage, seen);
        const deltaCost = usd === undefined ? 0 : Math.max(0, usd - seenCost);
        seen = usage;
        if (usd !== undefined) seenCost = Math.max(seenCost, usd);
        shared.budget.charge(input.agent, totalTokens(delta), deltaCost);
      };
      const onEvent = (event: AgentEvent): void => {
        switch (event.type) {
          case 'session':
            if (event.sessionId !== sessionId) {
              sessionId = event.sessionId;
              void writeAgentState(input.path, { agent: input.agent, digest: input.digest, sessionId, finished: false }).catch(() => undefined);
            }
            break;
          case 'usage':
            charge(event.usage, event.costUsd);
            break;
          case 'rate-limit':
            if (event.status === 'rejected') {
              // Pause the provider at once: no other agent of it should launch into the limit.
              flag('rate-limited');
              if (event.resetsAt !== undefined) shared.gates.pause(input.provider, event.resetsAt, event.detail ?? 'rate limit');
            }
            break;
          case 'permission-denied':
            output.permissionDenials.push(event.tool);
            if (!output.flags.includes('permission-denied')) notify('permission-denied', event.tool);
            flag('permission-denied');
            break;
          default:
            break;
        }
        progress(forProgress(event));
      };
      const ran = await runAgentProcess({
        launch,
        cwd: input.path,
        env: { ...shared.env, FANOUT_AGENT: input.agent, FANOUT_AGENT_TASK: input.task, FANOUT_AGENT_BRANCH: input.branch, FANOUT_AGENT_WORKTREE: input.path },
        parser: preset.parser(),
        signal,
        idleMs: shared.idleMs,
        waitingMs: shared.waitingMs,
        killGraceMs: shared.killGraceMs,
        maxLineBytes: shared.maxLineBytes,
        onEvent,
        onWaiting: (text) => {
          flag('waiting-for-input');
          progress({ type: 'waiting', text: tailOf(text, 300) });
          notify('waiting', tailOf(text, 300));
        },
      });
      verdict = ran.verdict;
      // The verdict's totals are the process's last word (Claude's result replaces the sum of its messages).
      charge(verdict.usage, verdict.costUsd);
      addUsage(output.usage, verdict.usage);
      if (verdict.costUsd !== undefined) {
        cost += verdict.costUsd;
        costKnown = true;
      }
      output.durationMs += ran.durationMs;
      output.exitCode = ran.exit.exitCode;
      output.signal = ran.exit.signal;
      output.stdoutBytes += ran.stdoutBytes;
      output.oversizedLines += ran.oversizedLines;
      if (verdict.turns !== undefined) output.turns = (output.turns ?? 0) + verdict.turns;
      if (verdict.sessionId !== undefined) sessionId = verdict.sessionId;
      if (verdict.message !== undefined) output.message = verdict.message;
      for (const tool of verdict.permissionDenials) if (!output.permissionDenials.includes(tool)) output.permissionDenials.push(tool);
      if (output.permissionDenials.length > 0) flag('permission-denied');
      if (!verdict.ok || ran.aborted || ran.idle) output.stderrTail = tailOf(ran.stderrTail, 2000);

      if (ran.aborted) {
        if (shared.budget.signal.aborted && !context.signal.aborted) {
          flag('budget-stopped');
          failure = shared.budget.signal.reason as AgentsError;
        } else throw context.signal.reason;
        break;
      }
      if (ran.idle) {
        flag('idle-stopped');
        failure = new AgentsError('FANOUT_AGENT_IDLE', `expected ${input.agent} to print something at least every ${shared.idleMs} ms, but it went quiet; its process group was stopped`);
        break;
      }
      if (!verdict.ok && verdict.rateLimited !== undefined) {
        flag('rate-limited');
        output.pauses++;
        if (output.pauses > shared.maxRateLimitPauses) {
          failure = new AgentsError(
            'FANOUT_AGENT_RATE_LIMITED',
            `expected ${input.provider} to accept ${input.agent} again within ${shared.maxRateLimitPauses} rate-limit pauses, but it refused each time (${verdict.rateLimited.detail ?? verdict.reason ?? 'rate limited'})`,
          );
          break;
        }
        const until = verdict.rateLimited.resetsAt ?? Date.now() + shared.defaultPauseMs * 2 ** (output.pauses - 1);
        const reason = verdict.rateLimited.detail ?? 'rate limited';
        shared.gates.pause(input.provider, until, reason);
        progress({ type: 'paused', until, reason });
        notify('rate-limited', `${reason}; paused until ${new Date(until).toISOString()}`);
        continue;
      }
      if (!verdict.ok) failure = new AgentsError('FANOUT_AGENT_FAILED', `expected ${input.agent} (${preset.name}) to succeed, but ${verdict.reason ?? 'it failed'}`);
      break;
    }
  } catch (error) {
    if (error instanceof AgentsError && output.launches === 0) throw error; // nothing ran: nothing to report
    failure = error instanceof AgentsError ? error : undefined;
    if (failure === undefined) {
      // Stopped by the scheduler (a timeout, a cancel): it has ended the operation already,
      // so the figures are kept where the report looks for them.
      finish(output, cost, costKnown, sessionId);
      output.reason = error instanceof Error ? error.message : String(error);
      shared.outcomes.set(input.agent, output);
      throw error;
    }
  }
  finish(output, cost, costKnown, sessionId);
  output.ok = failure === undefined;
  if (failure !== undefined) output.reason = failure.message;
  // Not awaited: the agent's slot is free once its process is gone. Awaited, the write (two
  // thread-pool calls, which wait there with the disk steps' walks) held the next agent back:
  // 71-665 ms for the slowest agent of a -j 8 fleet (load 8-12), 4-45 ms without. The run waits for
  // it before it ends (`shared.running`); a crash before it lands leaves the state the agent's
  // session event wrote, which the journal's record of this agent overrides on resume.
  const written = writeAgentState(input.path, { agent: input.agent, digest: input.digest, ...(sessionId === undefined ? {} : { sessionId }), finished: output.ok }).catch(() => undefined);
  shared.running.add(written);
  void written.then(() => shared.running.delete(written));
  shared.outcomes.set(input.agent, output);
  notify('finished', output.ok ? 'succeeded' : `failed: ${tailOf(output.reason ?? '', 300)}`);
  if (failure !== undefined) throw new AgentsError(failure.code, failure.message, { cause: failure.cause, classification: failure.classification, data: output });
  return output;
}

function finish(output: AgentOutput, cost: number, costKnown: boolean, sessionId: string | undefined): void {
  output.tokens = totalTokens(output.usage);
  if (costKnown) output.costUsd = cost;
  if (sessionId !== undefined) output.sessionId = sessionId;
}
