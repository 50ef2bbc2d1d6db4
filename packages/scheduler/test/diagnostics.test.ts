import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseArgs } from 'node:util';
import { describeValue, describeZodIssues, FlagCheck, joinPath, OptionCheck, valueAt } from '../src/diagnostics.js';
import { FanoutError, IssuesError } from '../src/errors.js';

describe('describeValue', () => {
  it('names every kind of value in one short line', () => {
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue('x')).toBe('the string "x"');
    expect(describeValue(3)).toBe('number 3');
    expect(describeValue(false)).toBe('boolean false');
    expect(describeValue(10n)).toBe('bigint 10');
    expect(describeValue([1, 2, 3])).toBe('an array of 3');
    expect(describeValue({})).toBe('an object with no keys');
    expect(describeValue({ a: 1, b: 2 })).toBe('an object with keys a, b');
    expect(describeValue(() => 0)).toBe('a function');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
  });

  it('cuts long strings and long key lists', () => {
    const long = describeValue('y'.repeat(500));
    expect(long.length).toBeLessThan(80);
    expect(long).toMatch(/^a string \("y{57}"…\)$/);
    const keys = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
    expect(describeValue(keys)).toBe('an object with keys k0, k1, k2, k3, k4, k5, …');
  });
});

describe('paths', () => {
  it('joins keys as a reader writes them: dots for names, brackets for indexes and odd keys', () => {
    expect(joinPath('operations[2]', ['input', 'paths', 0])).toBe('operations[2].input.paths[0]');
    expect(joinPath('', ['roots', 1])).toBe('roots[1]');
    expect(joinPath('env', ['a-b', 'ok'])).toBe('env["a-b"].ok');
  });

  it('finds the value at a path, or undefined where the path leaves the value', () => {
    const root = { a: { b: [10, { c: 'x' }] } };
    expect(valueAt(root, ['a', 'b', 1, 'c'])).toBe('x');
    expect(valueAt(root, ['a', 'b', 0, 'c'])).toBeUndefined();
    expect(valueAt(root, ['nope', 'deeper'])).toBeUndefined();
  });
});

describe('describeZodIssues', () => {
  const schema = z.strictObject({ concurrency: z.number(), mode: z.union([z.literal('a'), z.literal('b')]), name: z.string().min(2) });

  it('says what was expected, what was got and where, for each issue', () => {
    const input = { concurrency: 'many', mode: 7, name: 'x', extra: true };
    const parsed = schema.safeParse(input);
    expect(parsed.success).toBe(false);
    if (parsed.success) return;
    const problems = describeZodIssues(parsed.error, input, 'config', ['concurrency', 'mode', 'name']);
    expect(problems).toContainEqual({ path: 'config.concurrency', message: 'expected number, got the string "many"' });
    expect(problems).toContainEqual({ path: 'config.extra', message: 'unknown field "extra" (expected one of: concurrency, mode, name)' });
    const mode = problems.find((p) => p.path === 'config.mode');
    expect(mode?.message).toMatch(/number 7/);
    const name = problems.find((p) => p.path === 'config.name');
    expect(name?.message).toMatch(/got the string "x"$/);
  });
});

describe('OptionCheck', () => {
  class PackageError extends FanoutError<'FANOUT_OPTION_INVALID'> {}
  const check = new OptionCheck(PackageError, 'thing');

  function thrown(run: () => unknown): PackageError {
    try {
      run();
    } catch (error) {
      return error as PackageError;
    }
    throw new Error('expected the check to throw');
  }

  it('passes good values through and gives the fallback for undefined', () => {
    expect(check.integer(undefined, 'limit', 4)).toBe(4);
    expect(check.integer(7, 'limit', 4)).toBe(7);
    expect(check.integer(Infinity, 'limit', 4, { infinite: true })).toBe(Infinity);
    expect(check.number(0, 'delayMs', 5, { min: 0 })).toBe(0);
    expect(check.number(undefined, 'delayMs')).toBeUndefined();
    expect(check.boolean(undefined, 'flag', true)).toBe(true);
  });

  it('throws the package’s own error class, with the option’s path, what was expected and what was got', () => {
    const error = thrown(() => check.integer(0, 'limit', 4));
    expect(error).toBeInstanceOf(PackageError);
    expect(error.code).toBe('FANOUT_OPTION_INVALID');
    expect(error.message).toBe('thing: expected limit to be a positive integer, got 0');
    expect(thrown(() => check.integer(2.5, 'limit', 4, { min: 0, max: 10 })).message).toBe('thing: expected limit to be an integer from 0 to 10, got 2.5');
    expect(thrown(() => check.integer(-1, 'limit', 4, { min: 0, infinite: true })).message).toBe('thing: expected limit to be an integer ≥ 0 (or Infinity), got -1');
    expect(thrown(() => check.number(-1, 'killGraceMs', 0, { min: 0, unit: 'milliseconds' })).message).toBe('thing: expected killGraceMs to be a number of milliseconds ≥ 0, got -1');
    expect(thrown(() => check.number(0, 'ratio', 1, { above: 0, max: 1 })).message).toBe('thing: expected ratio to be a positive number up to 1, got 0');
    expect(thrown(() => check.number(Number.NaN, 'ratio', 1)).message).toBe('thing: expected ratio to be a number ≥ 0, got NaN');
    expect(thrown(() => check.boolean('yes', 'flag', true)).message).toBe('thing: expected flag to be true or false, got the string "yes"');
  });

  it('leaves the owner out when none is given', () => {
    const bare = new OptionCheck(PackageError);
    expect(thrown(() => bare.integer('3', 'limit', 1)).message).toBe('expected limit to be a positive integer, got the string "3"');
  });
});

