/**
 * Budgets across a run, in tokens and dollars. Agents charge what they use as their streams
 * report it (tokens as they go; dollars when the CLI says them, which for Claude is at the
 * end); once a budget is spent, every running agent is stopped (its process group killed) and
 * none starts again. What was spent is what the agents reported: a CLI that reports no cost
 * (Codex, Gemini) spends no dollars here, only tokens.
 */
import { AgentsError } from './errors.js';

/** Limits of a run. */
export interface BudgetLimits {
  /** Most tokens (every part: input, output, cache reads and writes) over all agents. */
  tokens?: number | undefined;
  /** Most dollars over all agents. */
  usd?: number | undefined;
}

/** What the agents of a run spent. */
export interface BudgetSpent {
  tokens: number;
  usd: number;
}

/** The run's budget: charged by every agent, aborting them all once spent. */
export class AgentsBudget {
  readonly limits: BudgetLimits;
  readonly #controller = new AbortController();
  #tokens = 0;
  #usd = 0;

  constructor(limits: BudgetLimits = {}) {
    for (const [name, value] of Object.entries(limits)) {
      if (value !== undefined && !(typeof value === 'number' && value > 0)) {
        throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected the ${name} budget to be a positive number, got ${JSON.stringify(value)}`, { path: `budget.${name}` });
      }
    }
    this.limits = limits;
  }

  /** Aborted (with a `FANOUT_AGENT_BUDGET` error) once a budget is spent. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get spent(): BudgetSpent {
    return { tokens: this.#tokens, usd: this.#usd };
  }

  /** Adds what an agent used since its last charge. */
  charge(agent: string, tokens: number, usd: number): void {
    this.#tokens += tokens;
    this.#usd += usd;
    if (this.#controller.signal.aborted) return;
    const { tokens: maxTokens, usd: maxUsd } = this.limits;
    let why: string | undefined;
    if (maxTokens !== undefined && this.#tokens >= maxTokens) why = `${this.#tokens} tokens used of a ${maxTokens}-token budget`;
    else if (maxUsd !== undefined && this.#usd >= maxUsd) why = `$${this.#usd.toFixed(4)} spent of a $${maxUsd} budget`;
    if (why !== undefined) {
      this.#controller.abort(new AgentsError('FANOUT_AGENT_BUDGET', `expected the run to stay within its budget, but ${why} (last charged by ${agent}): agents are stopped and none starts`));
    }
  }

  /** Throws the budget's error when it is spent (an agent about to start). */
  check(): void {
    if (this.#controller.signal.aborted) throw this.#controller.signal.reason;
  }
}
