/**
 * Finding `rg` on PATH, without a process and without loading anything but `node:fs` and
 * `node:path` (the launcher of `fanout grep` uses it before it loads the command, see
 * `early.ts`).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

const found = new Map<string, string | undefined>();

/** Is `path` an executable regular file? */
export function executableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of `rg` on `pathVariable` (PATH by default), or undefined; cached per value. */
export function ripgrepOnPath(pathVariable: string = process.env.PATH ?? ''): string | undefined {
  if (found.has(pathVariable)) return found.get(pathVariable);
  let path: string | undefined;
  for (const dir of pathVariable.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'rg');
    if (executableFile(candidate)) {
      path = candidate;
      break;
    }
  }
  found.set(pathVariable, path);
  return path;
}
