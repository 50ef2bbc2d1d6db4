import { realpath } from 'node:fs/promises';
import { normalize, sep } from 'node:path';

/**
 * The lexical identity of a file path: `.` and `..` segments resolved, repeated separators
 * and a trailing separator removed. No file system access: on the hot path of an
 * aggregation every path passes here, and most are already normal (one scan, no copy).
 * Real paths (symlinks) are resolved later and only on request: see `realPaths` in the
 * report options.
 */
export function normalizePath(path: string): string {
  if (isNormal(path)) return path;
  const normal = normalize(path);
  return normal.length > 1 && normal.endsWith(sep) ? normal.slice(0, -1) : normal;
}

// Anything path.normalize would change: "//", a "." or ".." segment, a trailing "/".
const NOT_NORMAL = /\/\/|(?:^|\/)\.\.?(?:\/|$)|.\/$/;

function isNormal(path: string): boolean {
  return path !== '' && sep === '/' && !NOT_NORMAL.test(path);
}

/**
 * Resolves many paths to their real paths, `concurrency` at a time. A path that cannot be
 * resolved (gone, no permission) keeps its lexical form: it is still a fine key.
 */
export async function resolveRealPaths(paths: Iterable<string>, concurrency = 32, signal?: AbortSignal): Promise<Map<string, string>> {
  const list = [...new Set(paths)];
  const resolved = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      signal?.throwIfAborted();
      const path = list[next++]!;
      try {
        resolved.set(path, await realpath(path));
      } catch {
        resolved.set(path, path);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  return resolved;
}
