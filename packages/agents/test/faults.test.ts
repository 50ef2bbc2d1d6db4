/**
 * Agents that misbehave: rate limits, silence, hangs, questions, floods, lies about success,
 * crashes, budgets, refused permissions, missing programs. Timeouts here are tiny and must
 * fire; nothing asserts how long anything took.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerEvent } from '@fanout/scheduler';
import { eventually } from '@fanout/adapters/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandNotifier, ProviderGates, runAgents, type AgentProgress, type AgentsReport, type GateEvent, type RunAgentsOptions } from '../src/index.js';
import { alive, argvOf, launches, makeWorld, reported, type World } from './helpers.js';

let world: World;
beforeEach(() => {
  world = makeWorld();
});
afterEach(() => world.dispose());

function agent(report: AgentsReport, id: string) {
  const found = report.agents.find((a) => a.id === id);
  if (found === undefined) throw new Error(`no agent ${id}`);
  return found;
}

/** Runs claude agents on `tasks` (id → prompt), collecting the run's events. */
async function fleet(tasks: Record<string, string>, options: Partial<RunAgentsOptions> = {}, preset = 'claude') {
  const events: SchedulerEvent[] = [];
  const gates: GateEvent[] = [];
  const outcome = await runAgents(
    { repo: world.repo, tasks: Object.entries(tasks).map(([id, prompt]) => ({ id, prompt })), agents: [{ preset, count: 1 }] },
    {
      env: world.env,
      killGraceMs: 200,
      ...options,
      onRun: (run, _plan, adapters) => {
        run.on((event) => events.push(event));
        adapters.gates.on((event) => gates.push(event));
      },
    },
  );
  const progress = (id: string): AgentProgress['event'][] =>
    events.filter((e): e is Extract<SchedulerEvent, { type: 'op-progress' }> => e.type === 'op-progress' && (e.data as AgentProgress).agent === id).map((e) => (e.data as AgentProgress).event);
  return { ...outcome, events, gates, progress };
}

function notifications(file: string): Record<string, string>[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, string>)
    : [];
}

const NOTIFY = ['node', '-e', "require('fs').appendFileSync(process.env.NOTIFY_FILE, JSON.stringify({ event: process.env.FANOUT_EVENT, agent: process.env.FANOUT_AGENT, detail: process.env.FANOUT_DETAIL }) + '\\n')"];

