import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A fresh temporary directory (its real path, so comparisons with outputs hold on macOS too). */
export function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `fanout-${prefix}-`)));
}

/** Writes files given as `{ "relative/path": content }`, creating directories on the way. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** Makes a named pipe (Node has no mkfifo). */
export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** The descriptors this process holds open on `path`, read from /proc/self/fd (Linux). */
export function openDescriptors(path: string): number[] {
  const found: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) found.push(Number(fd));
    } catch {
      // The descriptor closed while we looked (readdir's own, for one).
    }
  }
  return found;
}

export { attemptContext } from '../../src/testing/index.js';
