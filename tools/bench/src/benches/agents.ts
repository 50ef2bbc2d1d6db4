/**
 * `agents-fleet`: a fleet of fake coding agents (the test fixture of @fanout/agents: a real
 * Node process speaking Claude's stream-json, living a set time) deployed by the whole
 * `fanout agents` command on a real repository, each in its own worktree; beside it the same
 * processes under `xargs -P` in one directory (the floor: no worktrees, no accounting), and
 * the ideal for the limit, ⌈agents / limit⌉ × lifetime. Also per agent: the worktree's set-up
 * (its `git worktree add` step), the collect step, and the clean-up (`fanout agents clean`,
 * whole process, divided by the worktrees it removed). Where the distance to the ideal goes,
 * from the run's event stream (`--ndjson`): when the first agent started, when the first
 * wave was running in full (the limit-th agent started) and when as many checkouts were
 * done (the wave cannot start before its checkouts), how much longer an
 * agent's step took than the agent lived (starting and reaping its process, its disk use),
 * and how long the run went on after its last agent (collect steps, the conflict matrix).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check, find, median } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';
import { FANOUT, onPath, requireFanout, timed } from '../whole-process.js';

/** The fake agent CLI, from the agents package's test fixtures (the workspace has it; it is not published). */
const FAKE_AGENT = fileURLToPath(new URL('../../../../packages/agents/test/fixtures/fake-agent.mjs', import.meta.url));

interface Fleet {
  agents: number;
  limit: number;
  lifetimeMs: number;
  /** Files in the repository (what each worktree checks out). */
  files: number;
}

/**
 * The fleets: 16 agents at -j 8 and -j 16 on a small repository (the scheduling against the
 * ideal: a checkout costs next to nothing), and at -j 8 on a 1,000-file one (2.4 MB: what
 * setting up and cleaning up worktrees of a real tree costs, which the ideal does not count).
 */
function fleets(quick: boolean): Fleet[] {
  if (quick) return [{ agents: 4, limit: 2, lifetimeMs: 500, files: 20 }];
  return [
    { agents: 16, limit: 8, lifetimeMs: 2000, files: 20 },
    { agents: 16, limit: 16, lifetimeMs: 2000, files: 20 },
    { agents: 16, limit: 8, lifetimeMs: 2000, files: 1000 },
  ];
}

function idealMs(fleet: Fleet): number {
  return Math.ceil(fleet.agents / fleet.limit) * fleet.lifetimeMs;
}

/** A repository of `files` files (about 2 KB each, in 20 directories), one commit on main, and the fake agent on PATH as `claude`. */
function world(fleet: Fleet): { root: string; repo: string; env: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'fanout-bench-agents-'));
  const repo = join(root, 'repo');
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  chmodSync(FAKE_AGENT, 0o755);
  symlinkSync(FAKE_AGENT, join(bin, 'claude'));
  const line = 'export const value = "a line of a generated source file, for a checkout of realistic size";\n';
  for (let i = 0; i < fleet.files; i++) {
    const dir = join(repo, `dir${i % 20}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file${i}.ts`), line.repeat(24));
  }
  const env = { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: join(root, 'home'), GIT_CONFIG_NOSYSTEM: '1' };
  const git = (args: string[]): void => {
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: 'ignore' });
  };
  git(['init', '-q', '-b', 'main']);
  git(['add', '.']);
  git(['commit', '-q', '-m', 'init']);
  return { root, repo, env };
}

/** The events of `--ndjson` the bench reads. */
type FleetEvent =
  | { type: 'op-started'; id: string; kind: string; time: number }
  | { type: 'op-progress'; id: string; kind: string; time: number; data?: { event?: { type?: string; launch?: number } } }
  | { type: 'op-finished'; id: string; kind: string; time: number; state: string; durationMs: number }
  | { type: 'run-finished'; time: number; summary: { wallMs: number } }
  | { type: 'other'; time: number };

