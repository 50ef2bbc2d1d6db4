/**
 * OpenAI Codex headless: `codex exec --json -C <dir> -- <prompt>`. Its JSON Lines: a
 * `thread.started` (the session), `turn.started`, `item.started|updated|completed` (agent
 * messages, commands, file changes, tool calls), then `turn.completed` with the turn's usage,
 * or `turn.failed`, and `error`. No cost is reported. A `turn.failed` with exit 0 has been
 * seen, so success needs a completed turn, no failure after it, and exit 0. Cached input is
 * part of Codex's `input_tokens`; here it is split out, so that the four parts stay disjoint.
 */
import { describeExit, jsonObject, objectAt, stringAt, tailOf, type AgentEvent, type AgentPreset, type AgentVerdict, type ProcessExit, type StreamParser } from '../preset.js';
import { resetFromText, saysRateLimited } from '../rate-limit.js';
import { count, zeroUsage, type TokenUsage } from '../usage.js';

class CodexParser implements StreamParser {
  sessionId: string | undefined;
  lastMessage: string | undefined;
  readonly usage: TokenUsage = zeroUsage();
  turns = 0;
  completed = 0;
  /** The last failure, and whether a turn completed after it. */
  failure: string | undefined;
  rateLimited: { resetsAt?: number; detail?: string } | undefined;

  line(text: string): AgentEvent[] {
    const event = jsonObject(text);
    if (event === undefined) return text.trim() === '' ? [] : [{ type: 'text', text }];
    const events: AgentEvent[] = [];
    switch (event.type) {
      case 'thread.started': {
        const id = stringAt(event, 'thread_id');
        if (id !== undefined) {
          this.sessionId = id;
          events.push({ type: 'session', sessionId: id });
        }
        break;
      }
      case 'turn.started':
        this.turns++;
        break;
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        this.#item(event, events);
        break;
      case 'turn.completed': {
        const usage = objectAt(event, 'usage');
        const input = count(usage?.input_tokens);
        const cached = Math.min(input, count(usage?.cached_input_tokens));
        this.usage.input += input - cached;
        this.usage.cacheRead += cached;
        this.usage.output += count(usage?.output_tokens);
        this.completed++;
        this.failure = undefined;
        events.push({ type: 'usage', usage: { ...this.usage } });
        break;
      }
      case 'turn.failed':
      case 'error': {
        const message = stringAt(objectAt(event, 'error'), 'message') ?? stringAt(event, 'message') ?? String(event.type);
        this.#failed(message, events);
        break;
      }
      default:
        break;
    }
    return events;
  }

  #item(event: Record<string, unknown>, events: AgentEvent[]): void {
    const item = objectAt(event, 'item');
    if (item === undefined) return;
    // Early versions named the field item_type.
    const kind = stringAt(item, 'type') ?? stringAt(item, 'item_type');
    const done = event.type === 'item.completed';
    switch (kind) {
      case 'agent_message':
      case 'assistant_message': {
        const text = stringAt(item, 'text');
        if (done && text !== undefined && text.trim() !== '') {
          this.lastMessage = text;
          events.push({ type: 'message', text });
        }
        break;
      }
      case 'command_execution': {
        const command = stringAt(item, 'command');
        if (event.type === 'item.started') events.push(command === undefined ? { type: 'tool', name: 'command' } : { type: 'tool', name: 'command', detail: command });
        break;
      }
      case 'file_change': {
        const changes = item.changes;
        const paths = Array.isArray(changes) ? (changes as Record<string, unknown>[]).map((c) => stringAt(c, 'path')).filter((p): p is string => p !== undefined) : [];
        if (done) events.push({ type: 'tool', name: 'edit', detail: paths.join(', ') });
        break;
      }
      case 'mcp_tool_call': {
        const tool = stringAt(item, 'tool') ?? 'mcp';
        if (event.type === 'item.started') events.push({ type: 'tool', name: tool });
        break;
      }
      case 'error': {
        const message = stringAt(item, 'message');
        if (done && message !== undefined) events.push({ type: 'error', message });
        break;
      }
      default:
        break;
    }
  }

  #failed(message: string, events: AgentEvent[]): void {
    this.failure = message;
    events.push({ type: 'error', message: tailOf(message, 500) });
    if (saysRateLimited(message)) {
      const resetsAt = resetFromText(message, Date.now());
      this.rateLimited = { ...(resetsAt === undefined ? {} : { resetsAt }), detail: tailOf(message, 200) };
      events.push(resetsAt === undefined ? { type: 'rate-limit', status: 'rejected', detail: message } : { type: 'rate-limit', status: 'rejected', resetsAt, detail: message });
    }
  }

  finish(exit: ProcessExit): AgentVerdict {
    const verdict: AgentVerdict = { ok: false, usage: { ...this.usage }, permissionDenials: [], turns: this.turns };
    if (this.sessionId !== undefined) verdict.sessionId = this.sessionId;
    if (this.lastMessage !== undefined) verdict.message = this.lastMessage;
    if (this.failure !== undefined) {
      verdict.reason = `expected codex's turn to complete, got a failure (${describeExit(exit)}): ${tailOf(this.failure, 600)}`;
      if (this.rateLimited !== undefined) verdict.rateLimited = this.rateLimited;
    } else if (exit.exitCode !== 0) {
      verdict.reason = `expected codex to exit with 0, but ${describeExit(exit)}`;
    } else if (this.completed === 0) {
      verdict.reason = 'expected a "turn.completed" event from codex, got none';
    } else {
      verdict.ok = true;
    }
    return verdict;
  }
}

/** OpenAI Codex (`codex exec`). A resumed run is `codex exec resume <session> …`. */
export const codexPreset: AgentPreset = {
  name: 'codex',
  provider: 'openai',
  resumes: true,
  launch(context) {
    // exec's own options come before its `resume` subcommand.
    const args = ['exec', '--json', '-C', context.dir, ...context.extraArgs];
    if (context.resumeSession !== undefined) args.push('resume', context.resumeSession);
    args.push('--', context.prompt);
    return { file: 'codex', args };
  },
  parser: () => new CodexParser(),
};
