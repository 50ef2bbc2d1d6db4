/**
 * `fanout agents` and `fanout start --agents` as a user runs them: the built command, a real
 * repository made with `git init -b main`, HOME isolated, and the fake agent CLI (packages/
 * agents/test/fixtures) on PATH as `claude` and `codex`. No model, no network.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

const FAKE_AGENT = fileURLToPath(new URL('../../../packages/agents/test/fixtures/fake-agent.mjs', import.meta.url));

let root: string;
let repo: string;
let env: Record<string, string>;

function git(args: string[], cwd = repo): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'fanout-cli-agents-'));
  repo = join(root, 'repo');
  const bin = join(root, 'bin');
  for (const dir of [repo, bin, join(root, 'home'), join(root, 'state')]) mkdirSync(dir, { recursive: true });
  chmodSync(FAKE_AGENT, 0o755);
  symlinkSync(FAKE_AGENT, join(bin, 'claude'));
  symlinkSync(FAKE_AGENT, join(bin, 'codex'));
  env = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: join(root, 'home'),
    FAKE_AGENT_STATE: join(root, 'state'),
    GIT_CONFIG_NOSYSTEM: '1',
    XDG_CONFIG_HOME: join(root, 'home', '.config'),
  };
  git(['init', '-q', '-b', 'main']);
  writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\n');
  writeFileSync(join(repo, 'package.json'), '{ "name": "demo", "scripts": { "test": "node -e 0" } }\n');
  git(['add', '.']);
  git(['commit', '-q', '-m', 'init']);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The argv and standard input the fake agent `agent` was started with. */
function argvOf(agent: string): { argv: string[]; stdin: string } {
  return JSON.parse(readFileSync(join(root, 'state', `${agent}.argv.json`), 'utf8')) as { argv: string[]; stdin: string };
}

/** The most fake agents alive at once, and how many started, from their start and end lines. */
function peakAgents(): { peak: number; starts: number } {
  const log = join(root, 'state', 'log');
  let alive = 0;
  let peak = 0;
  let starts = 0;
  for (const line of existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []) {
    if (line.startsWith('+ ')) {
      starts++;
      peak = Math.max(peak, ++alive);
    } else if (line.startsWith('- ')) alive--;
  }
  return { peak, starts };
}

interface JsonReport {
  run: string;
  agents: { id: string; prompt: string; state: string; costUsd?: number; tokens: number; worktree: string; branch: string }[];
  summary: { byKind: Record<string, { peakInflight: number; limit: { initial: number } }> };
}

describe('fanout agents', () => {
  it('runs tasks × agents within -j and prints the report, --json with the summary', async () => {
    writeFileSync(join(root, 'tasks.txt'), '# two tasks\nfirst @edit a.txt:1=ONE @work 100\nsecond @edit a.txt:1=UNO @work 100\n');
    const out = await fanout(['agents', join(root, 'tasks.txt'), '--agent', 'claude,codex', '-j', '2', '--verify', 'git diff --quiet HEAD', '--json'], { cwd: repo, env });
    expect(out.stderr).toMatch(/agent\s+4\s+4\s+0/);
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as {
      run: string;
      totals: Record<string, number>;
      agents: { id: string; verify: { state: string } }[];
      conflicts: { pairs: { a: string; b: string; files: string[] }[] };
      summary: { byKind: Record<string, { peakInflight: number }> };
    };
    expect(report.totals).toMatchObject({ agents: 4, succeeded: 4, commits: 4, costed: 2 });
    expect(report.totals.costUsd).toBeCloseTo(0.025, 10);
    expect(report.summary.byKind.agent!.peakInflight).toBeLessThanOrEqual(2);
    expect(report.agents.every((a) => a.verify.state === 'succeeded')).toBe(true);
    // The two tasks edited the same line: every cross pair conflicts, agents of one task do not.
    expect(report.conflicts.pairs.map((p) => `${p.a} × ${p.b}`).sort()).toEqual([
      '1-first-edit-a-txt-1-one.claude × 2-second-edit-a-txt-1-uno.claude',
      '1-first-edit-a-txt-1-one.claude × 2-second-edit-a-txt-1-uno.codex',
      '1-first-edit-a-txt-1-one.codex × 2-second-edit-a-txt-1-uno.claude',
      '1-first-edit-a-txt-1-one.codex × 2-second-edit-a-txt-1-uno.codex',
    ]);
    expect(git(['status', '--porcelain'])).toBe('');
    expect(
      git(['branch', '--list', `fanout/${report.run}/*`])
        .trim()
        .split('\n'),
    ).toHaveLength(4);
  });

  it('refuses bad usage before anything runs (exit 2)', async () => {
    const unknown = await fanout(['agents', '--agent', 'nope', ':::', 'x'], { cwd: repo, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/got "nope".*FANOUT_AGENTS_INPUT_INVALID/);
    const many = await fanout(['agents', '-j', '20', ':::', 'x'], { cwd: repo, env });
    expect(many.code).toBe(2);
    expect(many.stderr).toMatch(/at most 16 agents at once, got 20/);
    const none = await fanout(['agents'], { cwd: repo, env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/expected tasks/);
    const outside = await fanout(['agents', ':::', 'x'], { cwd: root, env });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/FANOUT_AGENTS_NOT_A_REPOSITORY/);
    expect(git(['branch', '--list', 'fanout/*'])).toBe('');
  });

  it('resumes from its journal: finished agents are not run again', async () => {
    const journal = join(root, 'agents.ndjson');
    const args = (...more: string[]) => ['agents', '--agent', 'claude', '--journal', journal, '-q', ...more, ':::', 'steady @edit a.txt:2=TWO', 'flaky @edit a.txt:3=THREE @crash-once'];
    const first = await fanout(args(), { cwd: repo, env });
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/2-flaky-edit-a-txt-3-three\.claude\s+failed/);
    const second = await fanout(args('--resume'), { cwd: repo, env });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/1-steady-edit-a-txt-2-two\.claude\s+succeeded \(resumed\)/);
    expect(second.stdout).toMatch(/2-flaky-edit-a-txt-3-three\.claude\s+succeeded\s/);
  });

  it('says when an agent waits for input, runs --notify, and clean keeps what has commits', async () => {
    const notified = join(root, 'notified.txt');
    const notify = `node -e "require('fs').appendFileSync('${notified}', process.env.FANOUT_EVENT + ' ' + process.env.FANOUT_AGENT + '\\n')"`;
    const out = await fanout(['agents', '--waiting-after', '200ms', '--idle-timeout', '4s', '--notify', notify, ':::', 'asks @wait-input', 'works @edit a.txt:1=ONE'], { cwd: repo, env });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('fanout: 1-asks-wait-input.claude is waiting for input: Apply these changes? [y/N]');
    expect(out.stdout).toContain('1-asks-wait-input.claude waited for input');
    expect(execFileSync('cat', [notified], { encoding: 'utf8' })).toContain('waiting 1-asks-wait-input.claude');

    const dry = await fanout(['agents', 'clean', '--dry-run'], { cwd: repo, env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would be removed {2}fanout\/\S+\/1-asks-wait-input\.claude/);
    expect(dry.stdout).toMatch(/kept {2}fanout\/\S+\/2-works-edit-a-txt-1-one\.claude .*\(1 commit beyond its base\)/);
    const cleaned = await fanout(['agents', 'clean'], { cwd: repo, env });
    expect(cleaned.stdout).toContain('removed 1, kept 1');
    expect(git(['branch', '--list', 'fanout/*']).trim().split('\n')).toHaveLength(1);
  });
});

