/**
 * Fitting a rendering into its budget, the way `@fanout/aggregate` fits a report: if the
 * whole view fits, that is it; otherwise the largest share of every list that fits is found
 * by bisection on the rendering's length (a dozen renderings), failures first to stay, the
 * operations list first to go. Lengths are measured as a client shows them: some clients
 * hand the model `JSON.stringify(structuredContent)`, so a character that JSON escapes
 * counts twice.
 */
import type { TextView } from './render.js';

/** The length of `text` inside a JSON string. */
export function jsonLength(text: string): number {
  return JSON.stringify(text).length;
}

/** Every list of `full` cut to a share `s` in [0, 1]. */
export function scaleView(full: TextView, s: number): TextView {
  const part = (count: number, share: number): number => Math.min(count, Math.ceil(count * share));
  return {
    entries: part(full.entries, s),
    heads: part(full.heads, Math.sqrt(s)),
    headLines: part(full.headLines, s),
    operations: part(full.operations, s * s),
    problems: part(full.problems, Math.sqrt(s)),
  };
}

/** A fitted rendering. */
export interface Fitted {
  text: string;
  view: TextView;
  /** False when even the smallest view was too long and the text was cut at the budget. */
  fits: boolean;
}

/**
 * The largest view of `render` whose text is at most `limit` long (measured by `measure`).
 * Call only when the full view does not fit. When nothing fits, the smallest view is cut at
 * the limit and ends with `tail`.
 */
export function fitView(render: (view: TextView) => string, full: TextView, limit: number, tail: string, measure: (text: string) => number = jsonLength): Fitted {
  const smallest = scaleView(full, 0);
  let best = render(smallest);
  if (measure(best) > limit) {
    const room = Math.max(0, limit - measure(tail) - 2);
    let cut = best.slice(0, room);
    // JSON escapes make a character count more than one: shrink until the measure agrees.
    while (cut.length > 0 && measure(cut) > room) cut = cut.slice(0, Math.floor(cut.length * 0.9));
    const line = cut.lastIndexOf('\n');
    return { text: `${line > 0 ? cut.slice(0, line) : cut}\n${tail}`, view: smallest, fits: false };
  }
  let bestView = smallest;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 14; i++) {
    const mid = (lo + hi) / 2;
    const view = scaleView(full, mid);
    const text = render(view);
    if (measure(text) <= limit) {
      lo = mid;
      best = text;
      bestView = view;
    } else {
      hi = mid;
    }
  }
  return { text: best, view: bestView, fits: true };
}
