import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, type Dirent } from 'node:fs';
import { dirname } from 'node:path';
import { isInside } from '../roots.js';
import { walkIgnore, type WalkIgnore } from './ignore-walk.js';

/** The rules of one `.gitignore`, and those of the nearest one above it. */
interface Rules {
  /** The directory the file is in; its patterns are relative to it. */
  dir: string;
  /** `dir` with a trailing separator: the prefix of every path below it. */
  prefix: string;
  matcher: WalkIgnore;
  parent: Rules | undefined;
}

/** What a {@link GitignoreFilter} needs to know about where to stop. */
export interface GitignoreOptions {
  /** Directories above which no `.gitignore` is read (the allowed roots). */
  boundaries: readonly string[];
  /** Match patterns without regard to case. @default false (git's default outside Windows and macOS) */
  ignoreCase?: boolean;
}

/**
 * Applies `.gitignore` files while a directory tree is walked, like git: the patterns of a
 * `.gitignore` apply to its directory and everything below it, a deeper file's patterns take
 * precedence over a shallower one's (so a deeper `!pattern` can bring a file back), and an
 * ignored directory is never entered, so nothing below it can come back (git's rule, and the
 * reason a single walk suffices). `.git` itself is always skipped.
 *
 * Files above the walk's starting directory count too, up to the repository's top (the
 * directory holding `.git`) or an allowed root, whichever comes first. Unlike ripgrep, the
 * files apply outside a git repository as well (ripgrep's `--no-require-git`).
 *
 * Patterns are matched with the `ignore` package, which implements the gitignore(5) rules
 * (through `WalkIgnore`, which answers the common "no rule matches" with one test).
 * The files are small and read synchronously (a walk calls this between its listings); one
 * filter can serve several walks of one tree at once, as the shared scan does: what it
 * learns of a directory holds for all of them.
 */
export class GitignoreFilter {
  readonly #roots: readonly string[];
  readonly #boundaries: Set<string>;
  readonly #ignoreCase: boolean;
  /** Directory → the nearest rules that apply inside it (`undefined`: none). */
  readonly #nearest = new Map<string, Rules | undefined>();

  constructor(options: GitignoreOptions) {
    this.#roots = options.boundaries;
    this.#boundaries = new Set(options.boundaries);
    this.#ignoreCase = options.ignoreCase ?? false;
  }

  /**
   * Loads the `.gitignore` files of the directories above `start`, where a walk begins. Call
   * it before the walk (it is also done on the way when forgotten).
   */
  async prepare(start: string): Promise<void> {
    this.prepareSync(start);
  }

  /** {@link GitignoreFilter.prepare}, synchronously. */
  prepareSync(start: string): void {
    if (this.#boundaries.has(start)) return;
    const parent = dirname(start);
    if (parent !== start) this.#above(parent);
  }

  /**
   * Keeps the entries of directory `dir` that no `.gitignore` excludes. Reads the directory's
   * own `.gitignore` when it has one (its name is among the entries, so no extra system call
   * when it has none).
   */
  filter(dir: string, entries: Dirent[]): Dirent[] {
    let ownFile = false;
    let repository = false;
    for (let i = 0; i < entries.length; i++) {
      const name = entries[i]!.name;
      if (name === '.gitignore') ownFile = entries[i]!.isFile();
      else if (name === '.git') repository = true;
    }
    // A repository's top or an allowed root inherits nothing from above.
    if (!repository && !this.#boundaries.has(dir)) {
      const parent = dirname(dir);
      const inherited = parent === dir ? undefined : this.#nearest.has(parent) ? this.#nearest.get(parent) : this.#above(parent);
      return this.#withOwn(dir, entries, inherited, ownFile, repository);
    }
    return this.#withOwn(dir, entries, undefined, ownFile, repository);
  }

  #withOwn(dir: string, entries: Dirent[], inherited: Rules | undefined, ownFile: boolean, repository: boolean): Dirent[] {
    const own = ownFile ? this.#read(dir, inherited) : undefined;
    return this.#apply(dir, entries, own ?? inherited, repository);
  }

  #apply(dir: string, entries: Dirent[], rules: Rules | undefined, repository: boolean): Dirent[] {
    this.#nearest.set(dir, rules);
    if (!repository && rules === undefined) return entries;
    // What each .gitignore needs for this directory, once: its path there, and whether it is kept.
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const checks: { matcher: WalkIgnore; dir: string; kept: boolean }[] = [];
    for (let at = rules; at !== undefined; at = at.parent) {
      if (!prefix.startsWith(at.prefix)) continue;
      const relative = prefix.slice(at.prefix.length);
      checks.push({ matcher: at.matcher, dir: relative, kept: at.matcher.kept(relative) });
    }
    const kept: Dirent[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (repository && entry.name === '.git') continue;
      if (checks.length > 0 && isIgnored(checks, entry.name, entry.isDirectory())) continue;
      kept.push(entry);
    }
    return kept;
  }

  /** The rules that apply inside `dir`, a directory above the walk. */
  #above(dir: string): Rules | undefined {
    if (this.#nearest.has(dir)) return this.#nearest.get(dir);
    if (!this.#roots.some((root) => isInside(root, dir))) {
      // Never read outside the roots, even a .gitignore.
      this.#nearest.set(dir, undefined);
      return undefined;
    }
    const top = this.#boundaries.has(dir) || dirname(dir) === dir || existsSync(`${dir}/.git`);
    const parent = top ? undefined : this.#above(dirname(dir));
    const rules = this.#read(dir, parent) ?? parent;
    this.#nearest.set(dir, rules);
    return rules;
  }

  /**
   * Reads `dir/.gitignore` on top of `parent`; undefined when there is none. A symlink is not
   * followed (O_NOFOLLOW) and only a regular file is read, so no pattern comes from outside.
   */
  #read(dir: string, parent: Rules | undefined): Rules | undefined {
    let text: string;
    try {
      const fd = openSync(`${dir === '/' ? '' : dir}/.gitignore`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!fstatSync(fd).isFile()) return undefined;
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
    return { dir, prefix: dir.endsWith('/') ? dir : `${dir}/`, matcher: walkIgnore(text, { ignorecase: this.#ignoreCase }), parent };
  }
}

/** Deepest `.gitignore` first: the first that has an opinion decides, as in git. */
function isIgnored(checks: readonly { matcher: WalkIgnore; dir: string; kept: boolean }[], name: string, directory: boolean): boolean {
  for (const check of checks) {
    const verdict = check.matcher.testEntry(check.dir, check.kept, name, directory);
    if (verdict.ignored) return true;
    if (verdict.unignored) return false;
  }
  return false;
}
