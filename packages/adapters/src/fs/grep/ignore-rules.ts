/**
 * ripgrep's ignore files: `.rgignore`, `.ignore` and `.gitignore` in every directory, and
 * `.git/info/exclude` at a repository's root, with the precedence of ripgrep's `ignore`
 * crate (`Ignore::matched_ignore`): for each kind of file the deepest directory with an
 * opinion decides (a `!negation` there whitelists), and the kinds rank `.rgignore` over
 * `.ignore` over `.gitignore` over `exclude`. Git's own files count only inside a git
 * repository unless `requireGit` is off (`rg --no-require-git`). Each file is parsed with
 * the `ignore` package, which implements the gitignore(5) rules (asked through `WalkIgnore`,
 * which answers the common "no rule matches" with one test).
 *
 * Ignore files of the directories above a search root are read too, as ripgrep does, but
 * only inside the allowed roots: the roots are a boundary for reads. Whether a directory
 * above is a git repository is still probed (one `stat` of `.git`, nothing read).
 *
 * The files are small and read synchronously, within the walk's time slices (see `walk.ts`).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { isInside, type AllowedRoots } from '../../roots.js';
import { walkIgnore, type WalkIgnore } from '../ignore-walk.js';

/** Which ignore files count. */
export interface IgnoreOptions {
  /** `.ignore` and `.rgignore` (and git's, unless `gitignore` is off). */
  ignore: boolean;
  /** `.gitignore` and `.git/info/exclude`. */
  gitignore: boolean;
  /** Git's files count only inside a git repository. */
  requireGit: boolean;
}

/** The verdict of the ignore files on one path. */
export type IgnoreMatch = 'ignore' | 'whitelist' | 'none';

type Kind = 'custom' | 'ignore' | 'git' | 'exclude';
const KINDS: readonly Kind[] = ['custom', 'ignore', 'git', 'exclude'];
const FILES: readonly [Kind, string][] = [
  ['custom', '.rgignore'],
  ['ignore', '.ignore'],
  ['git', '.gitignore'],
];

interface Level {
  /** The directory, with a trailing separator. */
  prefix: string;
  matchers: Partial<Record<Kind, WalkIgnore>>;
  parent: Level | undefined;
  inRepo: boolean;
}

function readIgnoreFile(path: string): WalkIgnore | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    return walkIgnore(text, { allowRelativePaths: true });
  } catch {
    // A missing or unreadable ignore file is no rule (ripgrep warns and goes on).
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The ignore rules in force in one directory (its files and those of its parents). */
export class IgnoreRules {
  readonly #level: Level | undefined;
  readonly #options: IgnoreOptions;

  private constructor(level: Level | undefined, options: IgnoreOptions) {
    this.#level = level;
    this.#options = options;
  }

  /** No rules at all (`ignore: false`). */
  static none(options: IgnoreOptions): IgnoreRules {
    return new IgnoreRules(undefined, options);
  }

  /** The rules above `dir` (a search root): its ancestors' files inside the allowed roots. */
  static above(dir: string, options: IgnoreOptions, roots: AllowedRoots): IgnoreRules {
    if (!options.ignore) return IgnoreRules.none(options);
    const ancestors: string[] = [];
    for (let at = dirname(dir); ; at = dirname(at)) {
      ancestors.unshift(at);
      if (dirname(at) === at) break;
    }
    let rules = IgnoreRules.none(options);
    let repo = false;
    for (const at of ancestors) {
      const hasGit = exists(join(at, '.git'));
      repo ||= hasGit;
      const names = new Set<string>();
      if (roots.contains(at) || roots.paths.some((root) => isInside(root, at))) {
        for (const [, name] of FILES) if (exists(join(at, name))) names.add(name);
        if (hasGit) names.add('.git');
      }
      rules = rules.enter(at, names, repo);
    }
    return rules;
  }

  /**
   * The rules inside `dir`, whose entries are `names`: its ignore files are read.
   * `inRepo` forces the git-repository flag (for the directories above a root).
   */
  enter(dir: string, names: ReadonlySet<string>, inRepo = false): IgnoreRules {
    const options = this.#options;
    if (!options.ignore) return this;
    const repo = inRepo || (this.#level?.inRepo ?? false) || names.has('.git');
    const matchers: Partial<Record<Kind, WalkIgnore>> = {};
    for (const [kind, name] of FILES) {
      if (!names.has(name)) continue;
      if (kind === 'git' && (!options.gitignore || (options.requireGit && !repo))) continue;
      const matcher = readIgnoreFile(join(dir, name));
      if (matcher !== undefined) matchers[kind] = matcher;
    }
    if (names.has('.git') && options.gitignore) {
      const exclude = readIgnoreFile(join(dir, '.git', 'info', 'exclude'));
      if (exclude !== undefined) matchers.exclude = exclude;
    }
    if (Object.keys(matchers).length === 0 && repo === (this.#level?.inRepo ?? false)) return this;
    return new IgnoreRules({ prefix: dir.endsWith(sep) ? dir : dir + sep, matchers, parent: this.#level, inRepo: repo }, options);
  }

  /**
   * The rules as they apply to the entries of `dir` (absolute, under every level's directory):
   * what each file needs for that directory is worked out once, so asking about each entry
   * costs little more than its name (see `WalkIgnore.testEntry`).
   */
  scope(dir: string): IgnoreScope {
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    const checks: Check[] = [];
    for (const kind of KINDS) {
      for (let level = this.#level; level !== undefined; level = level.parent) {
        const matcher = level.matchers[kind];
        if (matcher === undefined || !prefix.startsWith(level.prefix)) continue;
        let relative = prefix.slice(level.prefix.length);
        if (sep !== '/') relative = relative.split(sep).join('/');
        checks.push({ matcher, dir: relative, kept: matcher.kept(relative) });
      }
    }
    return new IgnoreScope(checks);
  }
}

interface Check {
  matcher: WalkIgnore;
  /** The directory relative to the matcher's, with a trailing slash ('' for its own). */
  dir: string;
  kept: boolean;
}

/** The ignore rules in force for the entries of one directory. */
export class IgnoreScope {
  readonly #checks: readonly Check[];

  constructor(checks: readonly Check[]) {
    this.#checks = checks;
  }

  /** The verdict on the entry `name`: for each kind of file, the deepest with an opinion decides. */
  match(name: string, isDir: boolean): IgnoreMatch {
    for (const check of this.#checks) {
      const verdict = check.matcher.testEntry(check.dir, check.kept, name, isDir);
      if (verdict.ignored) return 'ignore';
      if (verdict.unignored) return 'whitelist';
    }
    return 'none';
  }
}
