import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { valueAt } from '@fanout/scheduler';
import type { z } from 'zod';
import { configFromEnv } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { PROFILES, type Profile } from './profiles.js';
import { configSchema, type Config } from './schema.js';

/** Where to load configuration from. */
export interface LoadConfigOptions {
  /** Where the search for `fanout.config.json` starts. @default process.cwd() */
  cwd?: string;
  /** Environment to read `FANOUT_*` variables from. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** A config file to use instead of searching (also `FANOUT_CONFIG`). */
  configFile?: string;
  /** Options passed in (CLI flags, API): the highest precedence. */
  overrides?: Config;
}

/** Loaded configuration, with where each layer came from. */
export interface LoadedConfig {
  config: Config;
  profile: Profile;
  /** The layers applied, lowest precedence first (`profile default`, a file path, `env`, `options`). */
  sources: string[];
}

function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Validates one layer, turning zod issues into issues naming the source and the key. */
export function checkLayer(value: unknown, source: string): { config: Config; issues: ConfigIssue[] } {
  const parsed = configSchema.safeParse(value);
  if (parsed.success) return { config: parsed.data, issues: [] };
  const issues = parsed.error.issues.flatMap((issue: z.core.$ZodIssue): ConfigIssue[] => {
    const key = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => ({ source, key: key === '' ? k : `${key}.${k}`, message: 'unknown key' }));
    }
    return [{ source, key, message: `${issue.message.replace(/^Invalid input: /, '')}; found ${describeFound(valueAt(value, issue.path))}` }];
  });
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

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
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
 * Loads configuration. Precedence, lowest first: the built-in profile → `fanout.config.json`
 * (or the `fanout` key of package.json) found from `cwd` upward → `FANOUT_*` environment →
 * `overrides`. Every bad value of every layer is reported at once, with its file (or
 * variable) and key, what was expected and what was found.
 *
 * @example
 * const { config, profile } = await loadConfig({ overrides: { concurrency: 32 } });
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = configFromEnv(options.env ?? process.env);
  const issues: ConfigIssue[] = [...env.issues];
  const explicit = options.configFile ?? env.configFile;
  let file: { path: string; value: unknown } | undefined;
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    const value = await readJson(path);
    if (value === undefined) issues.push({ source: path, key: '', message: 'expected a configuration file here, found none' });
    else file = { path, value };
  } else {
    file = await findConfigFile(cwd);
  }
  const fileLayer = file === undefined ? { config: {}, issues: [] } : checkLayer(file.value, file.path);
  issues.push(...fileLayer.issues);
  const overrideLayer = options.overrides === undefined ? { config: {}, issues: [] } : checkLayer(options.overrides, 'options');
  issues.push(...overrideLayer.issues);

  const profileName = overrideLayer.config.profile ?? env.profile ?? env.config.profile ?? fileLayer.config.profile ?? 'default';
  const profile = PROFILES[profileName];
  if (profile === undefined) {
    issues.push({ source: 'profile', key: 'profile', message: `unknown profile "${profileName}"; expected one of: ${Object.keys(PROFILES).join(', ')}` });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const sources = [`profile ${profile!.name}`];
  if (file !== undefined) sources.push(file.path);
  if (Object.keys(env.config).length > 0) sources.push('env');
  if (options.overrides !== undefined) sources.push('options');
  const config = mergeConfig(profile!.config, fileLayer.config, env.config, overrideLayer.config, { profile: profile!.name });
  return { config, profile: profile!, sources };
}