/** What a fleet's event stream says: its steps' durations by kind and agent, and its phases. */
function readFleet(stdout: string, agents: number, limit: number): Record<string, number> {
  const events = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as FleetEvent);
  const finished = events.filter((e): e is Extract<FleetEvent, { type: 'op-finished' }> => e.type === 'op-finished');
  const ofKind = (kind: string, prefix = kind) => finished.filter((e) => e.kind === kind && e.id.startsWith(`${prefix}:`));
  const succeeded = ofKind('agent').filter((e) => e.state === 'succeeded').length;
  if (succeeded !== agents) throw new Error(`expected ${agents} agents to succeed, got ${succeeded}: ${stdout.slice(-400)}`);
  const run = events.find((e): e is Extract<FleetEvent, { type: 'run-finished' }> => e.type === 'run-finished');
  if (run === undefined) throw new Error('expected a run-finished event in fanout agents --ndjson, got none');
  const byAgent = (prefix: string): Map<string, number> => new Map(finished.filter((e) => e.id.startsWith(`${prefix}:`)).map((e) => [e.id.slice(prefix.length + 1), e.durationMs]));
  const worktrees = byAgent('worktree');
  const checkouts = byAgent('checkout');
  const agentSteps = ofKind('agent');
  // When each agent's process was launched (its first launch): an agent's operation starts
  // once its checkout is done, then may wait for the other checkouts (see CheckoutGate in
  // @fanout/agents) before it launches.
  const starts = events
    .filter((e): e is Extract<FleetEvent, { type: 'op-progress' }> => e.type === 'op-progress' && e.kind === 'agent' && e.data?.event?.type === 'launch' && e.data.event.launch === 1)
    .map((e) => e.time)
    .sort((a, b) => a - b);
  if (starts.length !== agents) throw new Error(`expected a first launch event of each of ${agents} agents in fanout agents --ndjson, got ${starts.length}`);
  const firstAgent = starts[0]!;
  // When the first wave's checkouts were all done: an agent starts once its own checkout is,
  // and the checkouts go a core each, so where this is close to the wave's start, the wave
  // waited for its checkouts (and they for the cores the agents already started were using).
  const checkedOut = finished
    .filter((e) => e.kind === 'checkout')
    .map((e) => e.time)
    .sort((a, b) => a - b);
  const lastAgentEnd = Math.max(...agentSteps.map((e) => e.time));
  return {
    run_ms: run.summary.wallMs,
    // Set-up: the worktree (git, one at a time) and its checkout (side by side, a core each).
    setup_ms_per_agent: median([...worktrees].map(([agent, ms]) => ms + (checkouts.get(agent) ?? 0))),
    collect_ms_per_agent: median(ofKind('git', 'collect').map((e) => e.durationMs)),
    first_agent_ms: firstAgent,
    // The first wave is launched in full: every later agent starts when one of it ends, so the
    // run cannot end before this plus two lifetimes (-j 8) or one (-j 16).
    wave_started_ms: starts[Math.min(limit, agents) - 1]!,
    wave_checked_out_ms: checkedOut[Math.min(limit, agents) - 1]!,
    agent_step_ms: median(agentSteps.map((e) => e.durationMs)),
    after_last_agent_ms: run.time - lastAgentEnd,
  };
}

