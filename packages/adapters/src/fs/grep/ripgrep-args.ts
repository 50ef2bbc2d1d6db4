/**
 * The command line of one `rg` run, built only from the validated fields of a grep input —
 * never from user-supplied flags (ripgrep's `--pre` runs a program): each value travels in
 * the `--flag=value` form or after `--`, so a pattern or glob starting with `-` stays a value;
 * `--no-config` keeps `RIPGREP_CONFIG_PATH` from adding flags of its own.
 *
 * The flags make ripgrep search what the built-in engine searches, in its order:
 * - `--sort path`: the walk order of the built-in engine (`walk.ts`), deterministic, for
 *   content searches and runs over several targets: it makes ripgrep search on one thread, but
 *   only this order lets results stream in order and a cap stop ripgrep at once. A count or
 *   files search of one directory ({@link unsortedRun}) runs without it, on every core, and
 *   the engine puts its files in the walk's order when ripgrep is done (`ripgrep.ts`): its
 *   output is a line or two per file, and on 2 cores the parallel walk took a 2,400-file
 *   repository's count from 57 to 36 ms (same run, 20 runs each).
 * - the case decision of the built-in engine (smart case, a leading `(?i)`), passed as
 *   `--ignore-case` or `--case-sensitive`, so both agree on what "has an upper-case letter" is;
 * - `--no-ignore-global`: the user's global git excludes file is not read by either engine;
 * - `.git` directories are never searched, also with `hidden` (`--glob=!.git/`).
 */
import type { GrepInput } from './schema.js';

/** What the run searches: a directory (from inside), directories (without globs, from anywhere) or files named in the input. */
export type RipgrepTargets = { kind: 'directory'; path: string } | { kind: 'directories' | 'files'; paths: string[] };

/**
 * The arguments of `rg` for `input` over `targets`; `ignoreCase` is the engine's decision;
 * `unsorted` (by default {@link unsortedRun}'s answer) leaves `--sort=path` out.
 *
 * @example
 * ripgrepArgs(input, true, { kind: 'directory', path: '/work/project' })
 * // ['--json', '--no-config', …, '--ignore-case', '--regexp=interface\\s+\\w+', '--', '/work/project']
 */
export function ripgrepArgs(input: GrepInput, ignoreCase: boolean, targets: RipgrepTargets, unsorted = unsortedRun(input, targets)): string[] {
  const args = unsorted ? ['--json', '--no-config', '--no-ignore-global'] : ['--json', '--no-config', '--sort=path', '--no-ignore-global'];
  args.push(ignoreCase ? '--ignore-case' : '--case-sensitive');
  if (input.fixedStrings) args.push('--fixed-strings');
  if (input.word) args.push('--word-regexp');
  if (input.hidden) args.push('--hidden');
  if (!input.ignore) args.push('--no-ignore');
  else if (!input.gitignore) args.push('--no-ignore-vcs');
  if (!input.requireGit) args.push('--no-require-git');
  args.push(`--max-filesize=${input.maxFileSize}`);
  const maxCount = input.mode === 'files' ? 1 : input.maxCount;
  if (maxCount !== undefined) args.push(`--max-count=${maxCount}`);
  if (input.mode === 'content') {
    args.push(`--before-context=${input.before ?? input.context}`, `--after-context=${input.after ?? input.context}`);
  }
  for (const glob of input.include) args.push(`--glob=${glob}`);
  for (const glob of input.exclude) args.push(`--glob=!${glob}`);
  args.push('--glob=!.git/');
  args.push(`--regexp=${input.pattern}`, '--');
  if (targets.kind === 'directory') args.push(targets.path);
  else args.push(...targets.paths);
  return args;
}

/**
 * Does this run go without `--sort path` (on every core), its files put in order afterwards?
 * A count or files search (a line or two per file) of one directory: ordering its files is
 * ordering their paths, component by component, as the walk orders a directory's entries.
 */
export function unsortedRun(input: Pick<GrepInput, 'mode'>, targets: RipgrepTargets): boolean {
  if (input.mode === 'content') return false;
  return targets.kind === 'directory' || (targets.kind === 'directories' && targets.paths.length === 1);
}
