/**
 * Rate limits said in words. Some CLIs give a structured reset time (Claude's
 * `rate_limit_event`); others only print an API error ("429 Too Many Requests", Anthropic's
 * "529 overloaded", "usage limit reached, try again in 2 hours"). These recognise them, and
 * read a reset time out of the text when there is one.
 */

/** Text that means the provider refused for load or quota (HTTP 429 and 529, and how CLIs word them). */
const RATE_LIMITED = /\b(?:429|529)\b|rate[ _-]?limit(?:ed)?\b|overloaded|too many requests|usage limit|quota exceeded|hit your limit/i;

/** Whether `text` reports a rate limit or an overloaded provider. */
export function saysRateLimited(text: string): boolean {
  return RATE_LIMITED.test(text);
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** "2 hours 5 minutes", "3d 2h", "90 seconds", "1.5h" → milliseconds; undefined when nothing is read. */
function durationMs(text: string): number | undefined {
  let total = 0;
  let found = false;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\b/gi)) {
    const unit = match[2]!.toLowerCase()[0]!;
    total += Number(match[1]) * UNIT_MS[unit]!;
    found = true;
  }
  return found ? total : undefined;
}

/**
 * When a rate limit said in `text` lifts, as epoch milliseconds: "try again in 2 hours",
 * "retry after 30 seconds", "Retry-After: 20", "resets at 1767225600" (epoch seconds).
 * Undefined when the text does not say.
 */
export function resetFromText(text: string, now: number): number | undefined {
  const relative = /(?:try again|retry|resets?)\s+(?:in|after)\s+([^.;\n]+)/i.exec(text);
  if (relative !== null) {
    const ms = durationMs(relative[1]!);
    if (ms !== undefined) return now + ms;
  }
  const header = /retry-after:?\s*(\d+)\b/i.exec(text);
  if (header !== null) return now + Number(header[1]) * 1000;
  const epoch = /resets?(?:_at|At| at)?\W{0,3}(\d{10})\b/.exec(text);
  if (epoch !== null) return Number(epoch[1]) * 1000;
  return undefined;
}

/**
 * A reset time from a CLI's field: epoch seconds (what Claude's `resetsAt` carries), epoch
 * milliseconds, or an ISO date. Undefined for anything else.
 */
export function resetFromField(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e11 ? value * 1000 : value;
  if (typeof value === 'string') {
    if (/^\d+$/.test(value)) return resetFromField(Number(value));
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}
