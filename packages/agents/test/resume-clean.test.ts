/**
 * A fleet stopped and started again from its journal, and the cleanup after fleets: what is
 * finished is not run again, what is not finishes, and nothing with work in it is removed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJournal } from '@fanout/scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanAgents, runAgents, type AgentsReport } from '../src/index.js';
import { argvOf, launches, makeWorld, type World } from './helpers.js';

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

describe('resume', () => {
  it('skips finished agents, continues the session of the one that did not finish, and collects it again', async () => {
    const journal = join(world.root, 'run.ndjson');
    const spec = {
      repo: world.repo,
      tasks: [
        { id: 'done', prompt: '@edit a.txt:1=ONE' },
        { id: 'flaky', prompt: '@edit b.txt:1=BEE @crash-once' },
      ],
      agents: [{ preset: 'claude', count: 1 }],
      verify: ['git', 'diff', '--quiet', 'HEAD'],
    };
    const first = await runAgents(spec, { env: world.env, journal, killGraceMs: 200 });
    expect(agent(first.report, 'done.claude').state).toBe('succeeded');
    expect(agent(first.report, 'flaky.claude').state).toBe('failed');
    expect(agent(first.report, 'flaky.claude').diff).toMatchObject({ commits: 1, leftovers: 1 });
    expect(agent(first.report, 'flaky.claude').steps.verify).toBe('skipped');

    // The journal has each agent's worktree and session id, the failed one's in its error.
    const records = await readJournal(journal);
    expect(records.get('worktree:flaky.claude')!.output).toMatchObject({ path: agent(first.report, 'flaky.claude').worktree, branch: `fanout/${first.report.run}/flaky.claude` });
    expect(records.get('agent:done.claude')!.output).toMatchObject({ sessionId: 'sess-done.claude' });
    expect(records.get('agent:flaky.claude')!.error).toMatchObject({ code: 'FANOUT_AGENT_FAILED', data: { sessionId: 'sess-flaky.claude' } });

    const second = await runAgents(spec, { env: world.env, journal, resume: true, killGraceMs: 200 });
    expect(second.report.run).toBe(first.report.run);
    expect(second.report.base).toBe(first.report.base);
    const done = agent(second.report, 'done.claude');
    expect(done).toMatchObject({ state: 'succeeded', resumed: true, sessionId: 'sess-done.claude' });
    expect(launches(world, 'done.claude')).toBe(1);
    expect(second.result.get('collect:done.claude')!.resumed).toBe(true);
    expect(second.result.get('verify:done.claude')!.resumed).toBe(true);

    const flaky = agent(second.report, 'flaky.claude');
    expect(flaky).toMatchObject({ state: 'succeeded', resumed: false });
    expect(launches(world, 'flaky.claude')).toBe(2);
    expect(argvOf(world, 'flaky.claude').resumed).toBe('sess-flaky.claude'); // the session continued
    expect(second.result.get('collect:flaky.claude')!.resumed).toBeUndefined(); // collected again after it
    expect(second.result.get('verify:flaky.claude')!.state).toBe('succeeded');
    expect(second.result.get('conflicts')!.resumed).toBeUndefined();
    expect(second.report.totals).toMatchObject({ succeeded: 2, failed: 0 });

    // A third resume finds everything finished and runs nothing.
    const third = await runAgents(spec, { env: world.env, journal, resume: true, killGraceMs: 200 });
    expect(third.result.summary.resumed).toBe(third.result.summary.total);
    expect(launches(world, 'flaky.claude')).toBe(2);
  });
});

describe('clean', () => {
  it('removes only worktrees without commits or changes that no live fanout holds, prunes, and reconciles with the journal', async () => {
    const journal = join(world.root, 'run.ndjson');
    const { report } = await runAgents(
      {
        repo: world.repo,
        tasks: [
          { id: 'keep', prompt: '@edit a.txt:1=KEPT' },
          { id: 'empty', prompt: '@work 10' },
          { id: 'dirty', prompt: '@work 10' },
          { id: 'gone', prompt: '@work 10' },
          { id: 'busy', prompt: '@work 10' },
        ],
        agents: [{ preset: 'codex', count: 1 }],
      },
      { env: world.env, journal, killGraceMs: 200 },
    );
    expect(report.totals.succeeded).toBe(5);
    const path = (id: string): string => agent(report, `${id}.codex`).worktree;
    const branch = (id: string): string => agent(report, `${id}.codex`).branch;
    writeFileSync(join(path('dirty'), 'notes.txt'), 'written after the run\n');
    rmSync(path('gone'), { recursive: true, force: true });
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      world.git(['worktree', 'unlock', path('busy')]);
      world.git(['worktree', 'lock', '--reason', `fanout agents run ${report.run}, busy.codex from ${report.base} (pid ${holder.pid})`, path('busy')]);
      // As if the run's record of its base were lost: the bases are known from the locks alone.
      world.git(['update-ref', '-d', `refs/fanout/${report.run}/base`]);

      const dry = await cleanAgents({ repo: world.repo, env: world.env, dryRun: true });
      expect(
        dry.entries
          .filter((e) => e.action !== 'kept')
          .map((e) => e.branch)
          .sort(),
      ).toEqual([branch('empty'), branch('gone')].sort());
      expect(existsSync(path('empty'))).toBe(true);
      expect(world.git(['branch', '--list', branch('empty')])).not.toBe('');

      const cleaned = await cleanAgents({ repo: world.repo, env: world.env });
      const entry = (id: string) => cleaned.entries.find((e) => e.branch === branch(id));
      expect(entry('keep')).toMatchObject({ action: 'kept', why: '1 commit beyond its base', commits: 1 });
      expect(entry('dirty')).toMatchObject({ action: 'kept', why: '1 uncommitted change in it' });
      expect(entry('busy')).toMatchObject({ action: 'kept', why: `in use by fanout (pid ${holder.pid})` });
      expect(entry('empty')).toMatchObject({ action: 'removed' });
      expect(entry('gone')).toMatchObject({ action: 'pruned' });
      expect(existsSync(path('empty'))).toBe(false);
      expect(existsSync(path('keep'))).toBe(true);
      expect(world.git(['branch', '--list', branch('empty'), branch('gone')])).toBe('');
      expect(world.git(['branch', '--list', branch('keep')])).not.toBe('');
      const listed = world.git(['worktree', 'list', '--porcelain']);
      expect(listed).not.toContain(path('gone'));
      expect(listed).not.toContain(path('empty'));
      // Nothing of the removed worktree is left in the repository for a prune to find.
      expect(world.git(['worktree', 'prune', '--dry-run', '--verbose'])).toBe('');
      expect(readdirSync(join(world.repo, '.git', 'worktrees')).sort()).toEqual(['busy.codex', 'dirty.codex', 'keep.codex']);
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));

    // Its holder gone, the busy worktree goes too; the journal's worktrees git no longer lists are named.
    const again = await cleanAgents({ repo: world.repo, env: world.env, journal: await readJournal(journal) });
    expect(again.entries.find((e) => e.branch === branch('busy'))).toMatchObject({ action: 'removed' });
    expect(again.journalOnly.sort()).toEqual([path('empty'), path('gone')].sort());
    expect(again.unknownToJournal).toEqual([]);
    expect(
      again.entries
        .filter((e) => e.action === 'kept')
        .map((e) => e.branch)
        .sort(),
    ).toEqual([branch('dirty'), branch('keep')].sort());
  });

  it('keeps a worktree that a fleet takes after clean decided to remove it, by reading its lock again right before', async () => {
    const base = world.git(['rev-parse', 'HEAD']).trim();
    const path = (name: string): string => join(world.root, 'worktrees', name);
    // Locked by this process: held by nobody, as far as clean is concerned.
    const lock = (name: string, pid: number): string => `fanout agents run r, ${name}.claude from ${base} (pid ${pid})`;
    for (const name of ['taken', 'free']) world.git(['worktree', 'add', '-q', '--lock', '--reason', lock(name, process.pid), '-b', `fanout/r/${name}.claude`, path(name), base]);
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      // A fleet resuming takes "taken" while clean's git status runs in it, after its lock was
      // read for the decision: git runs the fsmonitor hook inside that status, in the worktree.
      const hook = join(world.root, 'fsmonitor.sh');
      const admin = join(world.repo, '.git', 'worktrees', 'taken');
      writeFileSync(hook, `#!/bin/sh\nif [ "$PWD" = '${path('taken')}' ]; then printf '%s\\n' '${lock('taken', holder.pid!)}' > '${join(admin, 'locked')}'; fi\nexit 1\n`, { mode: 0o755 });
      world.git(['config', 'core.fsmonitor', hook]);

      const cleaned = await cleanAgents({ repo: world.repo, env: world.env });
      expect(cleaned.entries.map((e) => [e.branch, e.action, e.why])).toEqual([
        ['fanout/r/free.claude', 'removed', 'no commits beyond its base, nothing uncommitted'],
        ['fanout/r/taken.claude', 'kept', `in use by fanout (pid ${holder.pid})`],
      ]);
      expect(existsSync(path('taken'))).toBe(true);
      expect(existsSync(path('free'))).toBe(false);
      expect(readdirSync(join(world.repo, '.git', 'worktrees'))).toEqual(['taken']);
      expect(world.git(['worktree', 'list', '--porcelain'])).toContain(`locked ${lock('taken', holder.pid!)}`);
      expect(world.git(['branch', '--list', 'fanout/r/*', '--format=%(refname:short)'])).toBe('fanout/r/taken.claude\n');
    } finally {
      holder.kill('SIGKILL');
    }
    await new Promise((resolve) => holder.once('exit', resolve));
  });

  it("reads a branch's base from its run's ref when its worktree is gone, and drops the ref with the run's last branch", async () => {
    const { report } = await runAgents(
      {
        repo: world.repo,
        run: 'r',
        tasks: [
          { id: 'keep', prompt: '@edit a.txt:1=KEPT' },
          { id: 'empty', prompt: '@work 10' },
        ],
        agents: [{ preset: 'codex', count: 1 }],
      },
      { env: world.env, killGraceMs: 200 },
    );
    expect(report.totals.succeeded).toBe(2);
    const baseRef = 'refs/fanout/r/base';
    expect(world.git(['rev-parse', baseRef]).trim()).toBe(report.base);
    // Removed by hand: no lock is left to name its base, only the run's ref.
    world.git(['worktree', 'remove', '--force', '--force', agent(report, 'empty.codex').worktree]);
    const cleaned = await cleanAgents({ repo: world.repo, env: world.env });
    expect(cleaned.entries.find((e) => e.branch === 'fanout/r/empty.codex')).toMatchObject({ action: 'removed', why: 'no worktree, no commits beyond its base' });
    expect(cleaned.entries.find((e) => e.branch === 'fanout/r/keep.codex')).toMatchObject({ action: 'kept', commits: 1 });
    expect(world.git(['for-each-ref', baseRef]).trim()).not.toBe(''); // a branch of the run is left

    // Its work given up (the branch reset to its base), the kept branch goes, and the run's ref with it.
    world.git(['reset', '--hard', '-q', report.base], agent(report, 'keep.codex').worktree);
    const last = await cleanAgents({ repo: world.repo, env: world.env });
    expect(last.entries.map((e) => [e.branch, e.action])).toEqual([['fanout/r/keep.codex', 'removed']]);
    expect(world.git(['for-each-ref', 'refs/fanout/']).trim()).toBe('');
    expect(world.git(['for-each-ref', 'refs/heads/fanout/']).trim()).toBe('');
  });
});
