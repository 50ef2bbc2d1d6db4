/**
 * What the agents tests share: a temporary world (an isolated HOME, a repository made with
 * `git init -b main`, the fake agent on PATH as `claude` and `codex`, its state directory),
 * and readers of what the fake agents recorded.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fake agent CLI (a real Node script). */
export const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-agent.mjs', import.meta.url));

/** A temporary world for one test. */
export interface World {
  root: string;
  home: string;
  repo: string;
  bin: string;
  state: string;
  /** The environment every process of the run gets: HOME isolated, the fake agents first on PATH. */
  env: Record<string, string>;
  /** Runs git in the repository (or `cwd`) with the world's environment; returns stdout. */
  git(args: string[], cwd?: string): string;
  /** Removes it all. */
  dispose(): void;
}

/** Makes a world: a repository with `a.txt` (five lines) and `b.txt`, one commit on main. */
export function makeWorld(): World {
  const root = mkdtempSync(join(tmpdir(), 'fanout-agents-'));
  const home = join(root, 'home');
  const repo = join(root, 'repo');
  const bin = join(root, 'bin');
  const state = join(root, 'state');
  for (const dir of [home, repo, bin, state]) mkdirSync(dir, { recursive: true });
  chmodSync(FAKE_AGENT, 0o755);
  symlinkSync(FAKE_AGENT, join(bin, 'claude'));
  symlinkSync(FAKE_AGENT, join(bin, 'codex'));
  const env: Record<string, string> = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    FAKE_AGENT_STATE: state,
    GIT_CONFIG_NOSYSTEM: '1',
    LANG: 'C',
  };
  const git = (args: string[], cwd = repo): string =>
    execFileSync('git', args, {
      cwd,
      env: { ...env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' },
      encoding: 'utf8',
    });
  git(['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\nfour\nfive\n');
  writeFileSync(join(repo, 'b.txt'), 'bee\n');
  git(['add', '.']);
  git(['commit', '-q', '-m', 'init']);
  return { root, home, repo, bin, state, env, git, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

/** What a fake agent said it reported (its result event's figures). */
export function reported(world: World, agent: string): { usage: Record<string, number>; cost?: number; turns: number } {
  return JSON.parse(readFileSync(join(world.state, `${agent}.reported.json`), 'utf8')) as { usage: Record<string, number>; cost?: number; turns: number };
}

/** How many times an agent was launched. */
export function launches(world: World, agent: string): number {
  const file = join(world.state, `${agent}.launches`);
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
}

/** The argv and stdin a fake agent was started with. */
export function argvOf(world: World, agent: string): { program: string; argv: string[]; stdin: string; cwd: string; resumed?: string } {
  return JSON.parse(readFileSync(join(world.state, `${agent}.argv.json`), 'utf8')) as { program: string; argv: string[]; stdin: string; cwd: string; resumed?: string };
}

/**
 * The most fake agents alive at once (of those whose id `matches`), from their start and end
 * lines, which they append in order.
 */
export function peakAgents(world: World, matches: (agent: string) => boolean = () => true): { peak: number; starts: number } {
  const log = existsSync(join(world.state, 'log')) ? readFileSync(join(world.state, 'log'), 'utf8') : '';
  let alive = 0;
  let peak = 0;
  let starts = 0;
  for (const line of log.split('\n')) {
    if (!matches(line.split(' ')[1] ?? '')) continue;
    if (line.startsWith('+ ')) {
      alive++;
      starts++;
      peak = Math.max(peak, alive);
    } else if (line.startsWith('- ')) alive--;
  }
  return { peak, starts };
}

/** Whether a process is alive (a zombie, dead but not yet reaped by its new parent, is not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
