/**
 * Claude Code headless: `claude -p --output-format stream-json --verbose -- <prompt>` (stream-json
 * needs `--verbose`), in the worktree as its working directory. Success is judged from the
 * final `result` event — `subtype: "success"` and `is_error: false` — never from the exit code
 * alone (exit 0 has been seen with `is_error: true`, and a process that ends without a result
 * did not finish). The result carries the cost, tokens, turns, session id and permission
 * denials; `rate_limit_event`s say when a limit is hit and when it resets.
 */
import { describeExit, jsonObject, objectAt, stringAt, tailOf, type AgentEvent, type AgentPreset, type AgentVerdict, type ProcessExit, type StreamParser } from '../preset.js';
import { resetFromField, resetFromText, saysRateLimited } from '../rate-limit.js';
import { addUsage, count, zeroUsage, type TokenUsage } from '../usage.js';

/** Anthropic's usage object → the four parts. */
export function anthropicUsage(value: unknown): TokenUsage {
  const usage = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return {
    input: count(usage.input_tokens),
    output: count(usage.output_tokens),
    cacheRead: count(usage.cache_read_input_tokens),
    cacheWrite: count(usage.cache_creation_input_tokens),
  };
}

/** Tool results that say the tool was refused (`-p` mode cannot ask the user). */
const DENIED = /requested permissions|haven't granted|permission (?:was )?denied|not allowed to use/i;

class ClaudeParser implements StreamParser {
  sessionId: string | undefined;
  lastText: string | undefined;
  /** Usage per message id: stream-json repeats a message's usage on each of its content blocks. */
  readonly perMessage = new Map<string, TokenUsage>();
  result: Record<string, unknown> | undefined;
  readonly denials: string[] = [];
  rejected: { resetsAt?: number; detail?: string } | undefined;
  errors: string[] = [];

  line(text: string): AgentEvent[] {
    const event = jsonObject(text);
    if (event === undefined) return text.trim() === '' ? [] : [{ type: 'text', text }];
    const events: AgentEvent[] = [];
    const session = stringAt(event, 'session_id');
    if (session !== undefined && session !== this.sessionId) {
      this.sessionId = session;
      const model = stringAt(event, 'model');
      events.push(model === undefined ? { type: 'session', sessionId: session } : { type: 'session', sessionId: session, model });
    }
    switch (event.type) {
      case 'assistant':
        this.#assistant(event, events);
        break;
      case 'user':
        this.#toolResults(event, events);
        break;
      case 'rate_limit_event':
        this.#rateLimit(event, events);
        break;
      case 'result':
        this.#result(event, events);
        break;
      default:
        break;
    }
    return events;
  }