export const agentsFleet: Bench = {
  name: 'agents-fleet',
  description:
    '16 fake agents of 2 s each (real processes) at -j 8 and -j 16 on a 20-file repository, and at -j 8 on a 1,000-file one: fanout agents (a worktree each) vs xargs -P (one directory) vs the ideal; set-up and clean-up per agent (quick: 4 of 0.5 s at -j 2)',
  subjects(quick: boolean): Subject[] {
    return fleets(quick).flatMap((fleet) => {
      const params = { agents: fleet.agents, limit: fleet.limit, lifetimeMs: fleet.lifetimeMs, files: fleet.files };
      return [
        { name: 'fanout', params },
        // The floor and the ideal do not depend on the repository: once per limit.
        ...(fleet.files > 20 ? [] : [{ name: 'xargs', params, ...(onPath('xargs') === undefined ? { skip: 'xargs is not installed (apt-get install -y findutils)' } : {}) }]),
        { name: 'ideal', params },
      ];
    });
  },
  // One measured run per worker process: a fleet takes seconds, and the runner already runs
  // each subject several times (interleaved) and takes the median.
  async run(subject: Subject): Promise<Measurement> {
    const fleet = subject.params as unknown as Fleet;
    if (subject.name === 'ideal') return { wall_ms: idealMs(fleet) };
    if (subject.name === 'fanout') requireFanout();
    const { root, repo, env } = world(fleet);
    try {
      const prompts = Array.from({ length: fleet.agents }, (_, i) => `agent ${i + 1} @lifetime ${fleet.lifetimeMs}`);
      if (subject.name === 'xargs') {
        // -d '\n': one prompt a line, whole; the same program, arguments and lifetime, in one directory.
        const out = await timed('xargs', ['-P', String(fleet.limit), '-n', '1', '-d', '\n', 'claude', '-p', '--output-format', 'stream-json', '--verbose', '--'], {
          input: `${prompts.join('\n')}\n`,
          cwd: repo,
          env,
        });
        const results = out.stdout.split('\n').filter((l) => l.includes('"type":"result"')).length;
        if (results !== fleet.agents) throw new Error(`expected ${fleet.agents} results from xargs' agents, got ${results}`);
        return { wall_ms: out.wallMs };
      }
      const out = await timed(process.execPath, [FANOUT, 'agents', '--agent', 'claude', '-j', String(fleet.limit), '--ndjson', ':::', ...prompts], { cwd: repo, env });
      const figures = readFleet(out.stdout, fleet.agents, fleet.limit);
      const cleaned = await timed(process.execPath, [FANOUT, 'agents', 'clean'], { cwd: repo, env });
      if (!cleaned.stdout.includes(`removed ${fleet.agents}, kept 0`)) throw new Error(`expected clean to remove ${fleet.agents} worktrees, got ${JSON.stringify(cleaned.stdout.slice(-300))}`);
      return {
        wall_ms: out.wallMs,
        ...figures,
        clean_ms: cleaned.wallMs,
        clean_ms_per_agent: cleaned.wallMs / fleet.agents,
      };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  goals(rows: Row[]): string[] {
    const lines: string[] = [];
    const limits = [...new Set(rows.filter((r) => r.bench === 'agents-fleet').map((r) => JSON.stringify(r.params)))];
    for (const key of limits) {
      const params = JSON.parse(key) as Record<string, unknown>;
      const ideal = find(rows, 'agents-fleet', 'ideal', 'wall_ms', params);
      const run = find(rows, 'agents-fleet', 'fanout', 'run_ms', params);
      const wall = find(rows, 'agents-fleet', 'fanout', 'wall_ms', params);
      if (ideal === undefined || run === undefined || wall === undefined) continue;
      const over = run.value / ideal.value - 1;
      const xargs = find(rows, 'agents-fleet', 'xargs', 'wall_ms', params);
      const setup = find(rows, 'agents-fleet', 'fanout', 'setup_ms_per_agent', params);
      const clean = find(rows, 'agents-fleet', 'fanout', 'clean_ms_per_agent', params);
      lines.push(
        `goal: ${String(params.agents)} agents at -j ${String(params.limit)}, the run within 10% of the ideal ${ideal.value.toFixed(0)} ms: ${run.value.toFixed(0)} ms, +${(over * 100).toFixed(
          1,
        )}% — ${check(over <= 0.1)}` +
          ` (whole process ${wall.value.toFixed(0)} ms, ${(wall.value / ideal.value).toFixed(2)}× ideal${
            xargs === undefined ? '' : `; xargs -P ${xargs.value.toFixed(0)} ms, ${(xargs.value / ideal.value).toFixed(2)}×`
          })`,
      );
      if (setup !== undefined && clean !== undefined) lines.push(`(per agent: worktree set-up ${setup.value.toFixed(0)} ms, clean-up ${clean.value.toFixed(0)} ms of fanout agents clean, whole process)`);
      const first = find(rows, 'agents-fleet', 'fanout', 'first_agent_ms', params);
      const wave = find(rows, 'agents-fleet', 'fanout', 'wave_started_ms', params);
      const checked = find(rows, 'agents-fleet', 'fanout', 'wave_checked_out_ms', params);
      const step = find(rows, 'agents-fleet', 'fanout', 'agent_step_ms', params);
      const after = find(rows, 'agents-fleet', 'fanout', 'after_last_agent_ms', params);
      if (first !== undefined && step !== undefined && after !== undefined) {
        lines.push(
          `(where it goes: the first agent launched ${first.value.toFixed(0)} ms into the run${
            wave === undefined ? '' : `, the first ${String(Math.min(Number(params.limit), Number(params.agents)))} all launched at ${wave.value.toFixed(0)} ms`
          }${checked === undefined ? '' : ` (the first ${String(Math.min(Number(params.limit), Number(params.agents)))} checkouts done at ${checked.value.toFixed(0)} ms)`}; an agent's step took ${step.value.toFixed(0)} ms for a life of ${String(params.lifetimeMs)} ms; the run ended ${after.value.toFixed(0)} ms after its last agent)`,
        );
      }
    }
    return lines;
  },
};
