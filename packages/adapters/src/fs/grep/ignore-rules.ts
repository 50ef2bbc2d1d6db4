/**
 * ripgrep's ignore files: `.rgignore`, `.ignore` and `.gitignore` in every directory, and
 * `.git/info/exclude` at a repository's root, with the precedence of ripgrep's `ignore`
 * crate (`Ignore::matched_ignore`): for each kind of file the deepest directory with an
 * opinion decides (a `!negation` there whitelists), and the kinds rank `.rgignore` over
 * `.ignore` over `.gitignore` over `exclude`. Git's own files count only when a directory on
 * the way to the path (or above the search root) is a git repository, unless `requireGit` is
 * off (`rg --no-require-git`) — the crate's `any_git` test. Each file is parsed with the
 * `ignore` package, which implements the gitignore(5) rules; a path is tested on its own, not
 * through its parent directories (the crate's `Gitignore::matched`): a directory named as a
 * search path is searched even when an ignore file above names it, as in ripgrep. Files are
 * asked through `WalkIgnore`, which answers the common "no rule matches" with one test.
 *
 * Ignore files of every directory above a search root are read too, as ripgrep does, up to
 * `/`, also above the allowed roots: they can only hide files inside the roots, never show
 * anything outside them, and without them a search run from a subdirectory of a repository
 * would go through what its top `.gitignore` hides (`node_modules`, `dist`), where ripgrep
 * does not. (The user's global git excludes file is not read; the ripgrep engine passes
 * `--no-ignore-global`.)
 *
 * The files are small and read synchronously, within the walk's time slices (see `walk.ts`).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { AllowedRoots } from '../../roots.js';
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
  /** This directory or one above it holds `.git`. */
  inRepo: boolean;
}

/**
 * One ignore file's rules, asked about a path alone, as ripgrep's `Gitignore::matched` does:
 * the `ignore` package's public `test` also tests every parent directory first (git's rule
 * for a walk that enters ignored directories, which ripgrep's never does), and that would hide
 * the files of a directory named as a search path (see `WalkIgnore`'s `alone`).
 */
function readIgnoreFile(path: string): WalkIgnore | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    return walkIgnore(text, { allowRelativePaths: true }, true);
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

  /**
   * The rules above `dir` (a search root): the ignore files of every directory above it, as
   * ripgrep reads them. `_roots` is kept for callers: the roots do not bound these reads.
   */
  static above(dir: string, options: IgnoreOptions, _roots?: AllowedRoots): IgnoreRules {
    if (!options.ignore) return IgnoreRules.none(options);
    const ancestors: string[] = [];
    for (let at = dirname(dir); ; at = dirname(at)) {
      ancestors.unshift(at);
      if (dirname(at) === at) break;
    }
    let rules = IgnoreRules.none(options);
    for (const at of ancestors) {
      const names = new Set<string>();
      for (const [, name] of FILES) if (exists(join(at, name))) names.add(name);
      if (exists(join(at, '.git'))) names.add('.git');
      rules = rules.enter(at, names);
    }
    // ripgrep's `any_git` looks at the whole chain, the search root included: a repository's
    // top named as the search path makes the git files above it count too.
    return exists(join(dir, '.git')) ? rules.#inRepository() : rules;
  }

  /** The rules inside `dir`, whose entries are `names`: its ignore files are read. */
  enter(dir: string, names: ReadonlySet<string>): IgnoreRules {
    const options = this.#options;
    if (!options.ignore) return this;
    const repo = (this.#level?.inRepo ?? false) || names.has('.git');
    const matchers: Partial<Record<Kind, WalkIgnore>> = {};
    for (const [kind, name] of FILES) {
      if (!names.has(name)) continue;
      // Read even outside a repository: a repository found deeper makes them count (`any_git`).
      if (kind === 'git' && !options.gitignore) continue;
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

  /** The same rules, with the git files counting (a repository below them was found). */
  #inRepository(): IgnoreRules {
    const level = this.#level;
    if (level === undefined || level.inRepo) return this;
    return new IgnoreRules({ ...level, inRepo: true }, this.#options);
  }

  /**
   * The rules as they apply to the entries of `dir` (absolute, under every level's directory):
   * what each file needs for that directory is worked out once, so asking about each entry
   * costs little more than its name (see `WalkIgnore.testEntry`).
   */
  scope(dir: string): IgnoreScope {
    const gitCounts = !this.#options.requireGit || (this.#level?.inRepo ?? false);
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    const checks: Check[] = [];
    for (const kind of KINDS) {
      if (!gitCounts && (kind === 'git' || kind === 'exclude')) continue;
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

  /** The verdict on `path` (absolute, under every level's directory). */
  match(path: string, isDir: boolean): IgnoreMatch {
    const at = path.lastIndexOf(sep);
    return this.scope(path.slice(0, at + 1)).match(path.slice(at + 1), isDir);
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
