/**
 * Include and exclude globs (`rg -g GLOB` and `rg -g '!GLOB'`), matched with picomatch
 * against the path relative to the search root, with gitignore's conventions as ripgrep
 * applies them: a glob without a slash matches the name at any depth, a leading `/` anchors
 * it to the root, a trailing `/` matches directories only, `*` matches dot files too.
 *
 * As in ripgrep, globs come before every other rule: an excluded file or directory is
 * skipped (a directory with everything below it); when include globs are given, a file must
 * match one, and a file or directory that matches one is searched even if hidden or ignored.
 * A directory that matches no include glob is still walked (its files may match).
 *
 * A leading `!` is ripgrep's, not picomatch's negation: an include glob `!X` is `-g '!X'`,
 * an exclude; an exclude glob's own `!` is a literal character (ripgrep gets `-g '!!X'`).
 */
import picomatch from 'picomatch';

/** What the globs say about one path. */
export type GlobVerdict = 'exclude' | 'include' | 'none';

interface CompiledGlob {
  test: (path: string) => boolean;
  dirOnly: boolean;
}

function compile(glob: string): CompiledGlob {
  let pattern = glob;
  const dirOnly = pattern.endsWith('/');
  if (dirOnly) pattern = pattern.slice(0, -1);
  const anchored = pattern.startsWith('/');
  if (anchored) pattern = pattern.slice(1);
  const matchName = !anchored && !pattern.includes('/');
  return { test: picomatch(pattern, { dot: true, basename: matchName, nonegate: true }), dirOnly };
}

/** The include and exclude globs of one operation. */
export class Globs {
  readonly #include: CompiledGlob[];
  readonly #exclude: CompiledGlob[];

  constructor(include: readonly string[], exclude: readonly string[]) {
    this.#include = include.filter((glob) => !glob.startsWith('!')).map(compile);
    this.#exclude = [...exclude, ...include.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1))].map(compile);
  }

  get empty(): boolean {
    return this.#include.length === 0 && this.#exclude.length === 0;
  }

  /** The verdict on `relative` (slash-separated, relative to the search root). */
  match(relative: string, isDir: boolean): GlobVerdict {
    const hit = (glob: CompiledGlob): boolean => (!glob.dirOnly || isDir) && glob.test(relative);
    if (this.#exclude.some(hit)) return 'exclude';
    if (this.#include.length === 0) return 'none';
    if (this.#include.some(hit)) return 'include';
    return isDir ? 'none' : 'exclude';
  }
}
