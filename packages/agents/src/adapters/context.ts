/**
 * What the agents adapters share within one scheduler: the environment processes get, the
 * presets, the provider pauses, the budget, the notifier and the watch settings. Built once by
 * `createAgentsAdapters` with every default filled in.
 */
import { z } from 'zod';
import { AgentsBudget, type BudgetLimits } from '../budget.js';
import { CheckoutGate } from '../checkout-gate.js';
import type { Notifier } from '../notify.js';
import type { AgentPreset } from '../preset.js';
import type { AgentOutput } from './agent-adapter.js';
import { BUILTIN_PRESETS } from '../presets/index.js';
import { ProviderGates } from '../provider-gates.js';

/** Options of `createAgentsAdapters`. */
export interface AgentsAdaptersOptions {
  /**
   * The environment of every process (git, agents, setup, verify, the notify hook). Agents need
   * theirs — HOME, API keys — so the default is this process's whole environment.
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Presets beyond (or replacing) the built-in ones, by name. */
  presets?: Readonly<Record<string, AgentPreset>>;
  /** The run's budget, or its limits. @default no limit */
  budget?: AgentsBudget | BudgetLimits;
  /** Shared rate-limit pauses. @default new ones */
  gates?: ProviderGates;
  /** Told when an agent waits for input, is refused a permission, is rate-limited or ends. */
  notifier?: Notifier | undefined;
  /**
   * Stop an agent that prints nothing for this long; 0 never does.
   * @default 600_000 (10 minutes)
   */
  idleMs?: number | undefined;
  /**
   * Flag an agent as waiting for input after this long without output following a question;
   * 0 never does.
   * @default 30_000
   */
  waitingMs?: number | undefined;
  /**
   * Rate-limit pauses an agent may go through before it fails with `FANOUT_AGENT_RATE_LIMITED`.
   * @default 5
   */
  maxRateLimitPauses?: number;
  /**
   * How long a provider pauses when a rate limit does not say when it resets; doubled at each
   * pause of the same agent.
   * @default 60_000
   */
  defaultPauseMs?: number;
  /** Between SIGTERM and SIGKILL to a process group. @default 5_000 */
  killGraceMs?: number;
  /** Longest line of an agent's output parsed. @default 16 MiB */
  maxLineBytes?: number;
  /** Measure each worktree's disk use when its agent ends (the `disk` step) and after setup. @default true */
  diskUsage?: boolean;
}

/** {@link AgentsAdaptersOptions} with defaults filled in. */
export interface AgentsShared {
  env: Record<string, string>;
  presets: Readonly<Record<string, AgentPreset>>;
  budget: AgentsBudget;
  gates: ProviderGates;
  notifier: Notifier | undefined;
  idleMs: number | undefined;
  waitingMs: number | undefined;
  maxRateLimitPauses: number;
  defaultPauseMs: number;
  killGraceMs: number;
  maxLineBytes: number;
  diskUsage: boolean;
  /**
   * Every agent's figures as its attempt ended, by agent id — also those the scheduler no
   * longer waited for (a timeout or a cancel ends the operation at once, before the process
   * group is gone and the figures are in).
   */
  outcomes: Map<string, AgentOutput>;
  /** Attempts still running (their processes being stopped, their figures being written). */
  running: Set<Promise<unknown>>;
  /** The checkouts running, which an agent about to launch lets finish first (see checkout-gate.ts). */
  checkouts: CheckoutGate;
}

/** Drops undefined values (what `child_process` would pass as the string "undefined"). */
export function stringEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/** Fills in the defaults. */
export function resolveShared(options: AgentsAdaptersOptions): AgentsShared {
  return {
    env: stringEnv(options.env ?? process.env),
    presets: { ...BUILTIN_PRESETS, ...options.presets },
    budget: options.budget instanceof AgentsBudget ? options.budget : new AgentsBudget(options.budget),
    gates: options.gates ?? new ProviderGates(),
    notifier: options.notifier,
    // 0 turns a watch off.
    idleMs: options.idleMs === 0 ? undefined : (options.idleMs ?? 600_000),
    waitingMs: options.waitingMs === 0 ? undefined : (options.waitingMs ?? 30_000),
    maxRateLimitPauses: options.maxRateLimitPauses ?? 5,
    defaultPauseMs: options.defaultPauseMs ?? 60_000,
    killGraceMs: options.killGraceMs ?? 5_000,
    maxLineBytes: options.maxLineBytes ?? 16 * 1024 * 1024,
    diskUsage: options.diskUsage ?? true,
    outcomes: new Map(),
    running: new Set(),
    checkouts: new CheckoutGate(),
  };
}

/**
 * The fields the inputs of an agent's steps share (collect, disk, setup, verify; checkout and
 * agent take `agent`, `path` and, for the agent, `worktree`), spread into each schema.
 */
export const agentStepFields = {
  /** The agent's id (`<task>.<preset>`). */
  agent: z.string().min(1),
  /** Its worktree. */
  path: z.string().min(1),
  /** Makes a re-run after a resumed agent a different operation (see the plan builder). */
  epoch: z.string().optional(),
  /** A reference that orders the step after the worktree's checkout (its output is not used). */
  worktree: z.unknown().optional(),
  /** A reference to the agent's output: null when it did not succeed (an optional reference). */
  agentResult: z.unknown().optional(),
};
