import { describe, expect, it } from 'vitest';
import {
  aiderPreset,
  claudePreset,
  codexPreset,
  commandPreset,
  geminiPreset,
  opencodePreset,
  parseAgentChoices,
  parseTasks,
  resetFromField,
  resetFromText,
  splitWords,
  type AgentEvent,
  type AgentPreset,
} from '../src/index.js';

const launchContext = { prompt: '-rf $(touch x); echo "hi"', dir: '/w/a', extraArgs: [], agent: 'a', branch: 'fanout/r/a', task: 't' };

function feed(preset: AgentPreset, lines: unknown[], exit = { exitCode: 0 as number | null, signal: null as string | null }) {
  const parser = preset.parser();
  const events: AgentEvent[] = [];
  for (const line of lines) events.push(...parser.line(typeof line === 'string' ? line : JSON.stringify(line)));
  return { events, verdict: parser.finish(exit) };
}

const claudeUsage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 };

describe('claude', () => {
  it('launches with the prompt as one argument after --, and --resume for a session', () => {
    expect(claudePreset.launch(launchContext)).toEqual({ file: 'claude', args: ['-p', '--output-format', 'stream-json', '--verbose', '--', launchContext.prompt] });
    expect(claudePreset.launch({ ...launchContext, resumeSession: 's1', extraArgs: ['--model', 'x'] }).args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'x',
      '--resume',
      's1',
      '--',
      launchContext.prompt,
    ]);
  });

  it('judges success from the result event, with its cost, tokens, turns and session', () => {
    const { events, verdict } = feed(claudePreset, [
      'Welcome banner',
      { type: 'system', subtype: 'init', session_id: 's1', model: 'm' },
      { type: 'assistant', message: { id: 'm1', content: [{ type: 'text', text: 'hello' }], usage: claudeUsage }, session_id: 's1' },
      // stream-json repeats a message's usage on its other content blocks: counted once
      { type: 'assistant', message: { id: 'm1', content: [{ type: 'tool_use', name: 'Edit', input: { file_path: 'a.ts' } }], usage: claudeUsage }, session_id: 's1' },
      {
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: 'all done',
        session_id: 's1',
        total_cost_usd: 0.5,
        num_turns: 3,
        duration_api_ms: 42,
        usage: { input_tokens: 11, output_tokens: 6, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
        permission_denials: [],
      },
    ]);
    expect(events.map((e) => e.type)).toEqual(['text', 'session', 'message', 'usage', 'tool', 'usage', 'usage']);
    expect(events[3]).toEqual({ type: 'usage', usage: { input: 10, output: 5, cacheRead: 100, cacheWrite: 20 } });
    expect(events[5]).toEqual({ type: 'usage', usage: { input: 10, output: 5, cacheRead: 100, cacheWrite: 20 } });
    expect(verdict).toEqual({
      ok: true,
      usage: { input: 11, output: 6, cacheRead: 100, cacheWrite: 20 },
      permissionDenials: [],
      sessionId: 's1',
      message: 'all done',
      costUsd: 0.5,
      turns: 3,
      apiDurationMs: 42,
    });
  });

  it('fails an exit 0 whose result is an error, and a process that ends without a result', () => {
    const error = feed(claudePreset, [{ type: 'result', subtype: 'error_during_execution', is_error: true, result: 'boom', session_id: 's' }]);
    expect(error.verdict.ok).toBe(false);
    expect(error.verdict.reason).toMatch(/subtype "error_during_execution" with is_error true \(it exited with 0\): boom/);
    const missing = feed(claudePreset, [{ type: 'system', subtype: 'init', session_id: 's' }], { exitCode: 0, signal: null });
    expect(missing.verdict).toMatchObject({ ok: false, sessionId: 's', reason: 'expected a final "result" event from claude, but it exited with 0 without one' });
  });

  it('reads rate limits from rate_limit_event (epoch seconds) and from a 429 result', () => {
    const { events, verdict } = feed(
      claudePreset,
      [
        { type: 'rate_limit_event', rate_limit_info: { status: 'allowed_warning', resetsAt: 1767225600 } },
        { type: 'rate_limit_event', rate_limit_info: { status: 'rejected', resetsAt: 1767225600, rateLimitType: 'five_hour' } },
        { type: 'result', subtype: 'success', is_error: true, result: 'API Error: 429 rate_limit_error' },
      ],
      { exitCode: 1, signal: null },
    );
    expect(events.filter((e) => e.type === 'rate-limit')).toEqual([
      { type: 'rate-limit', status: 'warning', resetsAt: 1767225600000 },
      { type: 'rate-limit', status: 'rejected', resetsAt: 1767225600000, detail: 'five_hour' },
    ]);
    expect(verdict.rateLimited).toEqual({ resetsAt: 1767225600000, detail: 'five_hour' });
    const overloaded = feed(claudePreset, [{ type: 'result', is_error: true, subtype: 'error_during_execution', result: 'API Error: 529 Overloaded' }]);
    expect(overloaded.verdict.rateLimited).toBeDefined();
  });

  it('reports refused permissions, live and in the result', () => {
    const { events, verdict } = feed(claudePreset, [
      { type: 'user', message: { content: [{ type: 'tool_result', is_error: true, content: "Claude requested permissions to use Bash, but you haven't granted it yet." }] } },
      { type: 'result', subtype: 'success', is_error: false, result: 'partly', permission_denials: [{ tool_name: 'Bash' }] },
    ]);
    expect(events.filter((e) => e.type === 'permission-denied').map((e) => (e as { tool: string }).tool)).toEqual(['Bash', 'Bash']);
    expect(verdict.permissionDenials).toEqual(['Bash']);
  });
});

