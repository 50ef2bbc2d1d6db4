/**
 * Which configuration may widen what fanout may touch. A `fanout.config.json` (or a
 * package.json `"fanout"` key) found by searching upward from the working directory is part
 * of the tree being explored, or of a directory above it that anyone may have written to
 * (`/tmp/fanout.config.json` reaches every checkout under `/tmp`): it is **untrusted**. It
 * may tune how fanout runs and narrow what it touches, never widen it:
 *
 * - it may set the keys of {@link UNTRUSTED_KEYS} (limits, timeouts, retries, thresholds,
 *   the output budget, the order of search providers, the shell spawner, the profile);
 * - `roots` only when every root lies inside the roots in effect without the file (the
 *   trusted layers' roots, else the working directory), real paths compared, so a symlink
 *   inside pointing out does not pass; `output.spillDir` likewise (spilled reports are files
 *   fanout writes);
 * - anything else — search endpoints and keys (a URL there would receive your queries, and
 *   with a key from your environment, your key), and any key added later that this policy
 *   does not name — is set aside.
 *
 * What is set aside is reported (`LoadedConfig.refused`), never silently applied. Trusted
 * to widen: the built-in profiles, the user's own file (`$XDG_CONFIG_HOME/fanout/config.json`,
 * default `~/.config/fanout/config.json`), a file named explicitly (`--config FILE`,
 * `FANOUT_CONFIG`), `FANOUT_*` variables and options passed in (CLI flags, the API).
 */
import { isAbsolute, resolve } from 'node:path';
import { AllowedRoots } from '@fanout/adapters';
import type { ConfigIssue } from './errors.js';
import type { Config } from './schema.js';

/** Top-level keys an untrusted file may set as it likes: none of them widens what fanout touches. */
export const UNTRUSTED_KEYS = ['$schema', 'profile', 'concurrency', 'limits', 'thresholds', 'retry', 'timeouts', 'network', 'shell'] as const;

/** Keys of `output` an untrusted file may set as it likes (`spillDir` only inside the roots). */
const UNTRUSTED_OUTPUT_KEYS = new Set(['budgetChars', 'budgetTokens']);

/** Keys of `search` an untrusted file may set (the order of the providers you configured; not their endpoints or keys). */
const UNTRUSTED_SEARCH_KEYS = new Set(['providers']);

const WHY =
  'a configuration file found by searching upward is untrusted: it may narrow what fanout touches, never widen it (name the file with --config or FANOUT_CONFIG, or put the setting in your user configuration, to trust it)';

/** What an untrusted layer keeps, and what it had to give up. */
export interface TrustedPart {
  config: Config;
  refused: ConfigIssue[];
}

/**
 * Applies the trust policy to one layer found by searching upward. `baselineRoots` are the
 * roots in effect without it (relative ones against `cwd`).
 */
export function untrustedLayer(layer: Config, source: string, baselineRoots: readonly string[], cwd: string): TrustedPart {
  const refused: ConfigIssue[] = [];
  const kept: Record<string, unknown> = {};
  const baseline = AllowedRoots.of(baselineRoots.map((root) => resolve(cwd, root)));
  const inside = (path: string, key: string): boolean => {
    try {
      baseline.checkSync(isAbsolute(path) ? path : resolve(cwd, path), key);
      return true;
    } catch {
      return false;
    }
  };
  const where = baseline.paths.join(', ');
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    if ((UNTRUSTED_KEYS as readonly string[]).includes(key)) {
      kept[key] = value;
    } else if (key === 'roots') {
      const roots = value as string[];
      const outside = roots.filter((root, i) => !inside(root, `roots[${i}]`));
      if (outside.length === 0) kept.roots = roots;
      else refused.push({ source, key: 'roots', message: `set aside: expected roots inside ${where}, got ${outside.map((root) => JSON.stringify(root)).join(', ')} outside; ${WHY}` });
    } else if (key === 'output') {
      const output: Record<string, unknown> = {};
      for (const [inner, innerValue] of Object.entries(value as Record<string, unknown>)) {
        if (UNTRUSTED_OUTPUT_KEYS.has(inner)) output[inner] = innerValue;
        else if (inner === 'spillDir' && inside(innerValue as string, 'output.spillDir')) output[inner] = innerValue;
        else refused.push({ source, key: `output.${inner}`, message: `set aside: expected a directory inside ${where}, got ${JSON.stringify(innerValue)}; ${WHY}` });
      }
      if (Object.keys(output).length > 0) kept.output = output;
    } else if (key === 'search') {
      const search: Record<string, unknown> = {};
      for (const [inner, innerValue] of Object.entries(value as Record<string, unknown>)) {
        if (UNTRUSTED_SEARCH_KEYS.has(inner)) search[inner] = innerValue;
        else if (inner === 'allowAddresses') refused.push({ source, key: 'search.allowAddresses', message: `set aside: the addresses search providers may be at (SSRF); ${WHY}` });
        else refused.push({ source, key: `search.${inner}`, message: `set aside: a search endpoint or key (where your queries, and your keys, would go); ${WHY}` });
      }
      if (Object.keys(search).length > 0) kept.search = search;
    } else {
      refused.push({ source, key, message: `set aside; ${WHY}` });
    }
  }
  return { config: kept as Config, refused };
}
