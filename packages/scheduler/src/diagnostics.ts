/**
 * The diagnostics kit every package shares, so that every message reads the same way: what was
 * expected, what was got, and where. One value describer, one way to turn zod issues into
 * messages, one set of option checks for factories and one for command-line flags (the errors
 * that list several problems build on IssuesError, in errors.ts).
 */
import type { z } from 'zod';
import type { FanoutErrorOptions } from './errors.js';

/**
 * A short description of any value for a message: `null`, `undefined`, `the string "x"`,
 * `number 3`, `an array of 3`, `an object with keys a, b`. Long strings and long key lists are
 * cut, so a message stays one readable line whatever it is given.
 *
 * @example
 * `expected a list of operations, got ${describeValue(plan.operations)}`
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 60 ? `a string (${JSON.stringify(value.slice(0, 57))}…)` : `the string ${JSON.stringify(value)}`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      const keys = Object.keys(value as object);
      if (keys.length === 0) return 'an object with no keys';
      return `an object with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`;
    }
  }
}

/** Appends a path of keys to a dotted path: `operations[2]` + `["input", "paths", 0]` → `operations[2].input.paths[0]`. */
export function joinPath(base: string, steps: readonly PropertyKey[]): string {
  let out = base;
  for (const step of steps) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (typeof step === 'string' && /^[A-Za-z_$][\w$]*$/.test(step)) out += out === '' ? step : `.${step}`;
    else out += `[${JSON.stringify(String(step))}]`;
  }
  return out;
}

/** The value at a path of keys inside `root`, or undefined where the path leaves it. */
export function valueAt(root: unknown, steps: readonly PropertyKey[]): unknown {
  let current = root;
  for (const step of steps) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[step];
  }
  return current;
}

/** One problem found in a value: where (a dotted path) and what (expected … got …). */
export interface Diagnostic {
  path: string;
  message: string;
}

/**
 * Turns zod issues into messages that say what was expected, what was got and where. `root`
 * is the value that was parsed (to describe what was found), `base` the path of that value in
 * the larger document, and `allowedKeys` the keys to suggest when one is unknown.
 *
 * @example
 * const parsed = schema.safeParse(input);
 * if (!parsed.success) for (const d of describeZodIssues(parsed.error, input, 'operations[3].input')) console.log(d.path, d.message);
 */
export function describeZodIssues(error: z.ZodError, root: unknown, base = '', allowedKeys?: readonly string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of error.issues) {
    const got = valueAt(root, issue.path);
    switch (issue.code) {
      case 'invalid_type':
        out.push({ path: joinPath(base, issue.path), message: `expected ${issue.expected}, got ${describeValue(got)}` });
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const expected = allowedKeys === undefined ? '' : ` (expected one of: ${allowedKeys.join(', ')})`;
          out.push({ path: joinPath(base, [...issue.path, key]), message: `unknown field "${key}"${expected}` });
        }
        break;
      case 'invalid_union': {
        const why = issue.message && issue.message !== 'Invalid input' ? ` (${issue.message})` : '';
        out.push({ path: joinPath(base, issue.path), message: `${describeValue(got)} does not match any accepted form${why}` });
        break;
      }
      default:
        out.push({ path: joinPath(base, issue.path), message: `${issue.message.replace(/^Invalid input: /, '')}; got ${describeValue(got)}` });
    }
  }
  return out;
}

/** Any of the packages' error classes, as the option checks create them. */
export type OptionErrorClass = new (code: 'FANOUT_OPTION_INVALID', message: string, options: FanoutErrorOptions) => Error;

/** What {@link OptionCheck.integer} and {@link OptionCheck.number} accept. */
export interface RangeOptions {
  /** @default 1 for integers, 0 for numbers */
  min?: number;
  /** A strict lower bound instead of `min` ("a positive number" is `{ above: 0 }`). */
  above?: number;
  max?: number;
  /** Whether `Infinity` is accepted (for "no limit"). @default false */
  infinite?: boolean;
  /** What the number counts, for the message: `'milliseconds'` reads "a number of milliseconds ≥ 0". */
  unit?: string;
}

