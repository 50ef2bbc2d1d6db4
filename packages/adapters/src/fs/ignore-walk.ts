/**
 * `Ignore.test` of the `ignore` package, made fast for walks. A walk asks about every entry of
 * a tree, and in most trees almost no entry matches any rule; the package answers each
 * question by running every rule's regular expression in turn (40 for a typical root
 * `.gitignore`, measured at 55 ms of a cold `fanout grep` over a 2,300-file repository). Here
 * the rules' expressions are joined into one alternation, tested once: when it does not match
 * an entry, and the entry's directory is known not to be ignored (the package decides an
 * entry by its directory first: an ignored directory ignores all below it; otherwise only
 * the entry's own match counts), the answer is "neither ignored nor whitelisted", exactly.
 * Anything else — a rule that matches, a directory not seen before — goes to the package's
 * own `test`, so the verdicts are always the package's.
 *
 * The alternation is built from the package's parsed rules (`_rules`: its internals, stable
 * through 7.x); should a release change them, every question goes to `test`, as before.
 *
 * Parsing a file's rules costs more than reading it (half of the `.gitignore` work of a walk
 * over a monorepo with 57 of them): {@link walkIgnore} keeps the parsed rules of the last
 * {@link PARSED_IGNORE_FILES} contents for the process — verdicts depend only on the rules and
 * the relative path, so files with the same content anywhere share them — and gives each
 * walk matchers of its own (their caches live as long as the walk).
 */
import ignore, { type Ignore, type Options } from 'ignore';

/** What `Ignore.test` says. */
export interface IgnoreVerdict {
  ignored: boolean;
  unignored: boolean;
}

interface RuleInternals {
  regex: RegExp;
  _basenameOnly: boolean;
}

interface ManagerInternals {
  _rules: RuleInternals[];
}

const NONE: IgnoreVerdict = Object.freeze({ ignored: false, unignored: false });

/** How many parsed ignore-file contents the process keeps (about a kilobyte each). */
export const PARSED_IGNORE_FILES = 256;

/** Parsed rules by options and content, oldest first (a Map keeps insertion order). */
const parsed = new Map<string, { template: Ignore; joined: ReturnType<typeof join> }>();

/**
 * A matcher for an ignore file's `text`, its rules parsed once per process (see above).
 * `alone`: verdicts on a path alone, as ripgrep gives them, not through its parent
 * directories (see {@link WalkIgnore}).
 */
export function walkIgnore(text: string, options: Options, alone = false): WalkIgnore {
  const key = `${(options.ignorecase ?? options.ignoreCase ?? true) ? 'i' : 's'}${options.allowRelativePaths === true ? 'r' : 'p'}\0${text}`;
  let entry = parsed.get(key);
  if (entry === undefined) {
    const template = ignore(options).add(text);
    entry = { template, joined: join(template) };
    if (parsed.size >= PARSED_IGNORE_FILES) parsed.delete(parsed.keys().next().value!);
  } else {
    parsed.delete(key);
  }
  parsed.set(key, entry);
  // A fresh instance over the same rules: its own result caches, the rules' compiled expressions shared.
  return new WalkIgnore(ignore(options).add(entry.template), entry.joined, alone);
}

/**
 * One `.gitignore` (or `.ignore`…) file's rules, asked about entries relative to its
 * directory. Git's verdicts (the package's `test`: an entry of an ignored directory is
 * ignored), or with `alone` ripgrep's (`Gitignore::matched`: the path's own rules only; the
 * package's rule set, `_rules.test`, when it has one).
 */
export class WalkIgnore {
  readonly #ignore: Ignore;
  /** The rules tested against the whole path, and those without a slash (but a trailing one), tested against the basename. */
  readonly #onPath: Joined;
  readonly #onBasename: Joined;
  readonly #fast: boolean;
  readonly #alone: boolean;
  /** Directories (relative, with a trailing slash) known not to be ignored. */
  readonly #kept = new Set<string>();

  /** `joined`: the rules' joined expressions, when already made for the same rules. */
  constructor(ignore: Ignore, joined: ReturnType<typeof join> = join(ignore), alone = false) {
    this.#ignore = ignore;
    this.#alone = alone;
    this.#fast = joined !== undefined;
    this.#onPath = joined?.onPath ?? NOTHING;
    this.#onBasename = joined?.onBasename ?? NOTHING;
  }

  /** The verdict on `relative` (slash-separated, below the file's directory), as `Ignore.test` gives it. */
  test(relative: string, directory: boolean): IgnoreVerdict {
    const at = relative.lastIndexOf('/');
    const dir = at < 0 ? '' : relative.slice(0, at + 1);
    return this.testEntry(dir, this.kept(dir), relative.slice(at + 1), directory);
  }

