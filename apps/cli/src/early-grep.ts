/**
 * `fanout grep`'s `rg`, started by the launcher before it loads the command (see
 * `EarlyRipgrep` in `@fanout/adapters/grep/early`): `rg` walks and searches on the other core
 * while the command's modules initialise and its configuration loads (~40 ms of CPU on a
 * short grep), and the ripgrep engine adopts the process when it would have started the same
 * one — else it is killed and nothing of it is used.
 *
 * Started only when the launcher can tell, without loading the configuration, what the
 * command will run: the allowed roots are the working directory (no `--config`, no
 * configuration file of the user's or upward, no `FANOUT_*` variable but `FANOUT_GREP__ENGINE`);
 * the engine is `auto` or `ripgrep` and `rg` is on PATH; the case of the pattern is decided
 * by the flags (no `--smart-case`, no inline flags); no `--follow`; and every path is a
 * directory inside the working directory, real path included, none inside another. So the early `rg` never reads
 * outside what the command may read.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { EarlyRipgrep, GREP_INPUT_DEFAULTS, ripgrepArgs, ripgrepOnPath, type RipgrepTargets } from '@fanout/adapters/grep/early';
// Only this function of the package is bundled into dist/early-grep.js (sideEffects: false): no zod.
import { userConfigPath } from '@fanout/profiles';
import { GREP_FLAGS, grepInput } from './grep-input.js';

/** Is `path` the directory `root` or inside it? */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Is there configuration that could change what the command runs? Conservative: any
 * `fanout.config.json` upward, any package.json upward with a "fanout" key or that
 * `loadConfig` would refuse, the user's configuration file (the places `loadConfig` of
 * `@fanout/profiles` reads).
 */
function configured(cwd: string, env: NodeJS.ProcessEnv): boolean {
  for (const name of Object.keys(env)) if (name.startsWith('FANOUT_') && name !== 'FANOUT_GREP__ENGINE') return true;
  const user = userConfigPath(env);
  if (user !== undefined && existsSync(user)) return true;
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'fanout.config.json'))) return true;
    // Read as loadConfig reads it: the parsed "fanout" key counts (however its name is escaped),
    // a dependency or a name "fanout" does not, and a package.json that loadConfig would refuse
    // (unreadable, not JSON) counts as configured, so that nothing starts before its error.
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return true;
    }
    if (text !== undefined) {
      let pkg: unknown;
      try {
        pkg = JSON.parse(text);
      } catch {
        return true;
      }
      if (typeof pkg === 'object' && pkg !== null && 'fanout' in pkg) return true;
    }
    if (dirname(dir) === dir) return false;
  }
}

/** One `rg` run as the ripgrep engine would make it for these directories (see `runRipgrep`), or undefined. */
function firstRun(paths: readonly string[], cwd: string, globs: boolean): { cwd: string; targets: RipgrepTargets } | undefined {
  const realCwd = realpathSync(cwd);
  const dirs: Array<{ path: string; real: string }> = [];
  for (const path of paths) {
    if (path === '' || path.includes('\0')) return undefined;
    const absolute = resolve(cwd, path);
    if (!inside(cwd, absolute)) return undefined;
    const real = realpathSync(absolute);
    if (!inside(realCwd, real) || !statSync(real).isDirectory()) return undefined;
    dirs.push({ path: absolute, real });
  }
  // Directories one inside another are searched in one pass of the built-in engine (see the grep adapter).
  if (dirs.some((one, i) => dirs.some((other, j) => i !== j && inside(one.path, other.path)))) return undefined;
  if (!globs) return { cwd, targets: { kind: 'directories', paths: dirs.map((dir) => dir.path) } };
  // With globs each directory is a run of its own, started inside it: only one is guessed.
  if (dirs.length !== 1) return undefined;
  return { cwd: dirs[0]!.real, targets: { kind: 'directory', path: dirs[0]!.path } };
}

/**
 * Starts the `rg` of `fanout grep argv…` when it can be known before the command loads (see
 * the module comment); undefined otherwise, or when anything about it fails.
 */
export function startEarlyRipgrep(argv: string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): EarlyRipgrep | undefined {
  try {
    // Inside the try: in a deleted directory process.cwd() throws, and the command reports it in its own words.
    const base = resolve(cwd ?? process.cwd());
    const { values, positionals } = parseArgs({ args: argv, options: GREP_FLAGS, allowPositionals: true, strict: true });
    const [pattern, ...paths] = positionals;
    if (pattern === undefined || values.help === true || values.config !== undefined || values.follow === true || values['smart-case'] === true) return undefined;
    if (pattern.startsWith('(?')) return undefined;
    const engine = values.engine ?? env.FANOUT_GREP__ENGINE ?? 'auto';
    if (engine !== 'auto' && engine !== 'ripgrep') return undefined;
    const given = grepInput(values, pattern, paths);
    // The schema's defaults where the command leaves a field unset.
    const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<typeof given>;
    const input: Parameters<typeof ripgrepArgs>[0] = {
      ...GREP_INPUT_DEFAULTS,
      paths: [...GREP_INPUT_DEFAULTS.paths],
      include: [],
      exclude: [],
      ...defined,
      pattern,
      context: given.context ?? GREP_INPUT_DEFAULTS.context,
    };
    const run = firstRun(input.paths, base, input.include.length > 0 || input.exclude.length > 0);
    if (run === undefined || configured(base, env)) return undefined;
    const rg = ripgrepOnPath(env.PATH ?? '');
    if (rg === undefined) return undefined;
    return EarlyRipgrep.start(rg, ripgrepArgs(input, input.ignoreCase, run.targets), run.cwd);
  } catch {
    // A bad flag, a path that is not there: the command says so, with its own words.
    return undefined;
  }
}