  #assistant(event: Record<string, unknown>, events: AgentEvent[]): void {
    const message = objectAt(event, 'message');
    const content = message?.content;
    if (Array.isArray(content)) {
      for (const block of content as Record<string, unknown>[]) {
        if (block?.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') {
          this.lastText = block.text;
          events.push({ type: 'message', text: block.text });
        } else if (block?.type === 'tool_use' && typeof block.name === 'string') {
          const input = objectAt(block, 'input');
          const detail = stringAt(input, 'file_path') ?? stringAt(input, 'command') ?? stringAt(input, 'pattern');
          events.push(detail === undefined ? { type: 'tool', name: block.name } : { type: 'tool', name: block.name, detail });
        }
      }
    }
    const id = stringAt(message, 'id');
    if (message?.usage !== undefined && id !== undefined) {
      this.perMessage.set(id, anthropicUsage(message.usage));
      events.push({ type: 'usage', usage: this.#messageTotal() });
    }
    // An API error the CLI turned into an assistant message ("error": "rate_limit").
    const error = stringAt(event, 'error');
    if (error !== undefined && saysRateLimited(error)) {
      this.rejected ??= { detail: error };
      events.push({ type: 'rate-limit', status: 'rejected', detail: error });
    }
  }

  #toolResults(event: Record<string, unknown>, events: AgentEvent[]): void {
    const content = objectAt(event, 'message')?.content;
    if (!Array.isArray(content)) return;
    for (const block of content as Record<string, unknown>[]) {
      if (block?.type !== 'tool_result' || block.is_error !== true) continue;
      const said = typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '');
      if (DENIED.test(said)) {
        const tool = /use (\w+)/.exec(said)?.[1] ?? 'a tool';
        events.push({ type: 'permission-denied', tool, detail: tailOf(said, 300) });
      }
    }
  }

  #rateLimit(event: Record<string, unknown>, events: AgentEvent[]): void {
    const info = objectAt(event, 'rate_limit_info') ?? event;
    const status = stringAt(info, 'status') ?? 'allowed';
    const resetsAt = resetFromField(info.resetsAt ?? info.resets_at);
    const kind = stringAt(info, 'rateLimitType');
    const normalised = status === 'rejected' ? 'rejected' : status === 'allowed' ? 'allowed' : 'warning';
    const notice: AgentEvent = { type: 'rate-limit', status: normalised };
    if (resetsAt !== undefined) notice.resetsAt = resetsAt;
    if (kind !== undefined) notice.detail = kind;
    if (normalised === 'rejected') this.rejected = { ...(resetsAt === undefined ? {} : { resetsAt }), ...(kind === undefined ? {} : { detail: kind }) };
    events.push(notice);
  }

  #result(event: Record<string, unknown>, events: AgentEvent[]): void {
    this.result = event;
    const cost = event.total_cost_usd;
    const usage = event.usage === undefined ? this.#messageTotal() : anthropicUsage(event.usage);
    events.push(typeof cost === 'number' ? { type: 'usage', usage, costUsd: cost } : { type: 'usage', usage });
    const denials = event.permission_denials;
    if (Array.isArray(denials)) {
      for (const denial of denials as Record<string, unknown>[]) {
        const tool = stringAt(denial, 'tool_name') ?? 'a tool';
        this.denials.push(tool);
        events.push({ type: 'permission-denied', tool });
      }
    }
    if (event.is_error === true) {
      const said = stringAt(event, 'result') ?? stringAt(event, 'subtype') ?? 'error';
      events.push({ type: 'error', message: tailOf(said, 500) });
    }
  }

  #messageTotal(): TokenUsage {
    const total = zeroUsage();
    for (const usage of this.perMessage.values()) addUsage(total, usage);
    return total;
  }

  finish(exit: ProcessExit): AgentVerdict {
    const result = this.result;
    const usage = result?.usage === undefined ? this.#messageTotal() : anthropicUsage(result.usage);
    const verdict: AgentVerdict = { ok: false, usage, permissionDenials: [...this.denials] };
    const session = stringAt(result, 'session_id') ?? this.sessionId;
    if (session !== undefined) verdict.sessionId = session;
    if (result === undefined) {
      verdict.reason = `expected a final "result" event from claude, but ${describeExit(exit)} without one`;
      if (this.lastText !== undefined) verdict.message = this.lastText;
      if (this.rejected !== undefined) verdict.rateLimited = this.rejected;
      return verdict;
    }
    const text = stringAt(result, 'result');
    if (text !== undefined) verdict.message = text;
    else if (this.lastText !== undefined) verdict.message = this.lastText;
    if (typeof result.total_cost_usd === 'number') verdict.costUsd = result.total_cost_usd;
    if (typeof result.num_turns === 'number') verdict.turns = result.num_turns;
    if (typeof result.duration_api_ms === 'number') verdict.apiDurationMs = result.duration_api_ms;
    const subtype = stringAt(result, 'subtype') ?? 'success';
    if (result.is_error !== true && subtype === 'success') {
      verdict.ok = true;
      return verdict;
    }
    verdict.reason = `expected a "result" event with subtype "success" and is_error false, got subtype ${JSON.stringify(subtype)}${
      result.is_error === true ? ' with is_error true' : ''
    } (${describeExit(exit)}): ${tailOf(text ?? '', 600)}`;
    if (this.rejected !== undefined) verdict.rateLimited = this.rejected;
    else if (text !== undefined && saysRateLimited(text)) {
      const resetsAt = resetFromText(text, Date.now());
      verdict.rateLimited = { ...(resetsAt === undefined ? {} : { resetsAt }), detail: tailOf(text, 200) };
    }
    return verdict;
  }
}

/**
 * Claude Code. Extra arguments (`--model`, `--permission-mode acceptEdits`, `--allowedTools …`)
 * go before the prompt; a resumed run adds `--resume <session>`.
 */
export const claudePreset: AgentPreset = {
  name: 'claude',
  provider: 'anthropic',
  resumes: true,
  launch(context) {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', ...context.extraArgs];
    if (context.resumeSession !== undefined) args.push('--resume', context.resumeSession);
    // `--` ends the options: a task that starts with "-" is still the prompt.
    args.push('--', context.prompt);
    return { file: 'claude', args };
  },
  parser: () => new ClaudeParser(),
};
