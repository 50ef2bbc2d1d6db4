/**
 * Gemini CLI headless: `gemini --output-format stream-json --prompt=<prompt>`. Its JSON Lines:
 * `init` (session and model), `message` (assistant text, possibly in deltas), `tool_use`,
 * `tool_result`, `error`, and a final `result` with `status` and `stats` (tokens). Exit codes:
 * 0 success, 1 an error, 42 bad input, 53 the turn limit. No cost is reported.
 */
import { describeExit, jsonObject, objectAt, stringAt, tailOf, type AgentEvent, type AgentPreset, type AgentVerdict, type ProcessExit, type StreamParser } from '../preset.js';
import { resetFromText, saysRateLimited } from '../rate-limit.js';
import { count, zeroUsage, type TokenUsage } from '../usage.js';

/** What Gemini CLI's exit codes mean. */
const EXIT_MEANING: Record<number, string> = { 1: 'an error', 42: 'invalid input', 53: 'the turn limit was reached' };

class GeminiParser implements StreamParser {
  sessionId: string | undefined;
  /** The assistant message being streamed (deltas append to it). */
  current = '';
  lastMessage: string | undefined;
  usage: TokenUsage = zeroUsage();
  result: Record<string, unknown> | undefined;
  errors: string[] = [];
  rateLimited: { resetsAt?: number; detail?: string } | undefined;
  tools = 0;

  line(text: string): AgentEvent[] {
    const event = jsonObject(text);
    if (event === undefined) return text.trim() === '' ? [] : [{ type: 'text', text }];
    const events: AgentEvent[] = [];
    switch (event.type) {
      case 'init': {
        const id = stringAt(event, 'session_id');
        if (id !== undefined) {
          this.sessionId = id;
          const model = stringAt(event, 'model');
          events.push(model === undefined ? { type: 'session', sessionId: id } : { type: 'session', sessionId: id, model });
        }
        break;
      }
      case 'message': {
        if (stringAt(event, 'role') !== 'assistant') break;
        const content = stringAt(event, 'content') ?? '';
        this.current = event.delta === true ? this.current + content : content;
        if (this.current.trim() !== '') this.lastMessage = this.current;
        if (event.delta !== true && content.trim() !== '') events.push({ type: 'message', text: content });
        break;
      }
      case 'tool_use': {
        this.current = '';
        this.tools++;
        const name = stringAt(event, 'tool_name') ?? 'tool';
        events.push({ type: 'tool', name });
        break;
      }
      case 'error': {
        const message = stringAt(event, 'message') ?? 'error';
        if (stringAt(event, 'severity') !== 'warning') this.errors.push(message);
        this.#error(message, events);
        break;
      }
      case 'result': {
        this.result = event;
        const stats = objectAt(event, 'stats');
        const input = count(stats?.input_tokens ?? stats?.input);
        const cached = Math.min(input, count(stats?.cached));
        this.usage = { input: input - cached, output: count(stats?.output_tokens), cacheRead: cached, cacheWrite: 0 };
        events.push({ type: 'usage', usage: { ...this.usage } });
        const error = objectAt(event, 'error');
        if (error !== undefined) this.#error(stringAt(error, 'message') ?? 'error', events);
        break;
      }
      default:
        break;
    }
    return events;
  }

  #error(message: string, events: AgentEvent[]): void {
    events.push({ type: 'error', message: tailOf(message, 500) });
    if (saysRateLimited(message)) {
      const resetsAt = resetFromText(message, Date.now());
      this.rateLimited = { ...(resetsAt === undefined ? {} : { resetsAt }), detail: tailOf(message, 200) };
      events.push(resetsAt === undefined ? { type: 'rate-limit', status: 'rejected', detail: message } : { type: 'rate-limit', status: 'rejected', resetsAt, detail: message });
    }
  }

  finish(exit: ProcessExit): AgentVerdict {
    const verdict: AgentVerdict = { ok: false, usage: { ...this.usage }, permissionDenials: [] };
    if (this.sessionId !== undefined) verdict.sessionId = this.sessionId;
    if (this.lastMessage !== undefined) verdict.message = this.lastMessage;
    const status = stringAt(this.result, 'status');
    if (this.result === undefined) {
      verdict.reason = `expected a final "result" event from gemini, but ${describeExit(exit)} without one${this.errors.length > 0 ? `: ${tailOf(this.errors.at(-1)!, 400)}` : ''}`;
    } else if (status !== 'success') {
      verdict.reason = `expected gemini's result status "success", got ${JSON.stringify(status)}: ${tailOf(stringAt(objectAt(this.result, 'error'), 'message') ?? this.errors.at(-1) ?? '', 400)}`;
    } else if (exit.exitCode !== 0) {
      const meaning = exit.exitCode === null ? undefined : EXIT_MEANING[exit.exitCode];
      verdict.reason = `expected gemini to exit with 0, but ${describeExit(exit)}${meaning === undefined ? '' : ` (${meaning})`}`;
    } else {
      verdict.ok = true;
    }
    if (!verdict.ok && this.rateLimited !== undefined) verdict.rateLimited = this.rateLimited;
    return verdict;
  }
}

/**
 * Gemini CLI. Its sessions are resumed by their place in a list, not by the id its stream
 * gives, so a resumed run starts the task again.
 */
export const geminiPreset: AgentPreset = {
  name: 'gemini',
  provider: 'google',
  resumes: false,
  launch(context) {
    const args = ['--output-format', 'stream-json', ...context.extraArgs];
    // The `=` form: a task that starts with "-" cannot be read as an option.
    args.push(`--prompt=${context.prompt}`);
    return { file: 'gemini', args };
  },
  parser: () => new GeminiParser(),
};
