/**
 * The flags of `fanout grep` and the grep input they make, without zod or the scheduler:
 * the command builds its operation's input here, and so does the launcher when it starts
 * `rg` before loading the command (`early-grep.ts`), so that both build the same one.
 */
import type { parseArgs } from 'node:util';
import { flags, positiveInt, type Options } from './args.js';

/** The flags of `fanout grep`. */
export const GREP_FLAGS = {
  'ignore-case': { type: 'boolean', short: 'i' },
  'smart-case': { type: 'boolean', short: 'S' },
  'word-regexp': { type: 'boolean', short: 'w' },
  'fixed-strings': { type: 'boolean', short: 'F' },
  'line-number': { type: 'boolean', short: 'n' },
  'no-line-number': { type: 'boolean', short: 'N' },
  count: { type: 'boolean', short: 'c' },
  'files-with-matches': { type: 'boolean', short: 'l' },
  context: { type: 'string', short: 'C' },
  after: { type: 'string', short: 'A' },
  before: { type: 'string', short: 'B' },
  'max-count': { type: 'string', short: 'm' },
  glob: { type: 'string', short: 'g', multiple: true },
  hidden: { type: 'boolean' },
  'no-ignore': { type: 'boolean' },
  follow: { type: 'boolean', short: 'L' },
  json: { type: 'boolean' },
  engine: { type: 'string' },
  config: { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** The values of {@link GREP_FLAGS} as parsed. */
export type GrepFlagValues = ReturnType<typeof parseArgs<{ options: typeof GREP_FLAGS; allowPositionals: true; strict: true; args: string[] }>>['values'];

function nonNegative(value: string | undefined, flag: string): number | undefined {
  return flags.integer(value, flag, 0);
}

/**
 * The input of the grep operation `fanout grep` runs. Throws a usage error naming a flag
 * whose value is bad.
 */
export function grepInput(values: GrepFlagValues, pattern: string, paths: readonly string[]) {
  const include: string[] = [];
  const exclude: string[] = [];
  for (const glob of values.glob ?? []) (glob.startsWith('!') ? exclude : include).push(glob.startsWith('!') ? glob.slice(1) : glob);
  const mode: 'content' | 'count' | 'files' = values.count === true ? 'count' : values['files-with-matches'] === true ? 'files' : 'content';
  const maxCount = positiveInt(values['max-count'], '--max-count');
  const context = nonNegative(values.context, '--context');
  const after = nonNegative(values.after, '--after-context');
  const before = nonNegative(values.before, '--before-context');
  return {
    pattern,
    paths: paths.length === 0 ? ['.'] : [...paths],
    mode,
    ignoreCase: values['ignore-case'] === true,
    smartCase: values['smart-case'] === true,
    word: values['word-regexp'] === true,
    fixedStrings: values['fixed-strings'] === true,
    include,
    exclude,
    hidden: values.hidden === true,
    ignore: values['no-ignore'] !== true,
    gitignore: values['no-ignore'] !== true,
    followSymlinks: values.follow === true,
    // A person asked for every match: the caps are for plans, not for this. (Count and files
    // modes have no match cap by default; setting one would make them keep each line's count.)
    ...(mode === 'content' ? { maxMatches: 1_000_000_000 } : {}),
    maxOutputBytes: 1024 * 1024 * 1024,
    maxCount,
    context,
    after,
    before,
  };
}
