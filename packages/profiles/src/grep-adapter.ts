import type { FsScan } from '@fanout/adapters/fs';
import type { RipgrepSpawn } from '@fanout/adapters/grep';
import type { Adapter } from '@fanout/scheduler';
import type { Config } from './schema.js';

/**
 * The grep adapter, configured: the allowed roots and `grep.engine`, over `scan` (a new
 * `fsScan` of the roots when none is given). {@link adaptersFromConfig} builds its grep adapter
 * here; a command that only greps calls it alone, so that its bundle holds none of the other
 * families' modules (the web stack alone is ~1 MB, read and compiled at every start).
 * `spawnRipgrep` is the adapter's option of that name (`fanout grep` adopts an `rg` its
 * launcher started early).
 *
 * @example
 * const grep = await grepAdapterFromConfig(config);
 */
export async function grepAdapterFromConfig(config: Config, scan?: FsScan, options: { spawnRipgrep?: RipgrepSpawn } = {}): Promise<Adapter> {
  const roots = config.roots ?? [process.cwd()];
  // Its own entry point: a command that only greps does not load the glob stack.
  const { fsScan, grepAdapter } = await import('@fanout/adapters/grep');
  const shared = scan ?? fsScan({ roots });
  return grepAdapter({
    roots,
    scan: shared,
    ...(config.grep?.engine === undefined ? {} : { engine: config.grep.engine }),
    ...(options.spawnRipgrep === undefined ? {} : { spawnRipgrep: options.spawnRipgrep }),
  });
}
