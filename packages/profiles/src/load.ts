import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describeZodIssues } from '@fanout/scheduler';
import { configFromEnv } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { PROFILES, type Profile } from './profiles.js';
import { configSchemas } from './config-schemas.js';
import type { Config } from './schema.js';
import { untrustedLayer } from './trust.js';

/** Where to load configuration from. */
export interface LoadConfigOptions {
  /** Where the search for `fanout.config.json` starts. @default process.cwd() */
  cwd?: string;
  /** Environment to read `FANOUT_*` variables from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** A config file to use instead of searching (also `FANOUT_CONFIG`). */
  configFile?: string | undefined;
  /** Options passed in (CLI flags, API): the highest precedence. */
  overrides?: Config | undefined;
  /**
   * The user's own configuration, trusted like a file named with `configFile`; `false` for
   * none. A missing file is no error.
   * @default `$XDG_CONFIG_HOME/fanout/config.json`, else `$HOME/.config/fanout/config.json` (from `env`)
   */
  userConfigFile?: string | false;
}

/** Loaded configuration, with where each layer came from. */
export interface LoadedConfig {
  config: Config;
  profile: Profile;
  /** The layers applied, lowest precedence first (`profile default`, a file path, `env`, `options`). */
  sources: string[];
  /**
   * Settings of a configuration file found by searching upward that the trust policy set
   * aside (see `trust.ts`): it may narrow what fanout touches, never widen it. Show them to
   * the user; they were not applied.
   */
  refused: ConfigIssue[];
}

/** Where the user's own configuration is, from the environment (XDG base directories). */
export function userConfigPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'fanout', 'config.json');
  const home = env.HOME;
  return home !== undefined && isAbsolute(home) ? join(home, '.config', 'fanout', 'config.json') : undefined;
}

/** Validates one layer, turning zod issues into issues naming the source and the key. */
export function checkLayer(value: unknown, source: string): { config: Config; issues: ConfigIssue[] } {
  const parsed = configSchemas().configSchema.safeParse(value);
  if (parsed.success) return { config: parsed.data, issues: [] };
  // The kit's messages (what was expected, what was got); the key is their path.
  const issues = describeZodIssues(parsed.error, value).map((d): ConfigIssue => ({ source, key: d.path, message: d.message.replace(/^unknown field "[^"]*"$/, 'unknown key') }));
  return { config: {}, issues };
}

/** Deep-merges configuration layers: objects merge, anything else (lists included) replaces. */
export function mergeConfig(...layers: Config[]): Config {
  const merge = (base: unknown, over: unknown): unknown => {
    if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) {
      return over === undefined ? base : over;
    }
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(over)) out[key] = merge(out[key], value);
    return out;
  };
  return layers.reduce<Config>((acc, layer) => merge(acc, layer) as Config, {});
}

/** Finds `fanout.config.json`, or a package.json with a `fanout` key, from `cwd` upward. */
export async function findConfigFile(cwd: string): Promise<{ path: string; value: unknown } | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, 'fanout.config.json');
    const own = await readJson(candidate);
    if (own !== undefined) return { path: candidate, value: own };
    const pkgPath = join(dir, 'package.json');
    const pkg = await readJson(pkgPath);
    if (typeof pkg === 'object' && pkg !== null && 'fanout' in pkg) return { path: `${pkgPath} ("fanout" key)`, value: (pkg as { fanout: unknown }).fanout };
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Is nothing at `path` (or is a part of it not a directory)? Most of the places `loadConfig`
 * looks at have no file: a `stat` that returns nothing says so without the rejected promise
 * and the error object of a failed read: ~5M fewer instructions for the seven places a
 * `fanout grep` in /tmp/x looks at (callgrind, median of 3). Any other error is left to the
 * read, which reports it as before.
 */
function absent(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) === undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOTDIR';
  }
}

async function readJson(path: string): Promise<unknown> {
  if (absent(path)) return undefined;
  let text: string;
  try {
    // Read at once: a configuration or a package.json is a few KB, and a `fanout grep` in a
    // package then loads no node:fs/promises for it (~2-4 ms of its start).
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new ConfigError([{ source: path, key: '', message: `cannot be read: ${(error as Error).message}` }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError([{ source: path, key: '', message: `expected JSON: ${(error as Error).message}` }]);
  }
}

/**
 * Loads configuration. Precedence, lowest first: the built-in profile → the user's own file
 * (`~/.config/fanout/config.json`) → `fanout.config.json` (or the `fanout` key of
 * package.json), the one named by `configFile` / `FANOUT_CONFIG`, else the one found from
 * `cwd` upward → `FANOUT_*` environment → `overrides`. A file found by searching upward is
 * untrusted: it may narrow the roots, never widen them, and what it may not set is set aside
 * and listed in `refused` (see `trust.ts`). Every bad value of every layer is reported at
 * once, with its file (or variable) and key, what was expected and what was found.
 *
 * @example
 * const { config, profile, refused } = await loadConfig({ overrides: { concurrency: 32 } });
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const environment = options.env ?? process.env;
  const env = configFromEnv(environment);
  const issues: ConfigIssue[] = [...env.issues];
  const explicit = options.configFile ?? env.configFile;
  const userPath = options.userConfigFile === false ? undefined : (options.userConfigFile ?? userConfigPath(environment));
  const user = userPath === undefined ? undefined : await readJson(userPath);
  const userLayer = user === undefined ? { config: {}, issues: [] } : checkLayer(user, userPath!);
  issues.push(...userLayer.issues);
  let file: { path: string; value: unknown } | undefined;
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    const value = await readJson(path);
    if (value === undefined) issues.push({ source: path, key: '', message: 'expected a configuration file here, found none' });
    else file = { path, value };
  } else {
    file = await findConfigFile(cwd);
    // The user's own file is not a project's, even when the search passes through it.
    if (file !== undefined && userPath !== undefined && file.path === resolve(userPath)) file = undefined;
  }
  const fileLayer = file === undefined ? { config: {}, issues: [] } : checkLayer(file.value, file.path);
  issues.push(...fileLayer.issues);
  const overrideLayer = options.overrides === undefined ? { config: {}, issues: [] } : checkLayer(options.overrides, 'options');
  issues.push(...overrideLayer.issues);

  let refused: ConfigIssue[] = [];
  let projectConfig = fileLayer.config;
  if (file !== undefined && explicit === undefined && fileLayer.issues.length === 0) {
    const trusted = untrustedLayer(fileLayer.config, file.path, userLayer.config.roots ?? [cwd], cwd);
    projectConfig = trusted.config;
    refused = trusted.refused;
  }

  const profileName = overrideLayer.config.profile ?? env.profile ?? env.config.profile ?? projectConfig.profile ?? userLayer.config.profile ?? 'default';
  const profile = PROFILES[profileName];
  if (profile === undefined) {
    issues.push({ source: 'profile', key: 'profile', message: `unknown profile "${profileName}"; expected one of: ${Object.keys(PROFILES).join(', ')}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const sources = [`profile ${profile!.name}`];
  if (user !== undefined) sources.push(userPath!);
  if (file !== undefined) sources.push(file.path);
  if (Object.keys(env.config).length > 0) sources.push('env');
  if (options.overrides !== undefined) sources.push('options');
  const config = mergeConfig(profile!.config, userLayer.config, projectConfig, env.config, overrideLayer.config, { profile: profile!.name });
  return { config, profile: profile!, sources, refused };
}
