import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { AdapterError } from './errors.js';
import { realpath } from './path-calls.js';

/** A resolved path that passed the root checks. */
export interface SafePath {
  /** Absolute path as asked for (after `..` and `.` are resolved). */
  path: string;
  /** Its real path when it exists (symlinks resolved); the nearest existing parent's real path joined with the rest otherwise. */
  real: string;
  exists: boolean;
}

interface Root {
  /** As configured, made absolute. */
  lexical: string;
  /** After `realpath` (a root may itself be a symlink, like /tmp on macOS). */
  real: string;
}

/**
 * The real path of an absolute path, without throwing: its `realpath` when it exists, else
 * its nearest existing parent's real path joined with the rest (how a new file is placed).
 */
export function resolveRealSync(absolute: string): { real: string; exists: boolean } {
  try {
    return { real: realpathSync.native(absolute), exists: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  let parent = dirname(absolute);
  let rest = absolute.slice(parent.length);
  for (;;) {
    try {
      return { real: join(realpathSync.native(parent), rest), exists: false };
    } catch {
      const up = dirname(parent);
      if (up === parent) return { real: absolute, exists: false };
      rest = parent.slice(up.length) + rest;
      parent = up;
    }
  }
}

/** Is `path` the directory `root` or inside it? Compared with a trailing separator, so `/root_evil` is not inside `/root`. */
export function isInside(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/**
 * The directories an adapter may touch. Every path goes through {@link AllowedRoots.check}:
 * NUL bytes are refused; the path is resolved and must lie inside a root (compared with a
 * trailing separator); then its real path must too, so a symlink pointing out is refused,
 * for files and directories alike; a path that does not exist yet is checked through its
 * nearest existing parent's real path. These are the fixes of the 2025 MCP filesystem
 * server CVEs (a prefix check, a symlink escape).
 *
 * @example
 * const roots = AllowedRoots.of(['/work/project']);
 * const { real } = await roots.check('src/index.ts', 'path');
 */
export class AllowedRoots {
  readonly #roots: Root[];

  private constructor(roots: Root[]) {
    this.#roots = roots;
  }

  /**
   * Roots from paths (relative ones against the working directory).
   * @default [process.cwd()]
   */
  static of(paths: readonly string[] = [process.cwd()]): AllowedRoots {
    if (paths.length === 0) throw new AdapterError('FANOUT_PATH_INVALID', 'expected at least one allowed root, got none', { path: 'roots' });
    return new AllowedRoots(
      paths.map((path, i) => {
        if (typeof path !== 'string' || path.includes('\0')) {
          throw new AdapterError('FANOUT_PATH_INVALID', `expected roots[${i}] to be a path without NUL bytes, got ${JSON.stringify(path)}`, { path: `roots[${i}]` });
        }
        const lexical = resolve(path);
        let real = lexical;
        try {
          real = realpathSync(lexical);
        } catch {
          // A root that does not exist yet is compared lexically until it does.
        }
        return { lexical, real };
      }),
    );
  }

  /** The roots, absolute (as configured). The first is where relative paths start. */
  get paths(): string[] {
    return this.#roots.map((root) => root.lexical);
  }

  /** The roots' real paths (symlinks resolved; as configured while a root does not exist), what opened descriptors are checked against. */
  get realPaths(): string[] {
    return this.#roots.map((root) => root.real);
  }

  /** Where relative paths are resolved from: the first root. */
  get base(): string {
    return this.#roots[0]!.lexical;
  }

  /**
   * Resolves `path` (relative to `base`, default the first root) and checks it against the
   * roots. `field` names the input field in errors (`"path"`, `"paths[2]"`).
   */
  async check(path: string, field: string, base = this.base): Promise<SafePath> {
    const absolute = this.#lexical(path, field, base);
    let real: string;
    let exists = true;
    try {
      real = await realpath(absolute);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
      exists = false;
      real = await this.#throughParent(absolute);
    }
    this.#requireInside(real, path, field, absolute);
    return { path: absolute, real, exists };
  }

  /** Synchronous {@link check}, for hot loops that already hold a checked directory. */
  checkSync(path: string, field: string, base = this.base): SafePath {
    const absolute = this.#lexical(path, field, base);
    const { real, exists } = resolveRealSync(absolute);
    this.#requireInside(real, path, field, absolute);
    return { path: absolute, real, exists };
  }

  /** Is an absolute real path inside a root? (No file system access.) */
  contains(realPath: string): boolean {
    return this.#roots.some((root) => isInside(root.real, realPath));
  }

  #lexical(path: string, field: string, base: string): string {
    if (typeof path !== 'string' || path === '') {
      throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to be a non-empty path, got ${JSON.stringify(path)}`, { path: field });
    }
    if (path.includes('\0')) {
      throw new AdapterError('FANOUT_PATH_INVALID', `expected ${field} to have no NUL byte, got ${JSON.stringify(path)}`, { path: field });
    }
    const absolute = isAbsolute(path) ? resolve(path) : resolve(base, path);
    this.#requireInside(absolute, path, field, undefined);
    return absolute;
  }

  async #throughParent(absolute: string): Promise<string> {
    let parent = dirname(absolute);
    let rest = absolute.slice(parent.length);
    for (;;) {
      try {
        return (await realpath(parent)) + rest;
      } catch {
        const up = dirname(parent);
        if (up === parent) return absolute;
        rest = parent.slice(up.length) + rest;
        parent = up;
      }
    }
  }

  /** `absolute` is given when `candidate` is a real path (checked against the roots' real paths). */
  #requireInside(candidate: string, asked: string, field: string, absolute: string | undefined): void {
    const inside = this.#roots.some((root) => (absolute === undefined ? isInside(root.lexical, candidate) || isInside(root.real, candidate) : isInside(root.real, candidate)));
    if (inside) return;
    const roots = this.#roots.map((root) => root.lexical).join(', ');
    const how = absolute !== undefined && candidate !== absolute ? ` (it resolves to ${candidate} through a symlink)` : '';
    throw new AdapterError('FANOUT_PATH_OUTSIDE_ROOT', `expected ${field} inside the allowed roots (${roots}), got ${JSON.stringify(asked)}${how}`, { path: field });
  }
}