describe('agents that misbehave', () => {
  it('a rate limit pauses the provider until its reset, then the agent finishes, without a failure', async () => {
    // `slow` ends only once `limited` has been refused, so `later` starts during the pause. The
    // pause must outlast `slow`'s collect and `later`'s checkout (git processes): 2.5 s did not,
    // once, in a CI rehearsal with three suites running on 2 cores, and `later` never waited.
    const { report, result, gates, progress } = await fleet({ limited: '@ratelimit 8000 @edit a.txt:1=ONE @work 50', slow: '@after-file limited.claude.rejected @work 100', later: '@work 50' }, { agents: 2 });
    expect(result.summary.byState).toMatchObject({ succeeded: result.summary.total, failed: 0 });
    const limited = agent(report, 'limited.claude');
    expect(limited).toMatchObject({ state: 'succeeded', launches: 2, pauses: 1, flags: ['rate-limited'] });
    expect(limited.pausedMs).toBeGreaterThan(0);
    expect(result.get('agent:limited.claude')!.attempts).toBe(1); // a pause is not a retry
    expect(launches(world, 'limited.claude')).toBe(2);
    expect(limited.diff).toMatchObject({ commits: 1 });
    // The whole provider paused: the agent that started during the pause waited for it.
    expect(gates.find((g) => g.type === 'paused')).toMatchObject({ provider: 'anthropic' });
    expect(progress('limited.claude').map((e) => e.type)).toContain('paused');
    const waited = progress('later.claude').find((e) => e.type === 'resumed');
    expect(waited).toMatchObject({ type: 'resumed', waitedMs: expect.any(Number) });
    expect(launches(world, 'later.claude')).toBe(1);
    // The relaunch's figures and the refused launch's add up.
    expect(limited.usage.input).toBe(reported(world, 'limited.claude').usage.input_tokens);
  });

  it('a Codex rate limit (turn.failed: 429, try again in 5 seconds) pauses openai, and the agent finishes on its relaunch, resuming its thread', async () => {
    // Codex says its reset only in words, in whole seconds. 5 s, not the shortest (1 s): the
    // refused process must have exited, and the adapter reached its relaunch, before the pause
    // ends, or there is no pause left to wait (on 2 loaded cores a Node start alone has taken
    // over a second). No jitter (random 0); nothing asserts how long it took.
    const { report, result, gates, progress } = await fleet({ limited: '@ratelimit 5000 @edit a.txt:1=ONE @work 50' }, { gates: new ProviderGates({ random: () => 0 }) }, 'codex');
    const limited = agent(report, 'limited.codex');
    expect(limited).toMatchObject({ state: 'succeeded', provider: 'openai', launches: 2, pauses: 1, flags: ['rate-limited'] });
    expect(result.summary.byState).toMatchObject({ succeeded: result.summary.total, failed: 0 });
    expect(result.get('agent:limited.codex')!.attempts).toBe(1); // a pause is not a retry
    expect(result.get('agent:limited.codex')!.error).toBeUndefined();
    expect(launches(world, 'limited.codex')).toBe(2);
    expect(limited.pausedMs).toBeGreaterThan(0);
    expect(limited.diff).toMatchObject({ commits: 1 });
    // The provider paused until the reset read from Codex's words, then resumed.
    const paused = gates.find((g) => g.type === 'paused');
    expect(paused).toMatchObject({ provider: 'openai', reason: expect.stringMatching(/^429 Too Many Requests: rate limit reached, try again in 5 seconds/) });
    expect(gates.map((g) => g.type)).toEqual(['paused', 'resumed']);
    // The refused launch, the pause, and the relaunch, which resumes the thread Codex started.
    const types = progress('limited.codex').map((e) => e.type);
    expect(types.slice(0, types.indexOf('launch', 1) + 1)).toEqual(['launch', 'session', 'error', 'rate-limit', 'paused', 'resumed', 'launch']);
    expect(progress('limited.codex').find((e) => e.type === 'paused')).toEqual({ type: 'paused', until: paused!.until, reason: paused!.reason });
    expect(progress('limited.codex').filter((e) => e.type === 'launch')).toEqual([
      { type: 'launch', launch: 1 },
      { type: 'launch', launch: 2, resumeSession: 'sess-limited.codex' },
    ]);
    expect(argvOf(world, 'limited.codex').resumed).toBe('sess-limited.codex');
    // The refused launch reported nothing: the figures are the relaunch's.
    const said = reported(world, 'limited.codex').usage;
    expect(limited.usage).toEqual({ input: said.input_tokens! - said.cached_input_tokens!, output: said.output_tokens, cacheRead: said.cached_input_tokens, cacheWrite: 0 });
  });

  it("an agent's durationMs is its processes' time: at least its work, its rate-limit pause counted apart in pausedMs", async () => {
    // The gates read the same monotonic clock as the scheduler and the process timer
    // (performance.now), so that the three figures compare without Date.now's rounding.
    const gates = new ProviderGates({ now: () => performance.timeOrigin + performance.now(), random: () => 0 });
    const { report, result } = await fleet({ limited: '@ratelimit 5000 @work 300', steady: '@work 200' }, { agents: 1, gates });
    const limited = agent(report, 'limited.claude');
    expect(limited).toMatchObject({ state: 'succeeded', launches: 2, pauses: 1 });
    // Lower bounds only: the relaunch worked 300 ms in its own clock, inside its process's life.
    expect(limited.durationMs).toBeGreaterThanOrEqual(300);
    expect(limited.pausedMs).toBeGreaterThan(0);
    // Both fit in the agent's one attempt, side by side: had the pause been counted in
    // durationMs too, the two would add up to the pause twice over. (1 ms: the scheduler keeps
    // durations in a Float32 column.)
    const attemptMs = result.get('agent:limited.claude')!.durationMs;
    expect(limited.durationMs + limited.pausedMs).toBeLessThanOrEqual(attemptMs + 1);
    // One at a time: `steady` never launched into the pause, and waited for none.
    const steady = agent(report, 'steady.claude');
    expect(steady).toMatchObject({ state: 'succeeded', launches: 1, pauses: 0, pausedMs: 0 });
    expect(steady.durationMs).toBeGreaterThanOrEqual(200);
    expect(steady.durationMs).toBeLessThanOrEqual(result.get('agent:steady.claude')!.durationMs + 1);
  });

  it('the idle timeout stops the whole process group, grandchildren that ignore SIGTERM included', async () => {
    // Long enough for a Node start-up on a loaded machine (over a second has been seen): the
    // agent must have made its edit before it goes quiet.
    const { report, result } = await fleet({ quiet: '@edit a.txt:2=TWO @grandchild @idle' }, { idleMs: 3000 });
    const quiet = agent(report, 'quiet.claude');
    expect(quiet.state).toBe('failed');
    expect(quiet.flags).toContain('idle-stopped');
    expect((result.get('agent:quiet.claude')!.error as { code: string }).code).toBe('FANOUT_AGENT_IDLE');
    const grandchild = Number(readFileSync(join(world.state, 'quiet.claude.grandchild'), 'utf8'));
    expect(await eventually(() => !alive(grandchild), 10_000)).toBe(true);
    // What it did before going quiet is committed on its branch.
    expect(quiet.steps.collect).toBe('succeeded');
    expect(quiet.diff).toMatchObject({ commits: 1, leftovers: 1 });
  });

  it('a wall-clock timeout ends it timed-out and stops its whole process group; its tokens still count', async () => {
    const { report, result } = await fleet({ endless: '@grandchild @hang' }, { agentTimeoutMs: 3000 });
    const endless = agent(report, 'endless.claude');
    expect(endless.state).toBe('timed-out');
    expect(result.get('agent:endless.claude')!.state).toBe('timed-out');
    expect(endless.tokens).toBeGreaterThan(0);
    expect(report.totals.tokens).toBe(endless.tokens);
    expect(endless.steps.collect).toBe('succeeded');
    // The grandchild ignores SIGTERM: only the group's SIGKILL after the grace ends it.
    const grandchild = Number(readFileSync(join(world.state, 'endless.claude.grandchild'), 'utf8'));
    expect(await eventually(() => !alive(grandchild), 10_000)).toBe(true);
  });

  it('an agent waiting for input is flagged and the notify hook runs', async () => {
    const file = join(world.root, 'notified.ndjson');
    const env = { ...world.env, NOTIFY_FILE: file };
    const { report } = await fleet({ asks: '@wait-input', denied: '@deny @work 20' }, { env, waitingMs: 200, idleMs: 4000, notifier: commandNotifier({ command: NOTIFY, env }) });
    const asks = agent(report, 'asks.claude');
    expect(asks.flags).toEqual(expect.arrayContaining(['waiting-for-input', 'idle-stopped']));
    const denied = agent(report, 'denied.claude');
    expect(denied.state).toBe('succeeded');
    expect(denied.flags).toContain('permission-denied');
    expect(denied.permissionDenials).toContain('Bash');
    expect(await eventually(() => notifications(file).length >= 4)).toBe(true);
    const said = notifications(file);
    expect(said).toContainEqual({ event: 'waiting', agent: 'asks.claude', detail: 'Apply these changes? [y/N]' });
    expect(said).toContainEqual({ event: 'permission-denied', agent: 'denied.claude', detail: 'Bash' });
    expect(
      said
        .filter((n) => n.event === 'finished')
        .map((n) => n.agent)
        .sort(),
    ).toEqual(['asks.claude', 'denied.claude']);
  });

  it('banners and floods are read past; an oversized line is dropped and counted', async () => {
    const { report, result } = await fleet({ loud: '@banner @flood 3000000 @edit a.txt:3=THREE' }, { maxLineBytes: 1024 * 1024 });
    const loud = agent(report, 'loud.claude');
    expect(loud.state).toBe('succeeded');
    expect(result.get('agent:loud.claude')!.output).toMatchObject({ oversizedLines: 1, stdoutBytes: expect.any(Number) });
    expect((result.get('agent:loud.claude')!.output as { stdoutBytes: number }).stdoutBytes).toBeGreaterThan(6_000_000);
    expect(loud.usage.input).toBe(reported(world, 'loud.claude').usage.input_tokens);
    expect(loud.diff).toMatchObject({ commits: 1 });
    expect(loud.message).toMatch(/^Done: /);
  });

  it('an error result with exit code 0 is a failure, in both dialects', async () => {
    for (const preset of ['claude', 'codex']) {
      const { report, result } = await fleet({ [`liar-${preset}`]: '@error-result' }, {}, preset);
      const liar = agent(report, `liar-${preset}.${preset}`);
      expect(liar.state).toBe('failed');
      expect((result.get(`agent:liar-${preset}.${preset}`)!.error as { code: string }).code).toBe('FANOUT_AGENT_FAILED');
      expect(liar.error).toMatch(preset === 'claude' ? /is_error true \(it exited with 0\)/ : /got a failure \(it exited with 0\)/);
    }
  });

  it('a crash fails the agent, and what it left is committed on its branch', async () => {
    const { report } = await fleet({ crashes: '@edit a.txt:4=FOUR @crash', fine: '@edit a.txt:5=FIVE' });
    const crashes = agent(report, 'crashes.claude');
    expect(crashes.state).toBe('failed');
    expect(crashes.error).toMatch(/without one/);
    expect(crashes.diff).toMatchObject({ commits: 1, leftovers: 1, files: [{ path: 'a.txt', added: 1, deleted: 1 }] });
    expect(world.git(['show', `${crashes.branch}:a.txt`])).toContain('FOUR');
    expect(agent(report, 'fine.claude').state).toBe('succeeded');
  });

  it('a spent budget stops the running agent and starts no other', async () => {
    const { report, result } = await fleet({ first: '@work 2000', second: '@work 50' }, { agents: 1, budget: { tokens: 2000 } });
    const first = agent(report, 'first.claude');
    expect(first.state).toBe('failed');
    expect(first.flags).toContain('budget-stopped');
    expect((result.get('agent:first.claude')!.error as { code: string }).code).toBe('FANOUT_AGENT_BUDGET');
    expect((result.get('agent:second.claude')!.error as { code: string }).code).toBe('FANOUT_AGENT_BUDGET');
    expect(launches(world, 'second.claude')).toBe(0);
  });

  it('a spent dollar budget stops the running agent and starts no other', async () => {
    // Claude reports dollars only in its result: `spender`'s result (50 cents of a 40-cent
    // budget) comes once `runner` has started, so the budget trips with `runner` running, and
    // `later` waits for a slot (-j 2) that only frees after the budget is spent.
    const { report, result } = await fleet({ spender: '@after-file runner.claude.argv.json @cost 0.5', runner: '@hang', later: '@work 50' }, { agents: 2, budget: { usd: 0.4 } });
    const budgetError = (id: string) => result.get(`agent:${id}`)!.error as { code: string; message: string };
    // Its own result spent the budget while its process was still being read: it is stopped
    // with the rest, and its cost is counted.
    const spender = agent(report, 'spender.claude');
    expect(spender).toMatchObject({ state: 'failed', costUsd: 0.5, launches: 1 });
    expect(spender.flags).toContain('budget-stopped');
    expect(budgetError('spender.claude').code).toBe('FANOUT_AGENT_BUDGET');
    expect(budgetError('spender.claude').message).toMatch(/\$0\.5000 spent of a \$0\.4 budget \(last charged by spender\.claude\)/);
    const runner = agent(report, 'runner.claude');
    expect(runner).toMatchObject({ state: 'failed', launches: 1 });
    expect(runner.flags).toContain('budget-stopped');
    expect(budgetError('runner.claude').code).toBe('FANOUT_AGENT_BUDGET');
    expect(budgetError('later.claude').code).toBe('FANOUT_AGENT_BUDGET');
    expect(launches(world, 'later.claude')).toBe(0);
    expect(report.totals).toMatchObject({ succeeded: 0, failed: 3, costed: 1, costUsd: 0.5 });
  });

  it('a missing program says so', async () => {
    const { report, result } = await fleet({ nobody: 'hello' }, {}, 'gemini');
    expect(report.agents[0]!.state).toBe('failed');
    const error = result.get('agent:nobody.gemini')!.error as { code: string; message: string };
    expect(error.code).toBe('FANOUT_AGENT_SPAWN');
    expect(error.message).toMatch(/"gemini" was not found/);
  });
});