describe('codex', () => {
  it('launches exec --json -C <dir>, resume before the prompt', () => {
    expect(codexPreset.launch(launchContext)).toEqual({ file: 'codex', args: ['exec', '--json', '-C', '/w/a', '--', launchContext.prompt] });
    expect(codexPreset.launch({ ...launchContext, resumeSession: 't1' }).args).toEqual(['exec', '--json', '-C', '/w/a', 'resume', 't1', '--', launchContext.prompt]);
  });

  it('adds up turn usage with cached input split out, and has no cost', () => {
    const { events, verdict } = feed(codexPreset, [
      { type: 'thread.started', thread_id: 't1' },
      { type: 'turn.started' },
      { type: 'item.started', item: { id: 'i1', type: 'command_execution', command: 'ls' } },
      { type: 'item.completed', item: { id: 'i2', type: 'file_change', changes: [{ path: 'a.ts', kind: 'update' }] } },
      { type: 'item.completed', item: { id: 'i3', type: 'agent_message', text: 'done' } },
      { type: 'turn.completed', usage: { input_tokens: 100, cached_input_tokens: 40, output_tokens: 7 } },
      { type: 'turn.started' },
      { type: 'turn.completed', usage: { input_tokens: 10, cached_input_tokens: 0, output_tokens: 1 } },
    ]);
    expect(events.filter((e) => e.type === 'tool')).toEqual([
      { type: 'tool', name: 'command', detail: 'ls' },
      { type: 'tool', name: 'edit', detail: 'a.ts' },
    ]);
    expect(verdict).toEqual({ ok: true, usage: { input: 70, output: 8, cacheRead: 40, cacheWrite: 0 }, permissionDenials: [], turns: 2, sessionId: 't1', message: 'done' });
  });

  it('fails a turn.failed that exits 0, and reads a reset from its words', () => {
    const { verdict } = feed(codexPreset, [{ type: 'turn.started' }, { type: 'turn.failed', error: { message: 'usage limit reached, try again in 2 hours' } }]);
    expect(verdict.ok).toBe(false);
    expect(verdict.reason).toMatch(/got a failure \(it exited with 0\)/);
    expect(verdict.rateLimited?.resetsAt).toBeGreaterThan(Date.now() + 7_100_000);
  });
});

