import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type fg from 'fast-glob';

interface StreamProvider {
  read(task: fg.Task): Readable;
}
type StreamProviderClass = new (settings: unknown) => StreamProvider;
type SettingsClass = new (options: fg.Options) => unknown;

/** fast-glob, loaded on first use: a command that never globs (`fanout grep`) does not pay for loading it and its dependencies. */
let loaded: Promise<typeof fg> | undefined;
export function loadFastGlob(): Promise<typeof fg> {
  // A CommonJS module: its exports are the namespace's default.
  loaded ??= import('fast-glob').then((module) => (module as unknown as { default: typeof fg }).default);
  return loaded;
}

/*
 * fast-glob's `stream()` multiplexes its tasks' streams through merge2 even when there is
 * one task, so that async iterators work; its own source says this costs about 25%, and the
 * glob-tree benchmark measured the same here. A listing needs no iterator: fanout drives
 * fast-glob's stream provider itself, one stream per task, as `stream()` does inside, minus
 * the merge. The provider and settings are fast-glob 3's internal modules (unchanged since
 * 3.0); should a release move them, the public `stream()` takes over.
 */
let internals: { Provider: StreamProviderClass; Settings: SettingsClass } | undefined | null = null;
function fastGlobInternals(): { Provider: StreamProviderClass; Settings: SettingsClass } | undefined {
  if (internals !== null) return internals;
  try {
    const require = createRequire(import.meta.url);
    const Provider = (require('fast-glob/out/providers/stream') as { default?: StreamProviderClass }).default;
    const Settings = (require('fast-glob/out/settings') as { default?: SettingsClass }).default;
    internals = typeof Provider === 'function' && typeof Settings === 'function' ? { Provider, Settings } : undefined;
  } catch {
    internals = undefined;
  }
  return internals;
}

/** A walk in progress. */
export interface GlobWalk {
  /** Stops the walk: fast-glob's walkers are destroyed, their queues dropped. */
  stop(): void;
}

/**
 * Walks fast-glob `tasks` (from `fg.generateTasks(patterns, options)`), handing each entry to
 * `onEntry`, then calling `onEnd` once (with an error if a stream failed). One provider
 * serves every task, so `unique` holds across them as in fast-glob. `fastGlob` is the module
 * {@link loadFastGlob} gave.
 */
export function walkGlob(fastGlob: typeof fg, patterns: readonly string[], tasks: readonly fg.Task[], options: fg.Options, onEntry: (entry: string) => void, onEnd: (error?: unknown) => void): GlobWalk {
  let streams: Readable[];
  const internals = fastGlobInternals();
  if (internals !== undefined) {
    const provider = new internals.Provider(new internals.Settings(options));
    streams = tasks.map((task) => provider.read(task));
  } else {
    streams = [fastGlob.stream(patterns as string[], options) as Readable];
  }
  let open = streams.length;
  let ended = false;
  const end = (error?: unknown): void => {
    if (ended) return;
    ended = true;
    onEnd(error);
  };
  for (const stream of streams) {
    stream.on('data', onEntry);
    stream.once('end', () => {
      if (--open === 0) end();
    });
    stream.once('error', (error) => end(error));
  }
  if (open === 0) queueMicrotask(() => end());
  return {
    stop() {
      ended = true;
      for (const stream of streams) {
        stream.removeListener('data', onEntry);
        // Closing a provider stream destroys the fs.walk reader behind it.
        stream.destroy();
      }
    },
  };
}
