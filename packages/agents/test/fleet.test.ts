/**
 * Whole fleets of fake agents (real processes speaking Claude's and Codex's dialects) in real
 * temporary repositories: limits, accounting, isolation, the conflict matrix and the merge.
 */
import type * as ChildProcess from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { SpawnServer } from '@fanout/adapters/shell';
import type { SchedulerEvent } from '@fanout/scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderAgentsHtml, runAgents, tasksFromPrompts, type AgentProgress, type AgentsReport } from '../src/index.js';
import { argvOf, makeWorld, peakAgents, reported, type World } from './helpers.js';

/** The builtin module object itself: patching it and syncing changes what every importer of `spawn` calls. */
const childProcess = createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;

let world: World;
beforeEach(() => {
  world = makeWorld();
});
afterEach(() => world.dispose());

function agent(report: AgentsReport, id: string) {
  const found = report.agents.find((a) => a.id === id);
  if (found === undefined) throw new Error(`no agent ${id} in ${report.agents.map((a) => a.id).join(', ')}`);
  return found;
}

describe('a fleet', () => {
  it('keeps within its limits, and its costs and tokens add up to what the agents reported', async () => {
    const tasks = [
      { id: 'one', prompt: 'edit one @edit a.txt:1=ONE @work 150' },
      { id: 'three', prompt: 'edit three @edit a.txt:3=THREE @work 100' },
      { id: 'new', prompt: 'new file @write c.txt=sea @work 50' },
      { id: 'none', prompt: 'nothing at all @work 50' },
    ];
    const { report, result } = await runAgents(
      {
        repo: world.repo,
        tasks,
        agents: [
          { preset: 'claude', count: 2 },
          { preset: 'codex', count: 1 },
        ],
      },
      { env: world.env, agents: 3, providers: { anthropic: 2 }, killGraceMs: 200 },
    );
    expect(report.agents).toHaveLength(12);
    expect(report.totals).toMatchObject({ agents: 12, succeeded: 12, failed: 0, other: 0 });
    expect(result.summary.byState.failed).toBe(0);
    // At most 3 agents at once, at most 2 of them Claude's: from the processes' own start and
    // end lines, and from the scheduler's account.
    expect(peakAgents(world).starts).toBe(12);
    expect(peakAgents(world).peak).toBeLessThanOrEqual(3);
    expect(peakAgents(world, (id) => id.includes('.claude')).peak).toBeLessThanOrEqual(2);
    expect(result.summary.byKind.agent!.peakInflight).toBeLessThanOrEqual(3);
    expect(result.summary.byKind.git!.peakInflight).toBeLessThanOrEqual(1); // one repository: one git step at a time

    // Every figure is the agent's own, and the totals are their sums.
    let cost = 0;
    let tokens = 0;
    for (const a of report.agents) {
      const said = reported(world, a.id);
      if (a.preset === 'claude') {
        expect(a.costUsd).toBe(said.cost);
        expect(a.usage).toEqual({
          input: said.usage.input_tokens,
          output: said.usage.output_tokens,
          cacheRead: said.usage.cache_read_input_tokens,
          cacheWrite: said.usage.cache_creation_input_tokens,
        });
        expect(a.turns).toBe(said.turns);
        cost += said.cost!;
      } else {
        expect(a.costUsd).toBeUndefined();
        expect(a.usage).toEqual({ input: said.usage.input_tokens! - said.usage.cached_input_tokens!, output: said.usage.output_tokens, cacheRead: said.usage.cached_input_tokens, cacheWrite: 0 });
      }
      tokens += a.tokens;
      expect(a.sessionId).toBe(`sess-${a.id}`);
      expect(a.message).toMatch(/^Done: /);
    }
    expect(report.totals.costUsd).toBeCloseTo(cost, 10);
    expect(report.totals.costed).toBe(8);
    expect(report.totals.tokens).toBe(tokens);

    // What each left uncommitted is committed on its own branch; the user's checkout is untouched.
    const one = agent(report, 'one.claude-1');
    expect(one.diff).toMatchObject({ commits: 1, leftovers: 1, added: 1, deleted: 1, files: [{ path: 'a.txt', added: 1, deleted: 1 }] });
    expect(world.git(['show', `${one.branch}:a.txt`])).toBe('ONE\ntwo\nthree\nfour\nfive\n');
    expect(agent(report, 'none.codex').diff).toMatchObject({ commits: 0, files: [] });
    expect(world.git(['status', '--porcelain'])).toBe('');
    expect(world.git(['rev-parse', '--abbrev-ref', 'HEAD']).trim()).toBe('main');
    expect(readFileSync(join(world.repo, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n');

    // Each worktree is outside the repository, on its own branch, locked by this run.
    const list = world.git(['worktree', 'list', '--porcelain']);
    for (const a of report.agents) {
      expect(a.worktree.startsWith(`${world.repo}/`)).toBe(false);
      expect(list).toContain(`worktree ${a.worktree}\n`);
      expect(a.diskBytes).toBeGreaterThan(0);
    }
    expect(list.match(/^locked fanout agents run /gm)).toHaveLength(12);
  });

  it('checks each worktree out, copies the ignored files .worktreeinclude lists (never node_modules), and runs setup first', async () => {
    writeFileSync(join(world.repo, '.gitignore'), '.env\nnode_modules/\nlocal/\n');
    writeFileSync(join(world.repo, '.worktreeinclude'), '.env\nlocal/\nnode_modules/\nb.txt\n');
    world.git(['add', '.gitignore', '.worktreeinclude']);
    world.git(['commit', '-q', '-m', 'ignore']);
    writeFileSync(join(world.repo, '.env'), 'TOKEN=local\n');
    mkdirSync(join(world.repo, 'local'));
    writeFileSync(join(world.repo, 'local', 'settings.json'), '{}\n');
    mkdirSync(join(world.repo, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(world.repo, 'node_modules', 'dep', 'index.js'), '\n');
    const setup = ['node', '-e', "require('fs').writeFileSync('setup-ran', require('fs').readFileSync('.env'))"];
    const { report } = await runAgents({ repo: world.repo, tasks: [{ id: 'env', prompt: '@work 10' }], agents: [{ preset: 'claude', count: 1 }], setup }, { env: world.env, killGraceMs: 200 });
    const only = report.agents[0]!;
    expect(only.state).toBe('succeeded');
    expect(only.steps).toMatchObject({ worktree: 'succeeded', checkout: 'succeeded', setup: 'succeeded' });
    expect(only.included?.sort()).toEqual(['.env', 'local/settings.json']);
    expect(readFileSync(join(only.worktree, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\nfive\n');
    expect(readFileSync(join(only.worktree, 'setup-ran'), 'utf8')).toBe('TOKEN=local\n');
    expect(existsSync(join(only.worktree, 'node_modules'))).toBe(false);
    // What setup wrote is the agent's worktree's, and was committed as a leftover: the ignored files were not.
    expect(only.diff?.files.map((f) => f.path)).toEqual(['setup-ran']);
  });

  it('never runs anything through a shell: prompts arrive whole, as one argument', async () => {
    // Node spawns the agent (and the spawn server's workers); git and the setup and verify
    // commands are handed to the spawn server as argv, which its worker runs without a shell.
    const calls: { file: string; args: readonly string[]; shell: unknown; by: 'node' | 'server' }[] = [];
    const original = childProcess.spawn;
    const originalRun = SpawnServer.prototype.run;
    childProcess.spawn = function spawn(this: unknown, file: string, args: readonly string[], options?: { shell?: unknown }) {
      calls.push({ file, args, shell: options?.shell, by: 'node' });
      return (original as (...a: unknown[]) => ChildProcess.ChildProcess).call(this, file, args, options);
    } as typeof childProcess.spawn;
    SpawnServer.prototype.run = function run(this: SpawnServer, spec, signal) {
      calls.push({ file: spec.file, args: spec.args, shell: undefined, by: 'server' });
      return originalRun.call(this, spec, signal);
    };
    syncBuiltinESMExports();
    const hostile = `say "hi"; touch pwned-1 && echo $(touch pwned-2) \`touch pwned-3\` | cat > pwned-4 @write note.txt=$(whoami)'; rm -rf /' @work 20`;
    try {
      const { report } = await runAgents(
        {
          repo: world.repo,
          tasks: tasksFromPrompts([hostile]),
          agents: [{ preset: 'claude', count: 1 }],
          setup: ['git', 'status', '--short'],
          verify: ['node', '-e', 'process.exit(0)', '$(touch pwned-5)'],
        },
        { env: world.env, killGraceMs: 200 },
      );
      expect(report.totals.succeeded).toBe(1);
      const only = report.agents[0]!;
      expect(argvOf(world, only.id).argv).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--', hostile]);
      expect(world.git(['show', `${only.branch}:note.txt`])).toBe(`$(whoami)'; rm -rf /'\n`);
      for (const n of [1, 2, 3, 4, 5]) {
        expect(existsSync(join(only.worktree, `pwned-${n}`))).toBe(false);
        expect(existsSync(join(world.repo, `pwned-${n}`))).toBe(false);
      }
    } finally {
      childProcess.spawn = original;
      SpawnServer.prototype.run = originalRun;
      syncBuiltinESMExports();
    }
    expect(calls.length).toBeGreaterThan(5);
    for (const call of calls) {
      expect(call.shell ?? false).toBe(false);
      // A spawn server's worker is bash running its own fixed script, never a command line.
      if (call.by === 'node' && call.file.endsWith('bash') && call.args[4] === 'fanout-spawn-worker') continue;
      expect(['sh', 'bash', 'dash', 'zsh', '/bin/sh', '/bin/bash']).not.toContain(call.file);
    }
    expect(calls.filter((c) => c.by === 'node').map((c) => c.file)).toContain('claude');
    expect(calls.filter((c) => c.by === 'server').map((c) => c.file)).toEqual(expect.arrayContaining(['git', 'node']));
    expect(calls.find((c) => c.file === 'node')?.args).toEqual(['-e', 'process.exit(0)', '$(touch pwned-5)']);
  });

  it('names the pair that edited the same line, and --merge stops at it without touching main', async () => {
    const mainBefore = world.git(['rev-parse', 'main']);
    const tasks = [
      { id: 'red', prompt: 'red @edit a.txt:2=RED' },
      { id: 'blue', prompt: 'blue @edit a.txt:2=BLUE' },
      { id: 'bee', prompt: 'elsewhere @edit b.txt:1=BEE' },
      { id: 'five', prompt: 'also elsewhere @edit a.txt:5=FIVE' },
    ];
    const { report } = await runAgents({ repo: world.repo, tasks, agents: [{ preset: 'claude', count: 1 }], merge: true }, { env: world.env, killGraceMs: 200 });
    expect(report.totals.succeeded).toBe(4);
    expect(report.conflicts.state).toBe('succeeded');
    expect(report.conflicts).toMatchObject({ checked: 3, apart: 3 }); // b.txt's change meets no other
    expect(report.conflicts.pairs).toEqual([{ a: 'red.claude', b: 'blue.claude', files: ['a.txt'] }]);
    expect(report.merge).toMatchObject({
      state: 'failed',
      branch: `fanout/${report.run}/integration`,
      merged: ['red.claude'],
      conflict: { agent: 'blue.claude', files: ['a.txt'] },
      notTried: ['bee.claude', 'five.claude'],
    });
    // The integration branch has the first merge and nothing half-done; main is as it was.
    const integration = report.merge!.branch;
    expect(world.git(['show', `${integration}:a.txt`])).toBe('one\nRED\nthree\nfour\nfive\n');
    expect(world.git(['status', '--porcelain'], report.merge!.worktree)).toBe('');
    expect(world.git(['rev-parse', 'main'])).toBe(mainBefore);
    expect(world.git(['status', '--porcelain'])).toBe('');
  });

  it('renders its HTML report: a row per agent with state, tokens, cost and numstat, and the conflict pair, all escaped', async () => {
    // The conflicting file's name is markup: the report page embeds this fragment as is, so an
    // unescaped name would put an element (and whatever it loads) into the page.
    const tasks = [
      { id: 'red', prompt: '@edit a.txt:2=RED @edit <b>bold</b>.txt:1=RED' },
      { id: 'blue', prompt: '@edit <b>bold</b>.txt:1=BLUE' },
      { id: 'quits', prompt: '@crash' },
    ];
    const { report } = await runAgents({ repo: world.repo, tasks, agents: [{ preset: 'claude', count: 1 }] }, { env: world.env, killGraceMs: 200 });
    expect(report.conflicts.pairs).toEqual([{ a: 'red.claude', b: 'blue.claude', files: ['<b>bold</b>.txt'] }]);
    const html = renderAgentsHtml(report);
    const decode = (text: string) =>
      text
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
    const rows = [...html.matchAll(/<tr>(.*?)<\/tr>/g)].map((row) => [...row[1]!.matchAll(/<t[hd]>(.*?)<\/t[hd]>/g)].map((cell) => decode(cell[1]!)));
    expect(rows[0]).toEqual(['agent', 'state', 'turns', 'tokens', 'cost', 'time', 'diff', 'verify']);
    // Every cell but the time: a turn per edit and one for the last message (or the crash's),
    // of 1,450 tokens each (1000 in, 100 out, 300 cache reads, 50 cache writes), and the fake
    // agent's default cost, which a crash (no result) never reports.
    expect(rows.slice(1).map((row) => [...row.slice(0, 5), ...row.slice(6)])).toEqual([
      ['red.claude', 'succeeded', '3', '4.3k', '$0.0125', '+2 −1 in 2 (1c)', ''],
      ['blue.claude', 'succeeded', '2', '2.9k', '$0.0125', '+1 −0 in 1 (1c)', ''],
      ['quits.claude', 'failed', '—', '1.4k', '—', 'no changes', ''],
    ]);
    for (const row of rows.slice(1)) expect(row[5]).toMatch(/^\d+ ms$|^\d+\.\d s$/);
    const notes = [...html.matchAll(/<li>(.*?)<\/li>/g)].map((item) => decode(item[1]!));
    expect(notes).toContain('conflict: red.claude × blue.claude: <b>bold</b>.txt');
    expect(notes.find((note) => note.startsWith('quits.claude: '))).toMatch(/exited with 3 without one/);
    expect(html).toContain('<p>3 agents: 2 succeeded, 1 failed · $0.0250 (2 of 3 agents report a cost) · ');
    // Markup only of its own: headings, the table, the totals and the list; no name unescaped.
    expect(new Set([...html.matchAll(/<\/?([a-z0-9]+)/g)].map((tag) => tag[1]))).toEqual(new Set(['h3', 'table', 'tr', 'th', 'td', 'p', 'ul', 'li']));
  });

  it("streams each agent's launch, session, message and usage as progress, normalised from Claude's and Codex's dialects, in order", async () => {
    const events: SchedulerEvent[] = [];
    const { report } = await runAgents(
      {
        repo: world.repo,
        tasks: [{ id: 'hi', prompt: 'say hello @tokens 500,20' }],
        agents: [
          { preset: 'claude', count: 1 },
          { preset: 'codex', count: 1 },
        ],
      },
      { env: world.env, killGraceMs: 200, onRun: (run) => run.on((event) => events.push(event)) },
    );
    expect(report.totals).toMatchObject({ succeeded: 2, failed: 0 });
    /** An agent's op events (started, its progress, finished), in the order the run emitted them. */
    const opEvents = (id: string) => events.filter((e) => 'id' in e && e.id === `agent:${id}`);
    const progress = (id: string): AgentProgress['event'][] =>
      opEvents(id)
        .filter((e): e is Extract<SchedulerEvent, { type: 'op-progress' }> => e.type === 'op-progress')
        .map((e) => {
          expect((e.data as AgentProgress).agent).toBe(id);
          return (e.data as AgentProgress).event;
        });

    // Claude: system init (the session and model), one assistant text (its message, then the
    // message's usage), then the result's totals with the cost.
    const claudeUsage = { input: 500, output: 20, cacheRead: 300, cacheWrite: 50 };
    expect(progress('hi.claude')).toEqual([
      { type: 'launch', launch: 1 },
      { type: 'session', sessionId: 'sess-hi.claude', model: 'fake-1' },
      { type: 'message', text: 'Done: tokens' },
      { type: 'usage', usage: claudeUsage },
      { type: 'usage', usage: claudeUsage, costUsd: 0.0125 },
    ]);
    // Codex: thread.started (the session), the agent_message item, turn.completed's usage with
    // its cached input split out of input_tokens (500 of which 200 cached), and no cost.
    expect(progress('hi.codex')).toEqual([
      { type: 'launch', launch: 1 },
      { type: 'session', sessionId: 'sess-hi.codex' },
      { type: 'message', text: 'Done: tokens' },
      { type: 'usage', usage: { input: 300, output: 20, cacheRead: 200, cacheWrite: 0 } },
    ]);
    // All of it while the agent's operation ran: after its start, before its end.
    for (const id of ['hi.claude', 'hi.codex']) {
      const types = opEvents(id).map((e) => e.type);
      expect(types[types.indexOf('op-started') + 1], id).toBe('op-progress');
      expect(types.lastIndexOf('op-progress'), id).toBe(types.indexOf('op-finished') - 1);
    }
    // The report's figures are the last usage event's.
    expect(agent(report, 'hi.claude')).toMatchObject({ usage: claudeUsage, costUsd: 0.0125, sessionId: 'sess-hi.claude', message: 'Done: tokens' });
    expect(agent(report, 'hi.codex')).toMatchObject({ usage: { input: 300, output: 20, cacheRead: 200, cacheWrite: 0 }, sessionId: 'sess-hi.codex', message: 'Done: tokens' });
  });

  it('merges every clean branch when nothing conflicts, only those whose verify passed', async () => {
    const tasks = [
      { id: 'one', prompt: 'one @edit a.txt:1=ONE' },
      { id: 'two', prompt: 'two @edit b.txt:1=TWO' },
      { id: 'broken', prompt: 'breaks the check @write broken=yes' },
    ];
    const verify = ['node', '-e', "process.exit(require('fs').existsSync('broken') ? 1 : 0)"];
    const { report } = await runAgents({ repo: world.repo, tasks, agents: [{ preset: 'codex', count: 1 }], verify, merge: true }, { env: world.env, killGraceMs: 200 });
    expect(agent(report, 'broken.codex').verify).toMatchObject({ state: 'failed', exitCode: 1 });
    expect(report.merge).toMatchObject({ state: 'succeeded', merged: ['one.codex', 'two.codex'], notTried: [] });
    expect(world.git(['show', `${report.merge!.branch}:a.txt`]).split('\n')[0]).toBe('ONE');
    expect(world.git(['show', `${report.merge!.branch}:b.txt`])).toBe('TWO\n');
  });
});