describe('gemini, opencode, aider and commands', () => {
  // The whole argv, not a piece of it: a flag lost, reordered or put after the prompt changes
  // what the real CLI does (the `=` forms and `--` keep a prompt that starts with "-" a prompt).
  it('gemini launches stream-json, the extra arguments, then the prompt in the = form; it never resumes', () => {
    expect(geminiPreset.launch(launchContext)).toEqual({ file: 'gemini', args: ['--output-format', 'stream-json', `--prompt=${launchContext.prompt}`] });
    expect(geminiPreset.launch({ ...launchContext, extraArgs: ['--model', 'gemini-2.5-pro'], resumeSession: 'g1' })).toEqual({
      file: 'gemini',
      args: ['--output-format', 'stream-json', '--model', 'gemini-2.5-pro', `--prompt=${launchContext.prompt}`],
    });
  });

  it('opencode launches run --format json, the extra arguments, --session to resume, then the prompt after --', () => {
    expect(opencodePreset.launch(launchContext)).toEqual({ file: 'opencode', args: ['run', '--format', 'json', '--', launchContext.prompt] });
    expect(opencodePreset.launch({ ...launchContext, extraArgs: ['--model', 'x/y'], resumeSession: 'o1' })).toEqual({
      file: 'opencode',
      args: ['run', '--format', 'json', '--model', 'x/y', '--session', 'o1', '--', launchContext.prompt],
    });
  });

  it('aider launches the prompt in the = form, always yes, plain output, then the extra arguments; it never resumes', () => {
    expect(aiderPreset.launch(launchContext)).toEqual({ file: 'aider', args: [`--message=${launchContext.prompt}`, '--yes-always', '--no-pretty', '--no-stream'] });
    expect(aiderPreset.launch({ ...launchContext, extraArgs: ['--model', 'sonnet'], resumeSession: 'a1' })).toEqual({
      file: 'aider',
      args: [`--message=${launchContext.prompt}`, '--yes-always', '--no-pretty', '--no-stream', '--model', 'sonnet'],
    });
  });

  it('gemini: the result status and the exit code both count', () => {
    const lines = [
      { type: 'init', session_id: 'g1', model: 'gemini' },
      { type: 'message', role: 'assistant', content: 'he', delta: true },
      { type: 'message', role: 'assistant', content: 'llo', delta: true },
      { type: 'result', status: 'success', stats: { input_tokens: 50, output_tokens: 5, cached: 10 } },
    ];
    expect(feed(geminiPreset, lines).verdict).toEqual({ ok: true, usage: { input: 40, output: 5, cacheRead: 10, cacheWrite: 0 }, permissionDenials: [], sessionId: 'g1', message: 'hello' });
    expect(feed(geminiPreset, lines, { exitCode: 53, signal: null }).verdict.reason).toMatch(/turn limit/);
    expect(geminiPreset.launch(launchContext).args.at(-1)).toBe(`--prompt=${launchContext.prompt}`);
  });

  it('opencode: steps add up their tokens and cost', () => {
    const step = (cost: number) => ({
      type: 'step_finish',
      sessionID: 'o1',
      part: { type: 'step-finish', reason: 'stop', cost, tokens: { input: 10, output: 2, reasoning: 1, cache: { read: 3, write: 4 } } },
    });
    const { verdict } = feed(opencodePreset, [{ type: 'text', sessionID: 'o1', part: { type: 'text', text: 'ok' } }, step(0.01), step(0.02)]);
    expect(verdict).toMatchObject({ ok: true, sessionId: 'o1', message: 'ok', usage: { input: 20, output: 6, cacheRead: 6, cacheWrite: 8 }, turns: 2 });
    expect(verdict.costUsd).toBeCloseTo(0.03, 10);
  });

  it('aider: text, exit 0, the prompt in the = form', () => {
    expect(aiderPreset.launch(launchContext).args[0]).toBe(`--message=${launchContext.prompt}`);
    const { events, verdict } = feed(aiderPreset, ['Applied edit to a.ts', 'litellm.RateLimitError: 429'], { exitCode: 1, signal: null });
    expect(events.some((e) => e.type === 'rate-limit')).toBe(true);
    expect(verdict.ok).toBe(false);
    expect(verdict.rateLimited).toBeDefined();
  });

  it('a command template: placeholders inside words, never split; the prompt on stdin without {prompt}', () => {
    const preset = commandPreset({ template: `my-agent --cwd={dir} --say "{prompt}" 'x y'` });
    expect(preset.launch(launchContext)).toEqual({ file: 'my-agent', args: ['--cwd=/w/a', '--say', launchContext.prompt, 'x y'] });
    expect(commandPreset({ template: ['my-agent', '--dir', '{dir}'] }).launch(launchContext)).toEqual({ file: 'my-agent', args: ['--dir', '/w/a'], stdin: launchContext.prompt });
    expect(commandPreset({ template: 'x {prompt}', dialect: 'claude' }).parser().line('{"type":"system","session_id":"s"}')).toEqual([{ type: 'session', sessionId: 's' }]);
    expect(() => commandPreset({ template: '{prompt} x' })).toThrow(/start with a program/);
    expect(() => commandPreset({ template: 'x "open' })).toThrow(expect.objectContaining({ code: 'FANOUT_AGENTS_INPUT_INVALID' }));
  });
});

