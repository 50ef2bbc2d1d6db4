/**
 * What an agent preset is: how to launch one CLI headless on a prompt in a directory, and how
 * to read what it prints — its event stream normalised into {@link AgentEvent}s while it runs,
 * and its {@link AgentVerdict} when it ends. Presets never build a shell command line: the
 * prompt is one argv element, or standard input.
 */
import type { TokenUsage } from './usage.js';

/** What a preset is told to launch. */
export interface LaunchContext {
  /** The task, as given. */
  prompt: string;
  /** The agent's worktree (its working directory). */
  dir: string;
  /** A session to continue (a resumed run), when the preset can resume. */
  resumeSession?: string;
  /** Extra arguments for the CLI, placed before the prompt (`--model …`, `--permission-mode …`). */
  extraArgs: readonly string[];
  /** The agent's id, branch and task id, for templates. */
  agent: string;
  branch: string;
  task: string;
}

/** A program and its arguments (never a shell line), and what goes to its standard input. */
export interface AgentLaunch {
  file: string;
  args: string[];
  /** Written to standard input, which is then closed; without it standard input is `/dev/null`. */
  stdin?: string;
}

/** One thing an agent's stream said, whatever its dialect. */
export type AgentEvent =
  /** The session is known (Claude's `session_id`, Codex's `thread_id`, opencode's `sessionID`). */
  | { type: 'session'; sessionId: string; model?: string }
  /** Text the agent wrote for the user. */
  | { type: 'message'; text: string }
  /** A tool call, a command it ran, a file it changed. */
  | { type: 'tool'; name: string; detail?: string }
  /** Tokens (and cost, when the CLI reports it) used so far by this process, in all. */
  | { type: 'usage'; usage: TokenUsage; costUsd?: number }
  /** A rate-limit notice; `rejected` means the provider refuses until `resetsAt` (epoch ms). */
  | { type: 'rate-limit'; status: 'allowed' | 'warning' | 'rejected'; resetsAt?: number; detail?: string }
  /** A tool call the agent was not permitted to make (it cannot finish what needs it). */
  | { type: 'permission-denied'; tool: string; detail?: string }
  /** An error the agent reported (it may go on, or end failed). */
  | { type: 'error'; message: string }
  /** A line that is not part of the dialect (a banner, a warning printed to stdout). */
  | { type: 'text'; text: string };

/** How an agent's run ended, judged from its stream and exit status. */
export interface AgentVerdict {
  ok: boolean;
  /** Why it did not succeed. */
  reason?: string;
  /** The agent's final message (Claude's `result`, the last agent message otherwise). */
  message?: string;
  sessionId?: string;
  usage: TokenUsage;
  /** Dollars, when the CLI reports them (Claude, opencode); undefined otherwise. */
  costUsd?: number;
  turns?: number;
  /** Time the CLI says it spent waiting on its API. */
  apiDurationMs?: number;
  /** Tools that were refused. */
  permissionDenials: string[];
  /** It ended because the provider refused for a rate limit (retry after `resetsAt`, epoch ms, when known). */
  rateLimited?: { resetsAt?: number; detail?: string };
}

/** How a process ended, as a parser is told. */
export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
}

/** Reads one process's standard output, line by line. One parser per process. */
export interface StreamParser {
  /** A complete line of standard output (without its newline); returns what it means. */
  line(text: string): AgentEvent[];
  /** The process has ended: the verdict, from everything seen. */
  finish(exit: ProcessExit): AgentVerdict;
}

/**
 * A coding agent CLI: how to launch it headless and how to read it.
 *
 * @example
 * const echo: AgentPreset = {
 *   name: 'echo', provider: 'local', resumes: false,
 *   launch: ({ prompt }) => ({ file: 'echo', args: [prompt] }),
 *   parser: () => textParser(),
 * };
 */
export interface AgentPreset {
  /** What `--agent` names. */
  readonly name: string;
  /** Whose API it calls: per-provider limits and rate-limit pauses apply per provider. */
  readonly provider: string;
  /** Whether {@link LaunchContext.resumeSession} continues a session. */
  readonly resumes: boolean;
  launch(context: LaunchContext): AgentLaunch;
  parser(): StreamParser;
}

/** Parses a line as a JSON object; undefined when it is not one (a banner, a torn line). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(trimmed) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An object field, or undefined. */
export function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'object' && field !== null && !Array.isArray(field) ? (field as Record<string, unknown>) : undefined;
}

/** A string field, or undefined. */
export function stringAt(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** How a process ended, in words ("exit code 1", "signal SIGKILL"). */
export function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `it was ended by ${exit.signal}` : `it exited with ${exit.exitCode ?? 'no code'}`;
}

/** The last `max` characters of a text, marked when cut. */
export function tailOf(text: string, max = 2000): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}
