/**
 * The adapters of a fleet, sharing one set of pauses, one budget and one notifier, and the
 * pool limits that go with them.
 */
import { availableParallelism } from 'node:os';
import { OptionCheck, type Adapter, type PoolOptions } from '@fanout/scheduler';
import type { AgentsBudget } from '../budget.js';
import { AgentsError } from '../errors.js';
import type { ProviderGates } from '../provider-gates.js';
import { agentAdapter } from './agent-adapter.js';
import { checkoutAdapter } from './checkout-adapter.js';
import { diskAdapter } from './disk-adapter.js';
import { resolveShared, type AgentsAdaptersOptions, type AgentsShared } from './context.js';
import { gitAdapter } from './git-adapter.js';
import { setupAdapter, verifyAdapter } from './step-adapters.js';

const check = new OptionCheck(AgentsError);

/** What {@link createAgentsAdapters} returns. */
export interface AgentsAdapters {
  /** `git`, `checkout`, `setup`, `agent`, `disk` and `verify`. */
  adapters: Adapter[];
  /** The run's rate-limit pauses (listen to them with `gates.on`). */
  gates: ProviderGates;
  /** The run's budget (what was spent: `budget.spent`). */
  budget: AgentsBudget;
  /** Every option with its default. */
  shared: AgentsShared;
}

/**
 * The adapters an agents plan needs.
 *
 * @example
 * const { adapters } = createAgentsAdapters({ budget: { usd: 5 }, idleMs: 120_000 });
 * const scheduler = createScheduler({ adapters });
 */
export function createAgentsAdapters(options: AgentsAdaptersOptions = {}): AgentsAdapters {
  const shared = resolveShared(options);
  return {
    adapters: [gitAdapter(shared), checkoutAdapter(shared), setupAdapter(shared), agentAdapter(shared), diskAdapter(shared), verifyAdapter(shared)],
    gates: shared.gates,
    budget: shared.budget,
    shared,
  };
}

/** Options of {@link agentsLimits}. */
export interface AgentsLimitsOptions {
  /**
   * Agents at once.
   * @default 8
   */
  agents?: number;
  /**
   * The most `agents` may be without being raised on purpose: 30 agents at once have frozen
   * machines, and 10 running tests took ~10 GB.
   * @default 16
   */
  cap?: number;
  /** Agents at once per provider (`{ anthropic: 4 }`). */
  providers?: Readonly<Record<string, number>>;
  /**
   * Checkouts at once. The fleet's first wave (as many agents as run at once, see `wave` of
   * planAgents) is running only once the last of its checkouts is done: all of them at once.
   * One per core at a time, each checkout (file-system work in the kernel) waited for the
   * cores behind the agents already starting up — with autogroup scheduling each agent's
   * session gets a share — and the next began only when one ended: the sixteenth agent of a
   * -j 16 fleet started after 700-1,150 ms on 2 loaded cores, 485-870 ms with its sixteen
   * checkouts at once (medians, load 6-16). The first agent starts later, its checkout
   * sharing the cores with the rest of its wave's.
   * @default agents
   */
  checkout?: number;
  /** Setup commands at once. @default agents */
  setup?: number;
  /** Verify commands at once. @default agents */
  verify?: number;
  /** Each agent's wall-clock limit (its whole turn, rate-limit pauses included). */
  agentTimeoutMs?: number | undefined;
  /** Each setup and verify command's limit. */
  stepTimeoutMs?: number | undefined;
}

/**
 * Pool limits for a fleet: fixed limits (an adaptive limiter learns from latency, and an
 * agent's latency says nothing about load), per-provider sub-limits, git one at a time per
 * repository (the adapter's key limit).
 *
 * @example
 * scheduler.run(plan, { limits: agentsLimits({ agents: 4, providers: { anthropic: 2 } }) })
 */
export function agentsLimits(options: AgentsLimitsOptions = {}): Record<string, PoolOptions> {
  const agents = options.agents ?? 8;
  const cap = options.cap ?? 16;
  check.integer(agents, 'agents');
  check.integer(cap, 'cap');
  check.integer(options.setup, 'setup');
  check.integer(options.checkout, 'checkout');
  check.integer(options.verify, 'verify');
  if (agents > cap) {
    throw new AgentsError(
      'FANOUT_AGENTS_INPUT_INVALID',
      `expected at most ${cap} agents at once, got ${agents}: many agents at once have frozen machines (each runs a Node process, language servers, test runners); raise the cap on purpose to go beyond it`,
      { path: 'agents' },
    );
  }
  for (const [provider, limit] of Object.entries(options.providers ?? {})) check.integer(limit, `providers.${provider}`);
  const step = (max: number, timeoutMs: number | undefined): PoolOptions => ({ max, optimal: max, limiter: 'fixed', ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  return {
    agent: { ...step(agents, options.agentTimeoutMs), ...(options.providers === undefined ? {} : { keyLimits: { ...options.providers } }) },
    checkout: step(options.checkout ?? agents, undefined),
    // Walking a worktree is file-system work in the kernel, after its agent: a core each.
    disk: step(Math.min(agents, availableParallelism()), undefined),
    setup: step(options.setup ?? agents, options.stepTimeoutMs),
    verify: step(options.verify ?? agents, options.stepTimeoutMs),
    git: { max: 16, optimal: 16, limiter: 'fixed', keyLimit: 1 },
  };
}

/**
 * The resource classes of the agents' kinds, for `@fanout/monitor`'s `classes` option: under
 * CPU pressure setup and verify commands (installs, builds, test runners) wait, under disk
 * pressure checkouts do; agents mostly wait on their APIs and go on (memory pressure, which
 * stops every kind, stops them too).
 */
export const AGENTS_KIND_CLASSES: Readonly<Record<string, readonly ('cpu' | 'disk' | 'network' | 'memory')[]>> = {
  checkout: ['disk'],
  setup: ['cpu', 'disk'],
  verify: ['cpu'],
  agent: [],
  disk: ['disk'],
  git: ['disk'],
};

export { agentAdapter, agentInputSchema, type AgentFlag, type AgentInput, type AgentOutput, type AgentProgress } from './agent-adapter.js';
export { gitAdapter, gitInputSchema, lockReason, type GitInput } from './git-adapter.js';
export { checkoutAdapter, checkoutInputSchema, type CheckoutInput } from './checkout-adapter.js';
export { diskAdapter, diskInputSchema, type DiskInput, type DiskOutput } from './disk-adapter.js';
export { setupAdapter, verifyAdapter, stepInputSchema, type StepInput, type StepOutput } from './step-adapters.js';
export type { AgentsAdaptersOptions, AgentsShared } from './context.js';
