/**
 * Loads the commands bundle with a V8 code cache. Most of a short command's start-up was V8
 * compiling ~1 MB of bundled JavaScript (zod, the scheduler, the adapters) before running any
 * of it; Node 20 has no `module.enableCompileCache()` (22.1+), but `vm.Script` takes and makes
 * a code cache. The bundle is CommonJS (a `vm.Script` cannot be an ES module without
 * `--experimental-vm-modules`), wrapped and run the way Node's own loader runs a CommonJS file.
 *
 * The cache is an optimisation only: a missing, stale or corrupt cache, a V8 that rejects it
 * (another Node version, other V8 flags), or a directory nobody can write to all end in a
 * plain compile, never in an error. A cache is written, at exit, only when none was accepted:
 * then it also holds the functions the run compiled lazily.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { Script } from 'node:vm';

/** How a bundle was compiled: from an accepted cache, or not (and why). */
export type CacheOutcome = 'hit' | 'miss' | 'rejected' | 'off';

/** Options of {@link loadBundle}. */
export interface LoadOptions {
  /** Where `NODE_COMPILE_CACHE`, `NODE_DISABLE_COMPILE_CACHE`, `XDG_CACHE_HOME` and `HOME` are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Schedules the writing of a new cache, which then holds what the run compiled.
   * @default at process exit
   */
  whenDone?: (write: () => void) => void;
  /**
   * The names (without `.js`) of the bundles whose caches are kept when a cache is written in
   * a directory of this installation's own: the other bundles of the same build. The caches
   * of any other bundle (an earlier build's) go.
   * @default only this bundle's
   */
  keep?: readonly string[];
}

/** What {@link loadBundle} returns. */
export interface LoadedBundle<T> {
  exports: T;
  cache: CacheOutcome;
}

const SUFFIX = '.v8cache';

/** FNV-1a of a string, in hex: names the user-level cache directory of one installation. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * Where caches are looked for and written, first choice first. The variables are Node 22's
 * for its own compile cache, which Node 20 does not have: `NODE_DISABLE_COMPILE_CACHE=1`
 * turns the cache off, `NODE_COMPILE_CACHE=dir` makes `dir` the only place. By default:
 * `.v8-cache` beside the bundle (it goes when the bundle is rebuilt), then, for an
 * installation the user cannot write to, a directory of the user's cache
 * (`$XDG_CACHE_HOME/fanout` or `~/.cache/fanout`) named after the installation's path.
 */
export function cacheDirectories(bundleDir: string, env: NodeJS.ProcessEnv = process.env): CacheDirectory[] {
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined && env.NODE_DISABLE_COMPILE_CACHE !== '') return [];
  const named = env.NODE_COMPILE_CACHE;
  // A directory the user named may be shared by several installations: nothing is pruned there.
  if (named !== undefined && named !== '') return [{ path: resolve(named), own: false }];
  const dirs = [{ path: join(bundleDir, '.v8-cache'), own: true }];
  const home = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : env.LOCALAPPDATA);
  if (home) dirs.push({ path: join(home, 'fanout', `v8-${fnv1a(bundleDir)}`), own: true });
  return dirs;
}

/** A place for caches; `own` when only this installation's caches live there. */
export interface CacheDirectory {
  path: string;
  own: boolean;
}

function readCache(dirs: readonly CacheDirectory[], name: string): Buffer | undefined {
  for (const { path: dir } of dirs) {
    try {
      return readFileSync(join(dir, name));
    } catch {
      // Not there (or unreadable): the next place, or a plain compile.
    }
  }
  return undefined;
}

/**
 * Writes the cache to the first directory that takes it: a private temporary file renamed
 * over the cache, so that a concurrent reader sees the old cache or the new one, never half.
 * In a directory of this installation's own, the caches of bundles other than `stems` (those
 * of earlier builds) go.
 */
function writeCache(dirs: readonly CacheDirectory[], name: string, stems: readonly string[], data: Buffer): void {
  for (const { path: dir, own } of dirs) {
    const temporary = join(dir, `${name}.${process.pid}.tmp`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, data, { mode: 0o600 });
      renameSync(temporary, join(dir, name));
    } catch {
      try {
        unlinkSync(temporary);
      } catch {
        // Never made.
      }
      continue;
    }
    if (!own) return;
    try {
      for (const entry of readdirSync(dir)) if (entry.endsWith(SUFFIX) && !stems.some((stem) => entry.startsWith(`${stem}.`))) unlinkSync(join(dir, entry));
    } catch {
      // A stale cache left behind costs disk space only.
    }
    return;
  }
}

/**
 * Runs the CommonJS bundle `file` and returns its exports, compiled from a V8 code cache
 * when one is there for this `variant` (each command keeps its own: a cache holds the
 * functions its run compiled). `file`'s name must change whenever its content does (build.mjs
 * puts a content hash in it): V8 checks a cache against the source's length only.
 */
export function loadBundle<T>(file: string, variant: string, options: LoadOptions = {}): LoadedBundle<T> {
  const { env = process.env, whenDone = (write: () => void) => process.once('exit', write), keep = [] } = options;
  const source = readFileSync(file, 'latin1');
  const stem = basename(file, '.js');
  const name = `${stem}.${variant}.${process.version}-${process.arch}${SUFFIX}`;
  const dirs = cacheDirectories(dirname(file), env);
  const cachedData = dirs.length === 0 ? undefined : readCache(dirs, name);
  // The wrapper of Node's CommonJS loader, on the first line so that line numbers stay right.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  const cache: CacheOutcome = dirs.length === 0 ? 'off' : cachedData === undefined ? 'miss' : script.cachedDataRejected === true ? 'rejected' : 'hit';
  if (cache === 'miss' || cache === 'rejected') {
    whenDone(() => {
      try {
        writeCache(dirs, name, keep.includes(stem) ? keep : [...keep, stem], script.createCachedData());
      } catch {
        // The cache is an optimisation: never fail an exit for it.
      }
    });
  }
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (exports: T, require: NodeJS.Require, module: { exports: T }, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cache };
}
