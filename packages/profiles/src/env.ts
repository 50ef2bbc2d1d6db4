import { delimiter } from 'node:path';
import { describeZodIssues } from '@fanout/scheduler';
import type { z } from 'zod';
import type { ConfigIssue } from './errors.js';
import { configSchemas } from './config-schemas.js';
import type { Config } from './schema.js';

/** Variables that are not configuration keys but steer loading. */
export const CONTROL_VARIABLES = { profile: 'FANOUT_PROFILE', configFile: 'FANOUT_CONFIG' } as const;

/**
 * Short names for the variables people set most, the ones the search providers document
 * (the web adapters read the same names).
 */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  FANOUT_BRAVE_API_KEY: 'FANOUT_SEARCH__BRAVE__API_KEY',
  FANOUT_TAVILY_API_KEY: 'FANOUT_SEARCH__TAVILY__API_KEY',
  FANOUT_SEARXNG_URL: 'FANOUT_SEARCH__SEARXNG__URL',
};

type Schema = z.ZodType;

interface ZodInternals {
  _zod: { def: { type: string; innerType?: Schema; shape?: Record<string, Schema>; valueType?: Schema; element?: Schema; entries?: Record<string, string> } };
}

function def(schema: Schema): ZodInternals['_zod']['def'] {
  return (schema as unknown as ZodInternals)._zod.def;
}

/** Strips optional/default wrappers. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const d = def(current);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable') && d.innerType !== undefined) current = d.innerType;
    else return current;
  }
}

/** `API_KEY` → `apiKey`, `GREP` → `grep`. */
function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Finds the schema at a path of UPPER_SNAKE segments; returns the keys it resolved to. */
function resolvePath(segments: string[]): { keys: string[]; schema: Schema } | undefined {
  let schema: Schema = configSchemas().configSchema;
  const keys: string[] = [];
  for (const segment of segments) {
    const d = def(unwrap(schema));
    if (d.type === 'object' && d.shape !== undefined) {
      const key = camel(segment);
      const next = d.shape[key];
      if (next === undefined) return undefined;
      keys.push(key);
      schema = next;
    } else if (d.type === 'record' && d.valueType !== undefined) {
      // Record keys are names (kinds): lower case, as written.
      keys.push(segment.toLowerCase());
      schema = d.valueType;
    } else {
      return undefined;
    }
  }
  return { keys, schema };
}

/** Turns the text of a variable into the value its schema expects. */
function parseValue(text: string, schema: Schema, keys: string[]): unknown {
  const d = def(unwrap(schema));
  switch (d.type) {
    case 'number':
      return text.trim() === '' ? Number.NaN : Number(text);
    case 'boolean':
      return /^(1|true|yes|on)$/i.test(text) ? true : /^(0|false|no|off)$/i.test(text) ? false : text;
    case 'array':
      return text
        .split(keys.at(-1) === 'roots' ? delimiter : ',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
    default:
      return text;
  }
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null) node = next as Record<string, unknown>;
    else {
      const created: Record<string, unknown> = {};
      node[key] = created;
      node = created;
    }
  }
  node[keys.at(-1)!] = value;
}

/**
 * Reads configuration from `FANOUT_*` variables: the key path in UPPER_SNAKE, segments joined
 * by `__` (`FANOUT_CONCURRENCY`, `FANOUT_LIMITS__GREP__MAX`, `FANOUT_SEARCH__BRAVE__API_KEY`).
 * Lists are comma-separated (`FANOUT_ROOTS` uses the path delimiter, like `PATH`).
 * `FANOUT_PROFILE` picks the profile and `FANOUT_CONFIG` the file; {@link ENV_ALIASES} are
 * short names for common keys (`FANOUT_BRAVE_API_KEY`). Unknown variables and bad
 * values are issues naming the variable.
 */
export function configFromEnv(env: Readonly<Record<string, string | undefined>>): { config: Config; issues: ConfigIssue[]; profile: string | undefined; configFile: string | undefined } {
  const config: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('FANOUT_') || text === undefined) continue;
    if (name === CONTROL_VARIABLES.profile || name === CONTROL_VARIABLES.configFile) continue;
    const segments = (ENV_ALIASES[name] ?? name).slice('FANOUT_'.length).split('__');
    const found = segments.every((s) => s !== '') ? resolvePath(segments) : undefined;
    if (found === undefined) {
      issues.push({
        source: `env ${name}`,
        key: '',
        message: `unknown variable; expected FANOUT_ followed by a configuration key in UPPER_SNAKE with "__" between levels (FANOUT_CONCURRENCY, FANOUT_LIMITS__GREP__MAX, FANOUT_SEARCH__PROVIDERS …), ${CONTROL_VARIABLES.profile} or ${CONTROL_VARIABLES.configFile}`,
      });
      continue;
    }
    const leaf = def(unwrap(found.schema));
    if (leaf.type === 'object' || leaf.type === 'record') {
      issues.push({ source: `env ${name}`, key: found.keys.join('.'), message: `expected a variable for one value inside ${found.keys.join('.')}, not the whole section` });
      continue;
    }
    const value = parseValue(text, found.schema, found.keys);
    const checked = found.schema.safeParse(value);
    if (!checked.success) {
      // Described by the text as written, not as parsed: "many" read as a number is NaN. A list
      // is described as split, so that the bad entry is named with its place (`providers[1]`).
      const list = Array.isArray(value);
      const first = describeZodIssues(checked.error, list ? value : text)[0];
      const place = list && first !== undefined ? first.path : '';
      issues.push({ source: `env ${name}`, key: found.keys.join('.') + place, message: first?.message ?? `invalid value ${JSON.stringify(text)}` });
      continue;
    }
    setPath(config, found.keys, checked.data);
  }
  return {
    config: config as Config,
    issues,
    profile: env[CONTROL_VARIABLES.profile] || undefined,
    configFile: env[CONTROL_VARIABLES.configFile] || undefined,
  };
}
