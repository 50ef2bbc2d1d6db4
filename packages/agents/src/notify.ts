/**
 * The `--notify` hook: a command run when an agent needs a person — it waits for input, it was
 * refused a permission, it was rate-limited, it ended. It gets what happened in `FANOUT_*`
 * variables (never spliced into its arguments), runs without a shell, in its own process
 * group, and is stopped after a timeout; its failure is reported, never the agent's.
 */
import { runProcess } from '@fanout/adapters/shell';

/** What a notification is about. */
export interface AgentNotice {
  /** `waiting` (for input), `permission-denied`, `rate-limited`, `finished`. */
  event: 'waiting' | 'permission-denied' | 'rate-limited' | 'finished';
  agent: string;
  /** The state an ended agent reached, or what it asked. */
  detail: string;
  worktree: string;
  branch: string;
}

/** Runs notification commands. */
export interface Notifier {
  notify(notice: AgentNotice): Promise<void>;
}

/** Options of {@link commandNotifier}. */
export interface CommandNotifierOptions {
  /** The program and its arguments. */
  command: readonly string[];
  env: Readonly<Record<string, string>>;
  /** @default 30_000 */
  timeoutMs?: number;
  /** Told when the hook itself fails. */
  onError?: (message: string) => void;
}

/**
 * A notifier running `command` with `FANOUT_EVENT`, `FANOUT_AGENT`, `FANOUT_DETAIL`,
 * `FANOUT_WORKTREE` and `FANOUT_BRANCH` set.
 *
 * @example
 * commandNotifier({ command: ['notify-send', 'fanout'], env: process.env as Record<string, string> })
 */
export function commandNotifier(options: CommandNotifierOptions): Notifier {
  const [file, ...args] = options.command;
  return {
    async notify(notice) {
      if (file === undefined) return;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 30_000);
      try {
        const outcome = await runProcess(
          {
            file,
            args,
            cwd: notice.worktree,
            env: { ...options.env, FANOUT_EVENT: notice.event, FANOUT_AGENT: notice.agent, FANOUT_DETAIL: notice.detail, FANOUT_WORKTREE: notice.worktree, FANOUT_BRANCH: notice.branch },
            stdin: undefined,
            maxStdoutBytes: 64 * 1024,
            maxStderrBytes: 64 * 1024,
            killGraceMs: 1000,
            cleanup: true,
          },
          controller.signal,
        );
        if (outcome.exitCode !== 0) options.onError?.(`the --notify command ${file} ${outcome.aborted ? 'timed out' : `exited with ${outcome.exitCode ?? outcome.signal}`}: ${outcome.stderr.tail().trim().slice(-300)}`);
      } catch (error) {
        options.onError?.(`the --notify command ${file} could not start: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
