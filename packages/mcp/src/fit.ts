/**
 * Fitting a rendering into its budget, the way `@fanout/aggregate` fits a report: if the
 * whole view fits, that is it; otherwise the largest share of every list that fits is found
 * by bisection on the rendering's length (a dozen renderings), failures first to stay, the
 * operations list first to go. Lengths are measured as a client shows them: some clients
 * hand the model `JSON.stringify(structuredContent)`, so a character that JSON escapes
 * counts twice.
 */
import type { TextView } from './render.js';

/** Characters JSON writes with a two-character escape. */
const COMMON = ['\n', '"', '\\', '\t', '\r', '\b', '\f'];
/** Characters JSON writes as `\uXXXX` (other control characters, surrogates). */
const RARE = /[\u0000-\u0007\u000b\u000e-\u001f\ud800-\udfff]/;

/**
 * The length of `text` as a JSON string (`JSON.stringify(text).length`), counted without
 * building it: a fitting measures a dozen renderings of a large text.
 */
export function jsonLength(text: string): number {
  let length = text.length + 2;
  // Most text has only quotes, backslashes and the common control characters: `indexOf`
  // finds each of those natively and allocates nothing (a global regular expression's
  // `exec` makes an array per match, tens of thousands for a report of file contents, and
  // the garbage costs more than the scan); the loop below handles the rare rest.
  if (!RARE.test(text)) {
    for (const c of COMMON) for (let at = text.indexOf(c); at !== -1; at = text.indexOf(c, at + 1)) length++;
    return length;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff)) continue;
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) length += 1;
    else if (c < 0x20) length += 5;
    else if (c <= 0xdbff && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) <= 0xdfff) i++;
    else length += 5; // a lone surrogate is written \udXXX
  }
  return length;
}

/** Levels of arrays and plain objects {@link jsonValueLength} walks before it writes what is below. */
const WALKED_LEVELS = 3;

/**
 * `JSON.stringify(value)?.length`, without writing `value` whole: arrays and plain objects
 * of the first levels are walked and only their members are written, one at a time. An
 * operation's output can be most of an answer (a read of 200 files: 700 KB as JSON); writing
 * it whole only to count it made a large string, fresh memory for a moment's use, a cost of
 * its own beside the time. What holds a member with a `toJSON` is written whole (`toJSON`
 * is given the member's key, which writing the member alone would not give it).
 */
export function jsonValueLength(value: unknown, levels = WALKED_LEVELS): number | undefined {
  // A string is counted, not written: `JSON.stringify` of a string alone copies it escaped
  // (a read's file contents: most of its output), and counting was about twice as fast.
  if (typeof value === 'string') return jsonLength(value);
  if (levels === 0 || value === null || typeof value !== 'object' || hasToJSON(value)) return JSON.stringify(value)?.length;
  if (Array.isArray(value)) {
    if (value.some(hasToJSON)) return JSON.stringify(value).length;
    // `[` `]`, commas, and `null` for what JSON cannot write in an array.
    let length = 2 + Math.max(0, value.length - 1);
    for (const item of value) length += jsonValueLength(item, levels - 1) ?? 4;
    return length;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return JSON.stringify(value)?.length;
  const keys = Object.keys(value);
  const members = keys.map((key) => (value as Record<string, unknown>)[key]);
  if (members.some(hasToJSON)) return JSON.stringify(value)?.length;
  let length = 2;
  let written = 0;
  for (const [i, key] of keys.entries()) {
    const member = jsonValueLength(members[i], levels - 1);
    if (member === undefined) continue; // undefined, functions and symbols are left out
    length += jsonLength(key) + 1 + member;
    written++;
  }
  return length + Math.max(0, written - 1);
}

function hasToJSON(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * Whether `text` as a JSON string is at most `limit` long, measured only when its length
 * alone does not decide: no character takes more than six (`\uXXXX`), so a text a sixth of
 * the limit fits unmeasured (a large budget holding a large report), and one longer than
 * the limit does not.
 */
export function jsonFits(text: string, limit: number, measure: (text: string) => number = jsonLength): boolean {
  if (text.length + 2 > limit) return false;
  if (6 * text.length + 2 <= limit) return true;
  return measure(text) <= limit;
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
  // The length bounds of jsonFits hold for JSON lengths only.
  const fits = (text: string): boolean => (measure === jsonLength ? jsonFits(text, limit) : measure(text) <= limit);
  const smallest = scaleView(full, 0);
  let best = render(smallest);
  if (!fits(best)) {
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
  // Ten halvings find the share within 0.1%: finer does not change what a model reads.
  for (let i = 0; i < 10; i++) {
    const mid = (lo + hi) / 2;
    const view = scaleView(full, mid);
    const text = render(view);
    if (fits(text)) {
      lo = mid;
      best = text;
      bestView = view;
    } else {
      hi = mid;
    }
  }
  return { text: best, view: bestView, fits: true };
}