/**
 * The checks of a factory's options, each failing with `FANOUT_OPTION_INVALID` that names the
 * option, what was expected and what was got, thrown as the package's own error class.
 *
 * @example
 * const check = new OptionCheck(MonitorError, 'createMonitor');
 * const intervalMs = check.number(options.intervalMs, 'intervalMs', 1000, { min: 10 });
 */
export class OptionCheck {
  /** `owner` (a factory's name) prefixes each message when given. */
  constructor(
    readonly errorClass: OptionErrorClass,
    readonly owner?: string,
  ) {}

  /** Throws the error for the option at `path`. */
  invalid(path: string, expected: string, got: unknown): never {
    const shown = typeof got === 'number' || typeof got === 'boolean' ? String(got) : describeValue(got);
    throw new this.errorClass('FANOUT_OPTION_INVALID', `${this.owner === undefined ? '' : `${this.owner}: `}expected ${path} to be ${expected}, got ${shown}`, { path });
  }

  /** An integer in range (at least 1 unless `min` says otherwise), or `fallback` when undefined. */
  integer(value: unknown, path: string, fallback: number, range?: RangeOptions): number;
  integer(value: unknown, path: string, fallback?: undefined, range?: RangeOptions): number | undefined;
  integer(value: unknown, path: string, fallback?: number, range: RangeOptions = {}): number | undefined {
    if (value === undefined) return fallback;
    const min = range.min ?? 1;
    const ok = typeof value === 'number' && (Number.isInteger(value) || (range.infinite === true && value === Infinity)) && value >= min && (range.max === undefined || value <= range.max);
    if (!ok) this.invalid(path, `${min === 1 && range.max === undefined ? 'a positive integer' : `an integer ${rangeText(min, range.max)}`}${range.infinite === true ? ' (or Infinity)' : ''}`, value);
    return value;
  }

  /** A number in range (at least 0 unless `min` says otherwise; finite unless `infinite`), or `fallback` when undefined. */
  number(value: unknown, path: string, fallback: number, range?: RangeOptions): number;
  number(value: unknown, path: string, fallback?: undefined, range?: RangeOptions): number | undefined;
  number(value: unknown, path: string, fallback?: number, range: RangeOptions = {}): number | undefined {
    if (value === undefined) return fallback;
    const min = range.min ?? 0;
    const low = range.above === undefined ? typeof value === 'number' && value >= min : typeof value === 'number' && value > range.above;
    const ok = typeof value === 'number' && (Number.isFinite(value) || (range.infinite === true && value === Infinity)) && low && (range.max === undefined || value <= range.max);
    if (!ok) this.invalid(path, numberText(min, range), value);
    return value;
  }

  /** A boolean, or `fallback` when undefined. */
  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.invalid(path, 'true or false', value);
    return value;
  }
}

function numberText(min: number, range: RangeOptions): string {
  const of = range.unit === undefined ? '' : ` of ${range.unit}`;
  if (range.above === undefined) return `a number${of} ${rangeText(min, range.max)}`;
  const upTo = range.max === undefined ? '' : ` up to ${range.max}`;
  return range.above === 0 ? `a positive number${of}${upTo}` : `a number${of} > ${range.above}${upTo}`;
}

function rangeText(min: number, max: number | undefined): string {
  return max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
}

/** What {@link FlagCheck.duration} multiplies each unit by. */
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The checks of command-line flag values (text), shared by the apps so that every command reads
 * numbers and durations the same way. Each failure is `usageError(message)`: the app's own
 * usage error (exit 2), with a message that names the flag and quotes what was given.
 *
 * @example
 * const flags = new FlagCheck((message) => new UsageError(message));
 * const jobs = flags.integer(values.jobs, '--jobs'); // undefined when not given
 */