describe('IssuesError', () => {
  it('lists every issue on a line of its own under one summary, and keeps them for callers', () => {
    const issues = [
      { path: 'a', message: 'expected x, got y' },
      { path: 'b[0]', message: 'expected z, got w' },
    ];
    class ListError extends IssuesError<'FANOUT_CONFIG_INVALID', { path: string; message: string }> {}
    const error = new ListError('FANOUT_CONFIG_INVALID', 'The thing', issues, (issue) => `${issue.path}: ${issue.message}`);
    expect(error.code).toBe('FANOUT_CONFIG_INVALID');
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe('The thing has 2 problems:\n  - a: expected x, got y\n  - b[0]: expected z, got w');
    const many = new ListError(
      'FANOUT_CONFIG_INVALID',
      'The thing',
      Array.from({ length: 23 }, (_, i) => ({ path: `p${i}`, message: 'm' })),
      (issue) => issue.path,
    );
    expect(many.message.split('\n')).toHaveLength(22);
    expect(many.message).toMatch(/… and 3 more$/);
  });
});

describe('FlagCheck', () => {
  class Usage extends Error {}
  const flags = new FlagCheck((message) => new Usage(message));

  it('reads integers, positive numbers and durations from flag text, undefined when not given', () => {
    expect(flags.integer(undefined, '--jobs')).toBeUndefined();
    expect(flags.integer('16', '--jobs')).toBe(16);
    expect(flags.integer('0', '--context', 0)).toBe(0);
    expect(flags.positiveNumber('0.5', '--budget-usd')).toBe(0.5);
    expect(flags.duration('500ms', '--timeout')).toBe(500);
    expect(flags.duration('30s', '--timeout')).toBe(30_000);
    expect(flags.duration('2m', '--timeout')).toBe(120_000);
    expect(flags.duration('1h', '--timeout')).toBe(3_600_000);
    expect(flags.duration('1.5', '--timeout')).toBe(1500);
    expect(flags.duration(undefined, '--timeout')).toBeUndefined();
  });

  it('fails with the app’s usage error, naming the flag and quoting what was given', () => {
    expect(() => flags.integer('0', '--jobs')).toThrow(new Usage('expected --jobs to be a positive integer, got "0"'));
    expect(() => flags.integer('', '--jobs')).toThrow(Usage);
    expect(() => flags.integer('2.5', '--port', 0)).toThrow('expected --port to be an integer ≥ 0, got "2.5"');
    expect(() => flags.integer('1e400', '--port', 0)).toThrow(Usage);
    expect(() => flags.positiveNumber('-1', '--budget-usd')).toThrow('expected --budget-usd to be a positive number, got "-1"');
    expect(() => flags.duration('soon', '--grace')).toThrow('expected --grace to be a duration like 500ms, 30s or 2m, got "soon"');
    expect(() => flags.duration('-5s', '--grace')).toThrow(Usage);
  });

  it('turns what node:util parseArgs throws into expected/got, with the nearest flag for a typo', () => {
    const options = { concurrency: { type: 'string', short: 'j' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;
    const parsed = (args: string[]): Error => {
      try {
        parseArgs({ args, options, strict: true, allowPositionals: false });
      } catch (error) {
        return flags.parseError(error as Error, options);
      }
      throw new Error(`expected parseArgs to refuse ${args.join(' ')}`);
    };
    const cases: Array<[string[], string]> = [
      [['--concurency', '4'], 'expected one of this command\'s flags, got "--concurency" (did you mean --concurrency?)'],
      [['--dry'], 'expected one of this command\'s flags, got "--dry" (did you mean --dry-run?)'],
      [['--frobnicate'], 'expected one of this command\'s flags, got "--frobnicate"'],
      [['--dyr-run'], 'expected one of this command\'s flags, got "--dyr-run" (did you mean --dry-run?)'],
      [['-x'], 'expected one of this command\'s flags, got "-x"'],
      [['-j'], 'expected a value after --concurrency, got none'],
      [['--help=yes'], 'expected --help without a value (it is a switch), got a value for it'],
      [['plan.json'], 'expected only flags, got the argument "plan.json"'],
    ];
    for (const [args, message] of cases) {
      const error = parsed(args);
      expect(error, args.join(' ')).toBeInstanceOf(Usage);
      expect(error.message, args.join(' ')).toBe(message);
    }
  });
});
