/**
 * opencode headless: `opencode run --format json -- <prompt>`. Every JSON line has a `type`
 * (`step_start`, `text`, `tool_use`, `step_finish`, `error`), the `sessionID` and a `part`;
 * each `step_finish` carries that step's tokens and cost, which add up to the run's.
 */
import { describeExit, jsonObject, objectAt, stringAt, tailOf, type AgentEvent, type AgentPreset, type AgentVerdict, type ProcessExit, type StreamParser } from '../preset.js';
import { resetFromText, saysRateLimited } from '../rate-limit.js';
import { count, zeroUsage, type TokenUsage } from '../usage.js';

/** Tool errors that say the tool was refused. */
const DENIED = /permission|not allowed|denied/i;

class OpencodeParser implements StreamParser {
  sessionId: string | undefined;
  lastMessage: string | undefined;
  readonly usage: TokenUsage = zeroUsage();
  cost = 0;
  steps = 0;
  finishReason: string | undefined;
  error: string | undefined;
  readonly denials: string[] = [];
  rateLimited: { resetsAt?: number; detail?: string } | undefined;

  line(text: string): AgentEvent[] {
    const event = jsonObject(text);
    if (event === undefined) return text.trim() === '' ? [] : [{ type: 'text', text }];
    const events: AgentEvent[] = [];
    const part = objectAt(event, 'part');
    const session = stringAt(event, 'sessionID') ?? stringAt(part, 'sessionID');
    if (session !== undefined && session !== this.sessionId) {
      this.sessionId = session;
      events.push({ type: 'session', sessionId: session });
    }
    switch (event.type) {
      case 'text': {
        const said = stringAt(part, 'text');
        if (said !== undefined && said.trim() !== '') {
          this.lastMessage = said;
          events.push({ type: 'message', text: said });
        }
        break;
      }
      case 'tool_use': {
        const tool = stringAt(part, 'tool') ?? 'tool';
        const state = objectAt(part, 'state');
        events.push({ type: 'tool', name: tool });
        const error = stringAt(state, 'error');
        if (stringAt(state, 'status') === 'error' && error !== undefined && DENIED.test(error)) {
          this.denials.push(tool);
          events.push({ type: 'permission-denied', tool, detail: tailOf(error, 300) });
        }
        break;
      }
      case 'step_finish': {
        this.steps++;
        const tokens = objectAt(part, 'tokens');
        const cache = objectAt(tokens, 'cache');
        // Reasoning tokens are billed as output.
        this.usage.input += count(tokens?.input);
        this.usage.output += count(tokens?.output) + count(tokens?.reasoning);
        this.usage.cacheRead += count(cache?.read);
        this.usage.cacheWrite += count(cache?.write);
        this.cost += count(part?.cost);
        this.finishReason = stringAt(part, 'reason') ?? this.finishReason;
        events.push({ type: 'usage', usage: { ...this.usage }, costUsd: this.cost });
        break;
      }
      case 'error': {
        const error = objectAt(event, 'error');
        const message = stringAt(objectAt(error, 'data'), 'message') ?? stringAt(error, 'message') ?? stringAt(error, 'name') ?? 'error';
        this.error = message;
        events.push({ type: 'error', message: tailOf(message, 500) });
        if (saysRateLimited(message)) {
          const resetsAt = resetFromText(message, Date.now());
          this.rateLimited = { ...(resetsAt === undefined ? {} : { resetsAt }), detail: tailOf(message, 200) };
          events.push(resetsAt === undefined ? { type: 'rate-limit', status: 'rejected', detail: message } : { type: 'rate-limit', status: 'rejected', resetsAt, detail: message });
        }
        break;
      }
      default:
        break;
    }
    return events;
  }

  finish(exit: ProcessExit): AgentVerdict {
    const verdict: AgentVerdict = { ok: false, usage: { ...this.usage }, costUsd: this.cost, permissionDenials: [...this.denials], turns: this.steps };
    if (this.sessionId !== undefined) verdict.sessionId = this.sessionId;
    if (this.lastMessage !== undefined) verdict.message = this.lastMessage;
    if (this.error !== undefined) {
      verdict.reason = `opencode reported an error (${describeExit(exit)}): ${tailOf(this.error, 600)}`;
      if (this.rateLimited !== undefined) verdict.rateLimited = this.rateLimited;
    } else if (exit.exitCode !== 0) {
      verdict.reason = `expected opencode to exit with 0, but ${describeExit(exit)}`;
    } else if (this.steps === 0) {
      verdict.reason = 'expected at least one "step_finish" event from opencode, got none';
    } else {
      verdict.ok = true;
    }
    return verdict;
  }
}

/** opencode (`opencode run`). A resumed run adds `--session <id>`. */
export const opencodePreset: AgentPreset = {
  name: 'opencode',
  provider: 'opencode',
  resumes: true,
  launch(context) {
    const args = ['run', '--format', 'json', ...context.extraArgs];
    if (context.resumeSession !== undefined) args.push('--session', context.resumeSession);
    args.push('--', context.prompt);
    return { file: 'opencode', args };
  },
  parser: () => new OpencodeParser(),
};
