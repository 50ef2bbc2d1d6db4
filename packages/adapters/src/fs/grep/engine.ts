/**
 * Which engine a grep runs on: `ripgrep` (the `rg` program, through its `--json` stream),
 * `builtin` (fanout's own, in worker threads) or `auto`, ripgrep when `rg` is on PATH.
 *
 * Finding `rg` costs no process: PATH is searched for an executable file named `rg`, once per
 * PATH value for the process. Whether it really is ripgrep 13 or newer is asked (`rg
 * --version`) only when it refuses the arguments fanout gives it (`ripgrep.ts`): then `auto`
 * stops using it for the rest of the process and a `ripgrep` engine fails with the version it
 * found.
 */
import { AdapterError } from '../../errors.js';
import { executableFile, ripgrepOnPath } from './rg-path.js';

export { ripgrepOnPath } from './rg-path.js';

/** The grep engines (`grep.engine` in the configuration). */
export type GrepEngineName = 'auto' | 'ripgrep' | 'builtin';

/** The oldest ripgrep whose flags and `--json` output fanout relies on. */
export const MIN_RIPGREP_MAJOR = 13;

/** ripgrep programs found too old (or not ripgrep): `auto` no longer uses them. */
const unusable = new Map<string, string>();

/** What an adapter decided: the ripgrep program to run, or none (the built-in engine). */
export interface EngineChoice {
  engine: GrepEngineName;
  /** The `rg` to run; undefined: the built-in engine. */
  rg: string | undefined;
}

/**
 * Resolves the engine option of an adapter. `ripgrep` without a usable `rg` throws
 * `FANOUT_RIPGREP_NOT_FOUND`; `auto` without one is the built-in engine.
 */
export function chooseEngine(engine: GrepEngineName, rgPath: string | undefined): EngineChoice {
  if (engine === 'builtin') return { engine, rg: undefined };
  if (rgPath !== undefined) {
    if (!executableFile(rgPath)) {
      throw new AdapterError('FANOUT_RIPGREP_NOT_FOUND', `expected rgPath to be an executable ripgrep program, got ${JSON.stringify(rgPath)}, which is not an executable file`, { path: 'rgPath' });
    }
    return { engine, rg: rgPath };
  }
  const rg = ripgrepOnPath();
  if (rg === undefined && engine === 'ripgrep') {
    throw new AdapterError(
      'FANOUT_RIPGREP_NOT_FOUND',
      `expected ripgrep (rg, ${MIN_RIPGREP_MAJOR} or newer) on PATH for grep.engine "ripgrep", got no rg in ${JSON.stringify(process.env.PATH ?? '')}; install ripgrep or set grep.engine to "auto" or "builtin"`,
      { path: 'grep.engine' },
    );
  }
  return { engine, rg };
}

/** Why `rg` at `path` cannot be used, once {@link markUnusable} said so. */
export function unusableReason(path: string): string | undefined {
  return unusable.get(path);
}

/** Remembers that `rg` at `path` cannot be used (too old, or not ripgrep) for this process. */
export function markUnusable(path: string, reason: string): void {
  unusable.set(path, reason);
}

/**
 * Asks `rg --version` what it is: undefined when it is ripgrep {@link MIN_RIPGREP_MAJOR} or
 * newer, else what was found (for the error message).
 */
export function checkRipgrepVersion(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // Loaded here, not at import: node:child_process (and node:net, node:dgram with it) is ~6 ms
    // of every `fanout grep` start, and a built-in-engine grep spawns nothing.
    process.getBuiltinModule('node:child_process').execFile(path, ['--version'], { timeout: 5000, env: { ...process.env, RIPGREP_CONFIG_PATH: '' } }, (error, stdout) => {
      const first =
        String(stdout ?? '')
          .split('\n')[0]
          ?.trim() ?? '';
      const version = /^ripgrep (\d+)\.(\d+)/.exec(first);
      if (error !== null && version === null) {
        resolve(`${path} did not answer --version (${error.message.split('\n')[0]})`);
        return;
      }
      if (version === null) resolve(`${path} is not ripgrep (--version said ${JSON.stringify(first)})`);
      else if (Number(version[1]) < MIN_RIPGREP_MAJOR) resolve(`${path} is ${first}, older than ${MIN_RIPGREP_MAJOR}`);
      else resolve(undefined);
    });
  });
}