describe('fanout agents: tasks, flags and the report page', () => {
  it('reads tasks from standard input (-), numbering the ones after ::: on from them', async () => {
    const input = '# from a pipe\nfirst @edit a.txt:1=ONE\n\nsecond @work 10\n';
    const out = await fanout(['agents', '-', '--run', 'piped', '--json', ':::', 'third @work 10'], { cwd: repo, env, input });
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(report.agents.map((a) => [a.id, a.prompt, a.state])).toEqual([
      ['1-first-edit-a-txt-1-one.claude', 'first @edit a.txt:1=ONE', 'succeeded'],
      ['2-second-work-10.claude', 'second @work 10', 'succeeded'],
      ['3-third-work-10.claude', 'third @work 10', 'succeeded'],
    ]);
    // Each prompt reached its agent whole, as the argument after --.
    for (const a of report.agents) expect(argvOf(a.id).argv.slice(-2)).toEqual(['--', a.prompt]);
  });

  it('reads tasks from a JSON list file: ids as given, strings numbered', async () => {
    writeFileSync(join(root, 'tasks.json'), JSON.stringify([{ id: 'fix-a', prompt: 'fix a @edit a.txt:1=A' }, 'plain @work 10']));
    const out = await fanout(['agents', join(root, 'tasks.json'), '--run', 'listed', '--json'], { cwd: repo, env });
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(report.agents.map((a) => [a.id, a.prompt, a.branch])).toEqual([
      ['fix-a.claude', 'fix a @edit a.txt:1=A', 'fanout/listed/fix-a.claude'],
      ['2-plain-work-10.claude', 'plain @work 10', 'fanout/listed/2-plain-work-10.claude'],
    ]);
    expect(argvOf('fix-a.claude').argv.at(-1)).toBe('fix a @edit a.txt:1=A');
    expect(git(['show', 'fanout/listed/fix-a.claude:a.txt'])).toBe('A\ntwo\nthree\n');
  });

  it('--command runs any CLI: its placeholders filled, the prompt on stdin, its output read in --dialect', async () => {
    // The fake agent, named claude, speaks Claude's stream-json: only --dialect claude reads
    // its cost. Without {prompt} in the template, the prompt goes to standard input.
    const template = 'claude --dir={dir} --task={task} --agent={agent} --branch={branch}';
    const out = await fanout(['agents', '--command', template, '--dialect', 'claude', '--run', 'cmd', '--json', ':::', 'hello @edit a.txt:1=HI'], { cwd: repo, env });
    expect(out.code, out.stderr).toBe(0);
    const [only] = (JSON.parse(out.stdout) as JsonReport).agents;
    expect(only).toMatchObject({ id: '1-hello-edit-a-txt-1-hi.command', state: 'succeeded', costUsd: 0.0125, branch: 'fanout/cmd/1-hello-edit-a-txt-1-hi.command' });
    expect(argvOf(only!.id)).toMatchObject({
      argv: [`--dir=${only!.worktree}`, '--task=1-hello-edit-a-txt-1-hi', `--agent=${only!.id}`, `--branch=${only!.branch}`],
      stdin: 'hello @edit a.txt:1=HI',
    });
    const orphan = await fanout(['agents', '--dialect', 'claude', ':::', 'x'], { cwd: repo, env });
    expect(orphan.code).toBe(2);
    expect(orphan.stderr).toContain('--dialect applies to --command, which is missing');
  });

  it('-j is 8 unless given, --provider-limit holds a provider below it, --cap moves the ceiling of -j', async () => {
    // Three agents that overlap when let: with claude=1 they run one after another.
    const out = await fanout(['agents', '--provider-limit', 'claude=1', '--json', ':::', 'a @work 300', 'b @work 300', 'c @work 300'], { cwd: repo, env });
    expect(out.code, out.stderr).toBe(0);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(report.summary.byKind.agent!.limit.initial).toBe(8);
    expect(report.summary.byKind.agent!.peakInflight).toBe(1);
    expect(peakAgents()).toEqual({ peak: 1, starts: 3 });

    const raised = await fanout(['agents', '-j', '20', '--cap', '20', '--run', 'wide', '--dry-run', ':::', 'x'], { cwd: repo, env });
    expect(raised.code, raised.stderr).toBe(0);
    expect(raised.stdout).toContain('1-x.claude\tclaude\tfanout/wide/1-x.claude\t');
    const lowered = await fanout(['agents', '-j', '3', '--cap', '2', '--dry-run', ':::', 'x'], { cwd: repo, env });
    expect(lowered.code).toBe(2);
    expect(lowered.stderr).toMatch(/expected at most 2 agents at once, got 3/);
    expect(git(['branch', '--list', 'fanout/wide/*'])).toBe('');
  });

  it('--timeout ends an agent that runs on timed-out (exit 1)', async () => {
    const out = await fanout(['agents', '--timeout', '2s', '--json', ':::', 'endless @hang'], { cwd: repo, env });
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as JsonReport;
    expect(report.agents.map((a) => [a.id, a.state])).toEqual([['1-endless-hang.claude', 'timed-out']]);
  });

  it('--report writes a self-contained HTML page with each agent, its numstat and the conflict pair', async () => {
    const page = join(root, 'report.html');
    const out = await fanout(['agents', '--run', 'paged', '--report', page, '-q', ':::', 'red @edit a.txt:2=RED', 'blue @edit a.txt:2=BLUE', 'quits @crash'], { cwd: repo, env });
    expect(out.code).toBe(1);
    const html = readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Nothing to fetch: no script, stylesheet, image or frame, no address to load from.
    expect(html).not.toMatch(/<(script|link|img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\b(src|href)\s*=|url\(|@import/i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).toContain('<h3>Agents: run paged</h3>');
    expect(html).toContain('<tr><td>1-red-edit-a-txt-2-red.claude</td><td>succeeded</td><td>2</td><td>2.9k</td><td>$0.0125</td><td>');
    expect(html).toMatch(/<td>2-blue-edit-a-txt-2-blue\.claude<\/td><td>succeeded<\/td><td>2<\/td><td>2\.9k<\/td><td>\$0\.0125<\/td><td>[^<]+<\/td><td>\+1 −1 in 1 \(1c\)<\/td>/);
    expect(html).toMatch(/<td>3-quits-crash\.claude<\/td><td>failed<\/td><td>—<\/td><td>1\.4k<\/td><td>—<\/td><td>[^<]+<\/td><td>no changes<\/td>/);
    expect(html).toContain('<li>conflict: 1-red-edit-a-txt-2-red.claude × 2-blue-edit-a-txt-2-blue.claude: a.txt</li>');
  });
});

describe('fanout start --agents', () => {
  it('discovers the project, then deploys the agents on it', async () => {
    const out = await fanout(['start', repo, '--agents', 'codex:2', '-q', ':::', 'tidy @write NOTES.md=notes'], { cwd: root, env });
    expect(out.code).toBe(0);
    const discovery = out.stdout.indexOf(`# start ${repo}`);
    const deployment = out.stdout.indexOf('fanout agents · run');
    expect(discovery).toBeGreaterThanOrEqual(0);
    expect(deployment).toBeGreaterThan(discovery);
    expect(out.stdout).toMatch(/1-tidy-write-notes-md\.codex-1\s+succeeded/);
    expect(out.stdout).toMatch(/1-tidy-write-notes-md\.codex-2\s+succeeded/);
    const tasksWithoutAgents = await fanout(['start', repo, ':::', 'x'], { cwd: root, env });
    expect(tasksWithoutAgents.code).toBe(2);
  });
});
