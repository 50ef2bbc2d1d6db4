/**
 * The adapters the tools run on, made once per set of roots and kept: the grep and analyze
 * worker threads, connection pools and the spawn server outlive a call, so fifty calls in a
 * row pay for them once. Each family is loaded on first use (a server that only reads never
 * loads the web stack), from the configuration as every other command does
 * (`adaptersFromConfig`).
 */
import { isAbsolute, resolve, sep } from 'node:path';
import { adaptersFromConfig, type Config, type ConfiguredAdapters } from '@fanout/profiles';
import type { Adapter } from '@fanout/scheduler';

/** Kinds of each family, loaded together. */
const FAMILIES = {
  local: ['glob', 'grep', 'read', 'analyze'],
  web: ['fetch', 'search'],
  write: ['write'],
  shell: ['bash'],
} as const;

type Family = keyof typeof FAMILIES;
type Kind = (typeof FAMILIES)[Family][number];

/** Which family a kind belongs to (plan steps such as `rank-files` come with every family). */
function familyOf(kind: string): Family | undefined {
  for (const [family, kinds] of Object.entries(FAMILIES) as [Family, readonly string[]][]) if (kinds.includes(kind)) return family;
  return undefined;
}

/** The adapters of one set of roots. */
class RootedAdapters {
  readonly #families = new Map<Family, Promise<ConfiguredAdapters>>();
  readonly #config: Config;
  readonly #readRoots: string[];

  constructor(config: Config, readRoots: string[]) {
    this.#config = config;
    this.#readRoots = readRoots;
  }

  family(family: Family): Promise<ConfiguredAdapters> {
    let loading = this.#families.get(family);
    if (loading === undefined) {
      loading = this.#load(family);
      this.#families.set(family, loading);
      // A family that failed to load is tried again next time, not remembered as failed.
      loading.catch(() => this.#families.delete(family));
    }
    return loading;
  }

  async #load(family: Family): Promise<ConfiguredAdapters> {
    const kinds: Kind[] = [...FAMILIES[family]];
    if (family !== 'local') return adaptersFromConfig(this.#config, kinds);
    // `read` also reaches the runs' directory (the spilled reports), so a model can page
    // through what did not fit with the same tool; nothing else may.
    const configured = await adaptersFromConfig(
      this.#config,
      kinds.filter((kind) => kind !== 'read'),
    );
    const { readAdapter } = await import('@fanout/adapters/fs');
    return { adapters: [...configured.adapters, readAdapter({ roots: this.#readRoots }) as Adapter], close: configured.close };
  }

  async close(): Promise<void> {
    const loaded = await Promise.allSettled(this.#families.values());
    await Promise.all(loaded.map((entry) => (entry.status === 'fulfilled' ? entry.value.close() : undefined)));
  }
}

/**
 * A given `read` adapter that leaves to this process's the reads of the runs' directory
 * (`runsDir`, where the spilled reports are): an operation whose every path is in it runs
 * here, any other on the given adapter.
 */
function readOfRunsHere(given: Adapter, here: Adapter, runsDir: string): Adapter {
  const inRunsDir = (input: unknown): boolean => {
    const { path, paths } = (input ?? {}) as { path?: unknown; paths?: unknown };
    const all = Array.isArray(paths) ? paths : [path];
    return all.length > 0 && all.every((p) => typeof p === 'string' && isAbsolute(p) && resolve(p).startsWith(`${runsDir}${sep}`));
  };
  return { ...given, run: (input, context) => (inRunsDir(input) ? here.run(input, context) : given.run(input, context)) };
}

/**
 * The adapters for a call: every kind asked for, for the call's roots (adapters are made
 * for their roots, so two clients with different roots get different adapters).
 */
export class AdapterCache {
  readonly #config: Config;
  readonly #byRoots = new Map<string, RootedAdapters>();
  readonly #extraReadRoot: () => Promise<string | undefined>;
  /** Adapters given to run their kinds instead of the configured ones (workers, say). */
  readonly #given: ReadonlyMap<string, Adapter>;

  /**
   * `extraReadRoot` gives the runs' directory `read` may also reach, made on first use;
   * `given` adapters replace the configured ones of their kinds (see `FanoutMcpOptions.adapters`).
   */
  constructor(config: Config, extraReadRoot: () => Promise<string | undefined>, given: readonly Adapter[] = []) {
    this.#config = config;
    this.#extraReadRoot = extraReadRoot;
    this.#given = new Map(given.map((adapter) => [adapter.kind, adapter]));
  }

  /** The adapters of `kinds` (their families, plan steps included, each kind once) for `roots`. */
  async adapters(roots: readonly string[], kinds: readonly string[]): Promise<Adapter[]> {
    const key = roots.join('\0');
    let rooted = this.#byRoots.get(key);
    if (rooted === undefined) {
      const extra = await this.#extraReadRoot();
      rooted = new RootedAdapters({ ...this.#config, roots: [...roots] }, extra === undefined ? [...roots] : [...roots, extra]);
      this.#byRoots.set(key, rooted);
    }
    const families = [...new Set(kinds.map(familyOf).filter((family): family is Family => family !== undefined))];
    const loaded = await Promise.all(families.map((family) => rooted.family(family)));
    const byKind = new Map<string, Adapter>();
    for (const { adapters } of loaded) for (const adapter of adapters) if (!byKind.has(adapter.kind)) byKind.set(adapter.kind, adapter);
    if (this.#given.size > 0) {
      const extra = await this.#extraReadRoot();
      for (const [kind, here] of byKind) {
        const given = this.#given.get(kind);
        if (given !== undefined) byKind.set(kind, kind === 'read' && extra !== undefined ? readOfRunsHere(given, here, extra) : given);
      }
    }
    return [...byKind.values()];
  }

  /** Closes every worker pool, connection pool and spawn server. */
  async close(): Promise<void> {
    const all = [...this.#byRoots.values()];
    this.#byRoots.clear();
    await Promise.all(all.map((rooted) => rooted.close()));
  }
}

/**
 * `adapters` without their lock requests, for a run in which nothing writes (a read-only
 * tool, and no operation that declares locks of its own). Locks are held per run, each run
 * on its own scheduler, and a read lock only ever waits for a write lock, so in such a run
 * they can never make anything wait; taking them still cost a look at the file system per
 * path (`read` resolves each path's lock key: an `lstat` per file, a `realpath` per
 * directory) and kept every read off the scheduler's fast path.
 */
export function withoutLocks(adapters: readonly Adapter[]): Adapter[] {
  // A view of the same adapter, not a copy: its limiter, pools and closures stay shared.
  return adapters.map((adapter): Adapter => (adapter.locks === undefined ? adapter : (Object.create(adapter, { locks: { value: undefined, enumerable: true } }) as Adapter)));
}
