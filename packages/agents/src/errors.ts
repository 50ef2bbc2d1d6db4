/**
 * The errors of `@fanout/agents`: one base class with a literal union of stable codes, each
 * saying how the scheduler is to treat it (the pattern of `@fanout/adapters`' `AdapterError`).
 */
import { FanoutError, type Classification, type FanoutErrorOptions } from '@fanout/scheduler';

/** Stable error codes of `@fanout/agents`. Match on `code`, never on the message. */
export type AgentsErrorCode =
  /** A task list, an agent spec, a template or an option is not what was expected. */
  | 'FANOUT_AGENTS_INPUT_INVALID'
  /** An option of a factory (`agentsLimits`, …) is out of range; `path` names it. */
  | 'FANOUT_OPTION_INVALID'
  /** The directory is not inside a git repository, or the base does not name a commit. */
  | 'FANOUT_AGENTS_NOT_A_REPOSITORY'
  /** Git is missing or older than what a feature needs (`git merge-tree --write-tree`: 2.38). */
  | 'FANOUT_GIT_TOO_OLD'
  /** A git command failed; the message quotes the command and its stderr. */
  | 'FANOUT_GIT_FAILED'
  /** A worktree could not be made (its path is taken by something else, the branch is checked out elsewhere). */
  | 'FANOUT_WORKTREE_FAILED'
  /** The setup command exited non-zero (the agent does not start). */
  | 'FANOUT_SETUP_FAILED'
  /** The verify command exited non-zero. */
  | 'FANOUT_VERIFY_FAILED'
  /** The agent's program could not be started (not installed, not executable). */
  | 'FANOUT_AGENT_SPAWN'
  /** The agent ran and did not succeed: a failed result event, an error, a crash, a missing result. */
  | 'FANOUT_AGENT_FAILED'
  /** The agent printed nothing for longer than the idle timeout; its process group was stopped. */
  | 'FANOUT_AGENT_IDLE'
  /** The provider kept refusing for rate limits after the allowed number of pauses. */
  | 'FANOUT_AGENT_RATE_LIMITED'
  /** The run's token or dollar budget is spent: the agent was stopped, or never started. */
  | 'FANOUT_AGENT_BUDGET'
  /** The agent's worktree is gone (removed by hand or by `clean` between a run and its resume). */
  | 'FANOUT_WORKTREE_MISSING'
  /** Merging a branch into the integration branch conflicted; the merge stopped there. */
  | 'FANOUT_MERGE_CONFLICT';

export interface AgentsErrorOptions extends FanoutErrorOptions {
  /** How the scheduler should treat the error. @default "fatal" */
  classification?: Classification;
  /** What the failed step did so far (an agent's result, a command's output), for events, journals and reports. */
  data?: unknown;
}

/**
 * Base class of every error of `@fanout/agents`: a stable `code`, the `path` of the field or
 * file concerned, the `cause`, how to treat it, and the step's result so far as `data`
 * (an agent that failed still has a session id, tokens and a cost).
 */
export class AgentsError extends FanoutError<AgentsErrorCode> {
  override name = 'AgentsError';
  readonly classification: Classification;
  readonly data: unknown;

  constructor(code: AgentsErrorCode, message: string, options: AgentsErrorOptions = {}) {
    super(code, message, options);
    this.classification = options.classification ?? { class: 'fatal' };
    this.data = options.data;
  }
}

/** The `classify` of this package's adapters: its own errors say how; an abort is fatal; anything else too. */
export function classifyAgentsError(error: unknown): Classification {
  if (error instanceof AgentsError) return error.classification;
  return { class: 'fatal' };
}