/** The flags of a node:util `parseArgs` options object as typed: `--name` and `-x`. */
function flagNames(options: Readonly<Record<string, { readonly type: string; readonly short?: string | undefined }>>): string[] {
  const names: string[] = [];
  for (const [name, option] of Object.entries(options)) {
    names.push(`--${name}`);
    if (option.short !== undefined) names.push(`-${option.short}`);
  }
  return names;
}

/** Edits between `a` and `b`: insertions, deletions, substitutions and swaps of two neighbours (`--prot` is one from `--port`). */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) next[j] = Math.min(next[j]!, before[j - 2]! + 1);
    }
    before = row;
    row = next;
  }
  return row[b.length]!;
}

/** The long flag of `options` that `typed` most likely meant (a typo, or a prefix of 4 or more characters), if any. */
function closestFlag(typed: string, options: Readonly<Record<string, { readonly type: string; readonly short?: string | undefined }>>): string | undefined {
  const name = typed.split('=')[0]!;
  let best: { flag: string; edits: number } | undefined;
  for (const flag of flagNames(options)) {
    if (!flag.startsWith('--')) continue;
    const edits = flag.startsWith(name) && name.length >= 4 ? 0 : distance(name, flag);
    if (edits <= Math.max(1, Math.floor(flag.length / 4)) && (best === undefined || edits < best.edits)) best = { flag, edits };
  }
  return best?.flag;
}

export class FlagCheck {
  constructor(readonly usageError: (message: string) => Error) {}

  /**
   * The usage error for what node:util's `parseArgs` threw over `options`, in the kit's form:
   * what was expected, what was got, and the nearest flag for a typo. Its own messages name
   * the argument in quotes (`Unknown option '--frob'`); its `code` says which case.
   *
   * @example
   * try { parseArgs({ args, options, strict: true }) } catch (error) { throw flags.parseError(error as Error, options) }
   * // expected one of this command's flags, got "--concurency" (did you mean --concurrency?)
   */
  parseError(error: Error, options: Readonly<Record<string, { readonly type: string; readonly short?: string | undefined }>>): Error {
    const quoted = /'([^']*)'/.exec(error.message)?.[1];
    switch ((error as { code?: unknown }).code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const got = quoted ?? error.message;
        const suggestion = closestFlag(got, options);
        return this.usageError(`expected one of this command's flags, got ${JSON.stringify(got)}${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}`);
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
        // `Option '-j, --concurrency <value>' argument missing`, or `Option '-h, --help' does not take an argument`.
        const flag = /--[\w-]+/.exec(quoted ?? '')?.[0] ?? quoted ?? 'a flag';
        if (/does not take an argument/.test(error.message)) return this.usageError(`expected ${flag} without a value (it is a switch), got a value for it`);
        return this.usageError(`expected a value after ${flag}, got none`);
      }
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        return this.usageError(`expected only flags, got the argument ${JSON.stringify(quoted ?? error.message)}`);
      default:
        return this.usageError(error.message.replace(/\. To specify a positional argument.*$/s, ''));
    }
  }

  /** An integer of at least `min` (1 unless given), or undefined when the flag was not given. */
  integer(value: string | undefined, flag: string, min = 1): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) {
      throw this.usageError(`expected ${flag} to be ${min === 1 ? 'a positive integer' : `an integer ≥ ${min}`}, got ${JSON.stringify(value)}`);
    }
    return n;
  }

  /** A finite number above 0, or undefined when the flag was not given. */
  positiveNumber(value: string | undefined, flag: string): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !(Number.isFinite(n) && n > 0)) throw this.usageError(`expected ${flag} to be a positive number, got ${JSON.stringify(value)}`);
    return n;
  }

  /**
   * A duration in milliseconds: "500ms", "30s", "2m", "1h", or a bare number, which is seconds
   * (as GNU parallel's --timeout reads it); undefined when the flag was not given.
   */
  duration(value: string | undefined, flag: string): number | undefined {
    if (value === undefined) return undefined;
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (match === null) throw this.usageError(`expected ${flag} to be a duration like 500ms, 30s or 2m, got ${JSON.stringify(value)}`);
    return Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
  }
}
