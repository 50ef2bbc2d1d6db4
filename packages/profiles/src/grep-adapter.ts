import type { FsScan } from '@fanout/adapters/fs';
import type { Adapter } from '@fanout/scheduler';
import type { Config } from './schema.js';

/**
 * The grep adapter, configured: the allowed roots and `grep.engine`, over `scan` (a new
 * `fsScan` of the roots when none is given). {@link adaptersFromConfig} builds its grep adapter
 * here; a command that only greps calls it alone, so that its bundle holds none of the other
 * families' modules (the web stack alone is ~1 MB, read and compiled at every start).
 *
 * @example
 * const grep = await grepAdapterFromConfig(config);
 */
export async function grepAdapterFromConfig(config: Config, scan?: FsScan): Promise<Adapter> {
  const roots = config.roots ?? [process.cwd()];
  // Its own entry point: a command that only greps does not load the glob stack.
  const { fsScan, grepAdapter } = await import('@fanout/adapters/grep');
  const shared = scan ?? fsScan({ roots });
  return grepAdapter(config.grep?.engine === undefined ? { roots, scan: shared } : { roots, engine: config.grep.engine, scan: shared });
}
