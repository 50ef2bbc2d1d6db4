/**
 * Agents without an event stream (aider, a `--command` of your own): each line of standard
 * output is text, the final message is what it printed last, success is exit status 0, and
 * what it did is read from git afterwards. An API error printed as text ("RateLimitError",
 * "429") still pauses the provider.
 */
import { describeExit, tailOf, type AgentEvent, type AgentVerdict, type ProcessExit, type StreamParser } from '../preset.js';
import { resetFromText, saysRateLimited } from '../rate-limit.js';
import { zeroUsage } from '../usage.js';

/** Lines kept for the final message. */
const KEPT_LINES = 40;

/** A parser for plain-text output. */
export function textParser(program: string): StreamParser {
  const recent: string[] = [];
  let rateLimited: { resetsAt?: number; detail?: string } | undefined;
  return {
    line(text: string): AgentEvent[] {
      if (text.trim() === '') return [];
      recent.push(text);
      if (recent.length > KEPT_LINES) recent.shift();
      if (!saysRateLimited(text)) return [{ type: 'text', text }];
      const resetsAt = resetFromText(text, Date.now());
      rateLimited = { ...(resetsAt === undefined ? {} : { resetsAt }), detail: tailOf(text, 200) };
      return [{ type: 'text', text }, resetsAt === undefined ? { type: 'rate-limit', status: 'rejected', detail: text } : { type: 'rate-limit', status: 'rejected', resetsAt, detail: text }];
    },
    finish(exit: ProcessExit): AgentVerdict {
      const verdict: AgentVerdict = { ok: exit.exitCode === 0, usage: zeroUsage(), permissionDenials: [] };
      if (recent.length > 0) verdict.message = tailOf(recent.join('\n'));
      if (!verdict.ok) {
        verdict.reason = `expected ${program} to exit with 0, but ${describeExit(exit)}`;
        if (rateLimited !== undefined) verdict.rateLimited = rateLimited;
      }
      return verdict;
    },
  };
}
