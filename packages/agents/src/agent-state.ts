/**
 * A small record of an agent kept beside its worktree, in the worktree's own git directory
 * (`.git/worktrees/<name>/fanout-agent.json`: never in the working tree, so never committed):
 * its session id as soon as the CLI says it, and whether it finished. A run stopped midway
 * (Ctrl-C, a crash, `kill -9`) leaves it behind, so `--resume` continues that session rather
 * than starting the task over.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

/** What is kept about an agent between runs. */
export interface AgentState {
  agent: string;
  /** The plan's digest of the agent's task and launch: a session continues only the same task. */
  digest: string;
  sessionId?: string;
  finished: boolean;
}

/**
 * The worktree's private git directory, from its `.git` file (`gitdir: …`); undefined when it
 * is not a linked worktree. Read synchronously: a few bytes of a local file, on the way to an
 * agent's launch, where each hop through the event loop of a busy machine cost milliseconds.
 */
export function worktreeGitDir(worktree: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(worktree, '.git'), 'utf8');
  } catch {
    return undefined;
  }
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (match === null) return undefined;
  return isAbsolute(match[1]!) ? match[1]! : resolve(worktree, match[1]!);
}

const FILE = 'fanout-agent.json';

/** The recorded state of the agent of `worktree`, if any (read synchronously, see {@link worktreeGitDir}). */
export function readAgentState(worktree: string): AgentState | undefined {
  const dir = worktreeGitDir(worktree);
  if (dir === undefined) return undefined;
  try {
    const state = JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as AgentState;
    return typeof state === 'object' && state !== null && typeof state.digest === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Records the state (written whole: a temporary file, then a rename). */
export async function writeAgentState(worktree: string, state: AgentState): Promise<void> {
  const dir = worktreeGitDir(worktree);
  if (dir === undefined) return;
  const path = join(dir, FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state)}\n`);
  await rename(temp, path);
}
