import type { FsScan } from '@fanout/adapters/fs';
import type { Adapter } from '@fanout/scheduler';
import { grepAdapterFromConfig } from './grep-adapter.js';
import type { Config } from './schema.js';
import { PLAN_STEPS } from './steps.js';

/** The built-in adapters, configured, and how to release what they hold. */
export interface ConfiguredAdapters {
  adapters: Adapter[];
  /**
   * The scan the glob, grep and analyze adapters share (when one of them was asked for): a
   * caller that runs several read-only plans over one tree can hold its listings between
   * them (`scan.holdListings()`).
   */
  scan?: FsScan;
  /** Closes connection pools and worker threads; call it when the runs are over. */
  close(): Promise<void>;
}

/** The built-in kinds adaptersFromConfig can open. */
export type BuiltinKind = 'glob' | 'read' | 'write' | 'grep' | 'bash' | 'fetch' | 'search' | 'analyze';

/**
 * Builds the built-in adapters from configuration: the allowed roots for everything that
 * touches files, the search providers for `search`, plus the plan builders' steps. The glob,
 * grep and analyze adapters share one `fsScan`, so the scheduler can batch their operations
 * over the same tree (one walk, one read of each file). Each
 * family is imported only when one of its kinds is asked for, so a command that only runs
 * shell commands never loads the web stack.
 *
 * @example
 * const { adapters, close } = await adaptersFromConfig(config, ['grep']);
 */
export async function adaptersFromConfig(config: Config, kinds?: readonly BuiltinKind[]): Promise<ConfiguredAdapters> {
  const want = (kind: BuiltinKind): boolean => kinds === undefined || kinds.includes(kind);
  const roots = config.roots ?? [process.cwd()];
  const adapters: Adapter[] = [...PLAN_STEPS];
  // One scan for glob, grep and analyze: their operations that are ready together list each
  // directory once, and the built-in engine's greps and the analyses walk the tree once and
  // read each file once. fast-glob loads only when a glob runs, so the scan itself costs a
  // command that only greps nothing it does not use.
  let scan: FsScan | undefined;
  if (want('glob') || want('grep') || want('analyze')) {
    // The grep entry point holds the scan: a command that only greps does not load the rest of fs.
    const { fsScan } = await import('@fanout/adapters/grep');
    scan = fsScan({ roots });
  }
  if (want('glob') || want('read') || want('write')) {
    const fs = await import('@fanout/adapters/fs');
    if (want('glob')) adapters.push(fs.globAdapter({ roots, scan: scan! }));
    if (want('read')) adapters.push(fs.readAdapter({ roots }));
    if (want('write')) adapters.push(fs.writeAdapter({ roots }));
  }
  if (want('grep')) adapters.push(await grepAdapterFromConfig(config, scan!));
  if (want('bash')) {
    const shell = await import('@fanout/adapters/shell');
    const bash = shell.bashAdapter(config.shell?.spawner === undefined ? { roots } : { roots, spawner: config.shell.spawner });
    adapters.push(bash);
  }
  if (want('fetch') || want('search')) {
    const web = await import('@fanout/adapters/web');
    if (want('fetch')) {
      const allowAddresses = config.fetch?.allowAddresses;
      const fetch = web.fetchAdapter(allowAddresses === undefined ? {} : { allowAddresses });
      adapters.push(fetch);
    }
    if (want('search')) {
      const search = config.search ?? {};
      const adapter = web.searchAdapter(
        withoutUndefined({
          providers: search.providers,
          allowAddresses: search.allowAddresses,
          searxng: search.searxng,
          brave: search.brave === undefined ? undefined : withoutUndefined(search.brave),
          tavily: search.tavily === undefined ? undefined : withoutUndefined(search.tavily),
        }),
      );
      adapters.push(adapter);
    }
  }
  if (want('analyze')) {
    const analyze = await import('@fanout/adapters/analyze');
    const adapter = analyze.analyzeAdapter(scan === undefined ? { roots } : { roots, scan });
    adapters.push(adapter);
  }
  return {
    adapters,
    ...(scan === undefined ? {} : { scan }),
    // Every adapter is closed the same way, through the contract's optional close().
    close: async () => {
      await Promise.all(adapters.map((adapter) => adapter.close?.()));
    },
  };
}

/** The object without its `undefined` fields (options are exact: absent, not undefined). */
function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