  /**
   * Whether the directory `dir` (relative, with a trailing slash; '' for the file's own
   * directory) is known not to be ignored: ask once per directory, then
   * {@link WalkIgnore.testEntry} for each of its entries.
   */
  kept(dir: string): boolean {
    // Alone, a path's directory does not count.
    return this.#alone || dir === '' || this.#kept.has(dir);
  }

  /**
   * The verdict on the entry `name` of the directory `dir` (see {@link WalkIgnore.kept},
   * whose answer is `dirKept`), as `Ignore.test` gives it for `dir + name`. The usual case —
   * a kept directory, no rule matching the name, no rule with a slash matching the path —
   * costs one or two tests and, for a file, not even the path.
   */
  testEntry(dir: string, dirKept: boolean, name: string, directory: boolean): IgnoreVerdict {
    if (this.#fast && dirKept) {
      const basename = directory ? `${name}/` : name;
      if (!matches(this.#onBasename, basename)) {
        const onPath = this.#onPath.anchored !== undefined || this.#onPath.floating !== undefined;
        if (!onPath) {
          if (directory && !this.#alone) this.#kept.add(dir + basename);
          return NONE;
        }
        const path = dir + basename;
        if (!matches(this.#onPath, path)) {
          if (directory && !this.#alone) this.#kept.add(path);
          return NONE;
        }
      }
    }
    const path = directory ? `${dir}${name}/` : dir + name;
    const verdict = this.#alone ? testAlone(this.#ignore, path) : this.#ignore.test(path);
    if (directory && !verdict.ignored && !this.#alone) this.#kept.add(path);
    return verdict;
  }
}

/** The part of the package's internals that tests one path without its parents. */
interface RuleSet {
  test(path: string, mode: 'regex'): IgnoreVerdict;
}

/** The verdict of the rules on `path` alone; the public `test` (parents too) when the internal is not there. */
function testAlone(ignore: Ignore, path: string): IgnoreVerdict {
  const rules = (ignore as unknown as { _rules?: Partial<RuleSet> })._rules;
  return typeof rules?.test === 'function' ? rules.test(path, 'regex') : ignore.test(path);
}

/**
 * Rules joined in two alternations: those that can only match at the start of what they are
 * tested against (their leading `^`, or `(?:^|\/)` for a basename, which has no other slash
 * to start after but a trailing one, where what follows is only the end), anchored there so
 * the engine tries one position; the others, anywhere.
 */
interface Joined {
  anchored: RegExp | undefined;
  floating: RegExp | undefined;
}

const NOTHING: Joined = { anchored: undefined, floating: undefined };

function matches(joined: Joined, text: string): boolean {
  return (joined.anchored?.test(text) ?? false) || (joined.floating?.test(text) ?? false);
}

function joinSources(sources: readonly string[], flags: string, basename: boolean): Joined {
  const anchored: string[] = [];
  const floating: string[] = [];
  for (const source of sources) {
    if (source.startsWith('^')) anchored.push(`(?:${source.slice(1)})`);
    else if (basename && source.startsWith('(?:^|\\/)')) anchored.push(`(?:${source.slice(8)})`);
    else floating.push(`(?:${source})`);
  }
  return {
    anchored: anchored.length === 0 ? undefined : new RegExp(`^(?:${anchored.join('|')})`, flags),
    floating: floating.length === 0 ? undefined : new RegExp(floating.join('|'), flags),
  };
}

/** The rules' expressions joined, split the way the package's `test` splits them; undefined when its internals are not there. */
function join(ignore: Ignore): { onPath: Joined; onBasename: Joined } | undefined {
  try {
    const manager = (ignore as unknown as { _rules?: ManagerInternals })._rules;
    const rules = manager?._rules;
    if (!Array.isArray(rules)) return undefined;
    // A rule without a slash (but a trailing one) matches the whole path exactly where it
    // matches the basename (the package hands it the basename when such rules are at least
    // half of them, and says so): tested against the basename, anchored, it costs one
    // position instead of every segment's.
    const onPath: string[] = [];
    const onBasename: string[] = [];
    let flags: string | undefined;
    for (const rule of rules) {
      const regex = rule.regex;
      if (!(regex instanceof RegExp) || typeof rule._basenameOnly !== 'boolean' || (flags !== undefined && regex.flags !== flags)) return undefined;
      flags = regex.flags;
      (rule._basenameOnly ? onBasename : onPath).push(regex.source);
    }
    return { onPath: joinSources(onPath, flags ?? '', false), onBasename: joinSources(onBasename, flags ?? '', true) };
  } catch {
    return undefined;
  }
}
