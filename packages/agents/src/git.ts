/**
 * Git, run as a program (argv, no shell) in its own process group, with output captured up to
 * a cap, stopped with the attempt. Every failure names the command, where it ran, and what git
 * said. Git never prompts (`GIT_TERMINAL_PROMPT=0`) and speaks C-locale English, so that its
 * messages can be matched.
 */
import { runToEnd } from './spawner.js';
import { AgentsError, type AgentsErrorCode } from './errors.js';

/** Where and how git runs. */
export interface GitContext {
  /** The directory git runs in (a repository or a worktree). */
  cwd: string;
  /** The environment (HOME for the user's configuration and identity, PATH to find git). */
  env: Readonly<Record<string, string>>;
  signal?: AbortSignal | undefined;
}

/** What a git command printed. */
export interface GitOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Most bytes of a git command's standard output kept (a numstat of a huge change, a long listing). */
const MAX_STDOUT = 64 * 1024 * 1024;
const NEVER = new AbortController().signal;

/** The environment git gets: the caller's, without prompts, in the C locale. */
function gitEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return { ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', LANGUAGE: 'C' };
}

/**
 * Runs `git args…` in `context.cwd`. Resolves when it exits with one of `okCodes` (0);
 * otherwise rejects with an {@link AgentsError} (`code`, by default `FANOUT_GIT_FAILED`)
 * quoting the command and git's stderr.
 */
export async function git(args: readonly string[], context: GitContext, options: { okCodes?: readonly number[]; code?: AgentsErrorCode; input?: string } = {}): Promise<GitOutput> {
  let outcome;
  try {
    outcome = await runToEnd(
      {
        file: 'git',
        args,
        cwd: context.cwd,
        env: gitEnv(context.env),
        stdin: options.input === undefined ? undefined : Buffer.from(options.input),
        maxStdoutBytes: MAX_STDOUT,
        maxStderrBytes: 64 * 1024,
        killGraceMs: 2000,
        cleanup: true,
      },
      context.signal ?? NEVER,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AgentsError(
      options.code ?? 'FANOUT_GIT_FAILED',
      `expected to run git ${args.join(' ')} in ${context.cwd}, but it could not start (${code === 'ENOENT' ? 'git is not installed, or the directory does not exist' : (error as Error).message})`,
      { cause: error },
    );
  }
  if (outcome.aborted) throw context.signal?.reason ?? new AgentsError('FANOUT_GIT_FAILED', `git ${args.join(' ')} was stopped`);
  const exitCode = outcome.exitCode ?? -1;
  const result = { stdout: outcome.stdout.text(), stderr: outcome.stderr.text(), exitCode };
  if (!(options.okCodes ?? [0]).includes(exitCode)) {
    const said = (result.stderr.trim() || result.stdout.trim()).slice(-800);
    throw new AgentsError(
      options.code ?? 'FANOUT_GIT_FAILED',
      `expected git ${args.join(' ')} (in ${context.cwd}) to succeed, but it ${outcome.signal === null ? `exited with ${exitCode}` : `was ended by ${outcome.signal}`}${said === '' ? '' : `: ${said}`}`,
      {
        data: result,
      },
    );
  }
  return result;
}

/** `git rev-parse …` trimmed. */
export async function revParse(args: readonly string[], context: GitContext): Promise<string> {
  return (await git(['rev-parse', ...args], context)).stdout.trim();
}

/** Git's version as [major, minor]. */
export async function gitVersion(context: GitContext): Promise<[number, number]> {
  const { stdout } = await git(['--version'], context, { code: 'FANOUT_GIT_TOO_OLD' });
  const match = /(\d+)\.(\d+)/.exec(stdout);
  if (match === null) throw new AgentsError('FANOUT_GIT_TOO_OLD', `expected "git --version" to print a version, got ${JSON.stringify(stdout.trim())}`);
  return [Number(match[1]), Number(match[2])];
}

/** Fails unless git is at least `major.minor` (`why` says what needs it). */
export async function requireGit(major: number, minor: number, why: string, context: GitContext): Promise<void> {
  const [have, haveMinor] = await gitVersion(context);
  if (have > major || (have === major && haveMinor >= minor)) return;
  throw new AgentsError('FANOUT_GIT_TOO_OLD', `expected git ${major}.${minor} or later for ${why}, got git ${have}.${haveMinor}`);
}

/** Splits NUL-separated output, dropping the empty tail. */
export function nulFields(text: string): string[] {
  const fields = text.split('\0');
  if (fields.at(-1) === '') fields.pop();
  return fields;
}