describe('words, tasks, agents and reset times', () => {
  it('splits like a shell, interprets nothing', () => {
    expect(splitWords(`npm run "test:unit" -- --reporter='dot' a\\ b $HOME $(x)`, '--verify')).toEqual(['npm', 'run', 'test:unit', '--', '--reporter=dot', 'a b', '$HOME', '$(x)']);
    expect(() => splitWords('   ', '--setup')).toThrow(/name a program/);
  });

  it('tasks from lines or a JSON list, with ids safe in branch names', () => {
    expect(parseTasks('# comment\nFix the login redirect on Safari please\n\nAdd tests\n', 'tasks.txt')).toEqual([
      { id: '1-fix-the-login-redirect', prompt: 'Fix the login redirect on Safari please' },
      { id: '2-add-tests', prompt: 'Add tests' },
    ]);
    expect(parseTasks('["a", {"id": "b.x", "prompt": "do b"}]', 'tasks.json')).toEqual([
      { id: '1-a', prompt: 'a' },
      { id: 'b.x', prompt: 'do b' },
    ]);
    expect(() => parseTasks('[{"id": "a b", "prompt": "x"}]', 'tasks.json')).toThrow(expect.objectContaining({ code: 'FANOUT_AGENTS_INPUT_INVALID', path: 'tasks.json[0].id' }));
    expect(() => parseTasks('[{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}]', 'tasks.json')).toThrow(/tasks.json\[0\] and tasks.json\[1\] are both "a"/);
    expect(() => parseTasks('# nothing\n', 'tasks.txt')).toThrow(/at least one task/);
  });

  it('agent choices with counts', () => {
    expect(parseAgentChoices('claude:3, codex')).toEqual([
      { preset: 'claude', count: 3 },
      { preset: 'codex', count: 1 },
    ]);
    expect(() => parseAgentChoices('claude:0')).toThrow(/name or name:count/);
  });

  it('reset times in words and fields', () => {
    expect(resetFromText('try again in 1h 30m', 0)).toBe(5_400_000);
    expect(resetFromText('Retry-After: 20', 0)).toBe(20_000);
    expect(resetFromText('no idea', 0)).toBeUndefined();
    expect(resetFromField(1767225600)).toBe(1767225600000);
    expect(resetFromField(1767225600000)).toBe(1767225600000);
    expect(resetFromField('2026-01-01T00:00:00Z')).toBe(Date.parse('2026-01-01T00:00:00Z'));
  });
});
