/** The parts of a fleet on their own: lines, prompts, pauses, budgets, the plan's shape. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CheckoutGate } from '../src/checkout-gate.js';
import { AgentsBudget, agentsLimits, conflictMatrix, looksLikePrompt, pathsMeet, planAgents, ProviderGates, requireGit, runAgentProcess, textParser, type GitContext } from '../src/index.js';
import { gitVersion } from '../src/git.js';
import { parseStatusV2 } from '../src/collect.js';
import { LineSplitter } from '../src/lines.js';
import { makeWorld } from './helpers.js';

describe('lines', () => {
  it('joins lines split across chunks, drops a trailing CR, and drops (and counts) a line past the cap', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(8, (line) => lines.push(line));
    for (const chunk of ['ab', 'c\r\nde', 'f\n0123456789', 'abc\nlast']) splitter.push(Buffer.from(chunk));
    expect(splitter.partial).toBe('last');
    splitter.end();
    expect(lines).toEqual(['abc', 'def', 'last']);
    expect(splitter.oversized).toBe(1);
  });

  it('keeps a character split between chunks whole', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter(100, (line) => lines.push(line));
    const bytes = Buffer.from('héllo\n');
    splitter.push(bytes.subarray(0, 2));
    splitter.push(bytes.subarray(2));
    expect(lines).toEqual(['héllo']);
  });
});

describe('questions', () => {
  it('reads questions put to a person, not JSON or statements', () => {
    for (const text of ['Apply these changes? [y/N] ', 'Continue (y/n)', 'Press Enter to continue', 'Overwrite file? ', '> ']) expect(looksLikePrompt(text)).toBe(true);
    for (const text of ['{"type":"result","q":"?"}', 'Applied edit to a.ts', '']) expect(looksLikePrompt(text)).toBe(false);
  });
});

describe('agent processes', () => {
  it('a program that is not there is FANOUT_AGENT_SPAWN, naming it', async () => {
    const run = runAgentProcess({
      launch: { file: 'no-such-agent-cli', args: [] },
      cwd: process.cwd(),
      env: { PATH: '/usr/bin:/bin' },
      parser: textParser('no-such-agent-cli'),
      signal: new AbortController().signal,
      killGraceMs: 100,
      maxLineBytes: 1024,
      onEvent: () => undefined,
      onWaiting: () => undefined,
    });
    await expect(run).rejects.toMatchObject({ code: 'FANOUT_AGENT_SPAWN', message: expect.stringContaining('"no-such-agent-cli" was not found') });
  });

  it('the prompt on standard input reaches the program whole', async () => {
    const lines: string[] = [];
    const result = await runAgentProcess({
      launch: { file: process.execPath, args: ['-e', 'process.stdin.pipe(process.stdout)'], stdin: `line one\n$(touch x) 'q' "qq"` },
      cwd: process.cwd(),
      env: {},
      parser: textParser('node'),
      signal: new AbortController().signal,
      killGraceMs: 100,
      maxLineBytes: 1024,
      onEvent: (event) => {
        if (event.type === 'text') lines.push(event.text);
      },
      onWaiting: () => undefined,
    });
    expect(result.verdict.ok).toBe(true);
    expect(lines).toEqual(['line one', `$(touch x) 'q' "qq"`]);
  });
});

describe('provider pauses', () => {
  it('holds a provider until its pause ends, extends it, leaves others alone', async () => {
    let now = 1_000;
    const gates = new ProviderGates({ now: () => now, random: () => 0 });
    const seen: string[] = [];
    gates.on((event) => seen.push(`${event.type} ${event.provider} ${event.until}`));
    gates.pause('anthropic', 1_050, 'rate limit');
    gates.pause('anthropic', 1_020, 'earlier: ignored');
    expect(gates.pausedUntil('anthropic')).toBe(1_050);
    expect(gates.pausedUntil('openai')).toBeUndefined();
    expect(await gates.wait('openai', new AbortController().signal)).toBe(0);
    const waiting = gates.wait('anthropic', new AbortController().signal);
    now = 1_060; // the clock passes the pause while the waiter sleeps
    expect(await waiting).toBe(60);
    expect(seen).toEqual(['paused anthropic 1050', 'resumed anthropic 1050']);
  });

  it('a waiter stops waiting when aborted', async () => {
    const gates = new ProviderGates();
    gates.pause('anthropic', Date.now() + 60_000, 'long');
    const controller = new AbortController();
    const waiting = gates.wait('anthropic', controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
  });

  it("adds each waiter's jitter after the reset, random × 10% of what was left, at most 30 s, never ending before the reset", async () => {
    // The gates' clock is the fake timers' Date, so that the injected clock and the sleep's
    // timer move together: the waiter's end is read off the fake clock, with no real waiting.
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const never = new AbortController().signal;
      /** When (fake epoch ms) a waiter drawing `random` stops waiting for a pause of `pauseMs`, and what it says it waited. */
      const endOf = async (random: number, pauseMs: number, expectedJitter: number) => {
        const gates = new ProviderGates({ now: () => Date.now(), random: () => random });
        const start = Date.now();
        const reset = start + pauseMs;
        gates.pause('anthropic', reset, 'rate limit');
        let waited: number | undefined;
        void gates.wait('anthropic', never).then((ms) => {
          waited = ms;
        });
        // One millisecond before the end the code computes it still waits, reset included.
        await vi.advanceTimersByTimeAsync(pauseMs + expectedJitter - 1);
        expect(waited, `random ${random}: still waiting 1 ms before reset + ${expectedJitter} ms`).toBeUndefined();
        await vi.advanceTimersByTimeAsync(1);
        expect(waited, `random ${random}: done at reset + ${expectedJitter} ms`).toBe(pauseMs + expectedJitter);
        expect(Date.now()).toBeGreaterThanOrEqual(reset);
        return Date.now() - reset;
      };
      // 10% of a 1 s pause: up to 100 ms, drawn at random.
      expect(await endOf(0, 1_000, 0)).toBe(0);
      expect(await endOf(0.5, 1_000, 50)).toBe(50);
      expect(await endOf(0.99, 1_000, 99)).toBe(99);
      // 10% of a 10-minute pause is 60 s: capped at 30 s.
      expect(await endOf(0.99, 600_000, 30_000)).toBe(30_000);
      expect(await endOf(0.25, 600_000, 15_000)).toBe(15_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits out a pause extended while it slept, with a fresh jitter on what was left', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const gates = new ProviderGates({ now: () => Date.now(), random: () => 0.5 });
      gates.pause('openai', 1_001_000, 'first');
      let waited: number | undefined;
      void gates.wait('openai', new AbortController().signal).then((ms) => {
        waited = ms;
      });
      // Extended to 2,050 ms from the start while the waiter sleeps its first 1,050 ms.
      await vi.advanceTimersByTimeAsync(500);
      gates.pause('openai', 1_002_050, 'second');
      await vi.advanceTimersByTimeAsync(550);
      expect(waited).toBeUndefined();
      // At 1,050 ms it finds 1,000 ms left and adds 0.5 × 10% of that: 50 ms more.
      await vi.advanceTimersByTimeAsync(1_049);
      expect(waited).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      expect(waited).toBe(2_100);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('checkouts before launches', () => {
  it('lets an agent wait until no checkout runs, within what its own checkout took', async () => {
    vi.useFakeTimers();
    try {
      let now = 0;
      const gate = new CheckoutGate(() => now);
      const never = new AbortController().signal;
      expect(gate.budgetMs('/w/a')).toBe(0);
      const endA = gate.begin('/w/a');
      const endB = gate.begin('/w/b');
      const endC = gate.begin('/w/c');
      now = 40;
      endA();
      endA(); // a second call counts once
      expect(gate.running).toBe(2);
      expect(gate.budgetMs('/w/a')).toBe(40);
      let released = false;
      const waiting = gate.idle(gate.budgetMs('/w/a'), never).then(() => {
        released = true;
      });
      now = 60;
      endB();
      await Promise.resolve();
      expect(released).toBe(false); // c still runs
      endC();
      await waiting;
      expect(released).toBe(true);
      expect(gate.running).toBe(0);
      // None running: no wait at all, whatever the budget.
      await gate.idle(1_000, never);

      // A checkout that outlasts the budget: the waiter goes when the budget is spent.
      const endD = gate.begin('/w/d');
      let late = false;
      const bounded = gate.idle(25, never).then(() => {
        late = true;
      });
      await vi.advanceTimersByTimeAsync(24);
      expect(late).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await bounded;
      expect(late).toBe(true);
      expect(gate.running).toBe(1);
      // An aborted attempt stops waiting at once.
      const controller = new AbortController();
      const aborted = gate.idle(60_000, controller.signal);
      controller.abort();
      await aborted;
      endD();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('budgets', () => {
  it('aborts once the tokens or dollars are spent', () => {
    const budget = new AgentsBudget({ tokens: 100, usd: 1 });
    budget.charge('a', 60, 0.5);
    expect(budget.signal.aborted).toBe(false);
    budget.charge('b', 50, 0);
    expect(budget.signal.aborted).toBe(true);
    expect(() => budget.check()).toThrow(expect.objectContaining({ code: 'FANOUT_AGENT_BUDGET', message: expect.stringContaining('110 tokens used of a 100-token budget (last charged by b)') }));
    expect(budget.spent).toEqual({ tokens: 110, usd: 0.5 });
    expect(() => new AgentsBudget({ usd: -1 })).toThrow(/positive number/);
  });
});

describe('worktree status', () => {
  it('reads the commit and branch from git status v2, and counts a rename once even when its original path reads like an entry', () => {
    const world = makeWorld();
    try {
      world.git(['mv', 'b.txt', '1 x']);
      world.git(['commit', '-q', '-m', 'a name that reads like an entry']);
      world.git(['mv', '1 x', 'renamed.txt']);
      writeFileSync(join(world.repo, 'a.txt'), 'changed\n');
      writeFileSync(join(world.repo, 'new.txt'), 'new\n');
      const head = world.git(['rev-parse', 'HEAD']).trim();
      const status = () => parseStatusV2(world.git(['status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all']));
      expect(status()).toEqual({ head, branch: 'main', changed: 3 });
      world.git(['stash', '-u', '-q']);
      world.git(['checkout', '-q', '--detach']);
      expect(status()).toEqual({ head, branch: undefined, changed: 0 });
    } finally {
      world.dispose();
    }
  });
});

describe('conflict candidates', () => {
  it('pairs meet on a common file, or a file where the other has a directory', () => {
    expect(pathsMeet(['src/a.ts'], ['src/a.ts'])).toBe(true);
    expect(pathsMeet(['lib'], ['lib/x.js'])).toBe(true);
    expect(pathsMeet(['lib/x.js'], ['lib'])).toBe(true);
    expect(pathsMeet(['src/a.ts', 'README.md'], ['src/b.ts', 'docs/README.md'])).toBe(false);
    expect(pathsMeet([], ['a'])).toBe(false);
  });
});

describe('limits and plans', () => {
  it('caps agents at 16 unless raised, and limits per provider', () => {
    expect(() => agentsLimits({ agents: 17 })).toThrow(/at most 16 agents at once, got 17/);
    expect(agentsLimits({ agents: 17, cap: 32, providers: { anthropic: 2 } }).agent).toMatchObject({ max: 17, limiter: 'fixed', keyLimits: { anthropic: 2 } });
    expect(agentsLimits().git).toMatchObject({ keyLimit: 1 });
    expect(agentsLimits({ agents: 1 }).disk).toMatchObject({ max: 1, limiter: 'fixed' });
    // The first wave's checkouts all at once, whatever the cores: it runs in full only once the last is done.
    expect(agentsLimits({ agents: 16 }).checkout).toMatchObject({ max: 16, limiter: 'fixed' });
    expect(agentsLimits({ agents: 16, checkout: 2 }).checkout).toMatchObject({ max: 2 });
  });

  it('lays out a chain per agent, worktrees outside the repository, references for every dependency', async () => {
    const world = makeWorld();
    try {
      const { plan, info } = await planAgents(
        { repo: world.repo, tasks: [{ id: 't', prompt: 'do' }], agents: [{ preset: 'claude', count: 2 }], setup: ['npm', 'ci'], verify: ['npm', 'test'], merge: true, run: 'r1' },
        { env: world.env },
      );
      expect(plan.policy).toEqual({ failure: 'continue' });
      expect(plan.operations.map((op) => op.id)).toEqual([
        'branches',
        'worktree:t.claude-1',
        'checkout:t.claude-1',
        'setup:t.claude-1',
        'agent:t.claude-1',
        'disk:t.claude-1',
        'collect:t.claude-1',
        'verify:t.claude-1',
        'worktree:t.claude-2',
        'checkout:t.claude-2',
        'setup:t.claude-2',
        'agent:t.claude-2',
        'disk:t.claude-2',
        'collect:t.claude-2',
        'verify:t.claude-2',
        'conflicts',
        'merge',
      ]);
      const waves = await planAgents({ repo: world.repo, tasks: [{ id: 'w', prompt: 'do' }], agents: [{ preset: 'claude', count: 3 }], run: 'r2', wave: 2 }, { env: world.env });
      const op = (id: string) => waves.plan.operations.find((o) => o.id === id)!;
      // Each agent starts once its own worktree is checked out, not the whole first wave's; the
      // later worktrees are made once the first wave is checked out.
      for (const id of ['w.claude-1', 'w.claude-2', 'w.claude-3']) {
        expect(op(`agent:${id}`).after).toBeUndefined();
        expect(op(`agent:${id}`).input).toMatchObject({ worktree: { $ref: `checkout:${id}`, path: 'path' } });
      }
      expect(op('worktree:w.claude-2').after).toBeUndefined();
      expect(op('worktree:w.claude-3').after).toEqual(['checkout:w.claude-1', 'checkout:w.claude-2']);
      expect(plan.operations[0]!.input).toMatchObject({ action: 'branches', run: 'r1', branches: ['fanout/r1/t.claude-1', 'fanout/r1/t.claude-2'] });
      expect(info.agents[0]).toMatchObject({ branch: 'fanout/r1/t.claude-1', provider: 'anthropic' });
      expect(info.agents[0]!.path.startsWith(`${world.home}/.local/share/fanout/worktrees/repo-`)).toBe(true);
      expect(info.base).toBe(world.git(['rev-parse', 'HEAD']).trim());
      await expect(planAgents({ repo: world.repo, tasks: [{ id: 't', prompt: 'x' }], agents: [{ preset: 'nope', count: 1 }] }, { env: world.env })).rejects.toThrow(/got "nope"/);
      await expect(planAgents({ repo: world.repo, tasks: [{ id: 't', prompt: 'x' }], agents: [{ preset: 'claude', count: 1 }], worktreesDir: `${world.repo}/wt` }, { env: world.env })).rejects.toThrow(
        /outside the repository/,
      );
      await expect(planAgents({ repo: world.root, tasks: [{ id: 't', prompt: 'x' }], agents: [{ preset: 'claude', count: 1 }] }, { env: world.env })).rejects.toMatchObject({
        code: 'FANOUT_AGENTS_NOT_A_REPOSITORY',
        // What git said, once: not "expected … but expected git … to succeed, but …".
        message: expect.stringMatching(/inside a git repository with a working tree, got: fatal: not a git repository/),
      });
    } finally {
      world.dispose();
    }
  });
});

describe('the git version check', () => {
  it('refuses git older than 2.38 for the conflict matrix with FANOUT_GIT_TOO_OLD, and takes 2.38.0, 3.0 and vendor suffixes', async () => {
    // A fake `git` first on PATH that prints the version it is told to: the real check, run
    // as a real program through the spawn server, against versions this machine does not have.
    const root = mkdtempSync(join(tmpdir(), 'fanout-fake-git-'));
    try {
      const bin = join(root, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'git'), '#!/bin/sh\nprintf "%s\\n" "$FAKE_GIT_VERSION"\n');
      chmodSync(join(bin, 'git'), 0o755);
      const context = (version: string): GitContext => ({ cwd: root, env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_GIT_VERSION: version } });

      expect(await gitVersion(context('git version 2.37.1'))).toEqual([2, 37]);
      const old = requireGit(2, 38, 'the conflict matrix (git merge-tree --write-tree)', context('git version 2.37.1'));
      await expect(old).rejects.toMatchObject({
        name: 'AgentsError',
        code: 'FANOUT_GIT_TOO_OLD',
        message: 'expected git 2.38 or later for the conflict matrix (git merge-tree --write-tree), got git 2.37',
      });
      // The matrix asks before its first merge, so an old git fails it with that error.
      const matrix = conflictMatrix(
        [
          { agent: 'a', branch: 'fanout/a' },
          { agent: 'b', branch: 'fanout/b' },
        ],
        context('git version 2.37.1'),
      );
      await expect(matrix).rejects.toMatchObject({ code: 'FANOUT_GIT_TOO_OLD', message: expect.stringContaining('for the conflict matrix (git merge-tree --write-tree), got git 2.37') });

      for (const [said, version] of [
        ['git version 2.38.0', [2, 38]],
        ['git version 2.39.3 (Apple Git-146)', [2, 39]],
        ['git version 3.0', [3, 0]],
        ['git version 10.1.0', [10, 1]],
      ] as const) {
        expect(await gitVersion(context(said)), said).toEqual(version);
        await expect(requireGit(2, 38, 'the conflict matrix', context(said)), said).resolves.toBeUndefined();
      }
      // A minor version above the required one does not pass an older major.
      await expect(requireGit(2, 38, 'x', context('git version 1.99.0'))).rejects.toMatchObject({ code: 'FANOUT_GIT_TOO_OLD', message: 'expected git 2.38 or later for x, got git 1.99' });
      // Something that is not a version at all says what it got.
      await expect(gitVersion(context('hub: not git'))).rejects.toMatchObject({ code: 'FANOUT_GIT_TOO_OLD', message: 'expected "git --version" to print a version, got "hub: not git"' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
