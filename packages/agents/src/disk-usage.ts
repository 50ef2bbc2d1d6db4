/**
 * How much disk a worktree takes: every file's allocated blocks under it, counted once per
 * inode (hard links, which package managers' stores use, are not counted twice), symbolic
 * links not followed. What `du -s` reports, without starting `du`.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes allocated on disk under `root`; a part that cannot be read counts as zero. */
export async function diskUsage(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    // Directory by directory, the lstat calls of one directory at once.
    await Promise.all(
      entries.map(async (entry) => {
        const path = join(dir, entry.name);
        try {
          const stat = await lstat(path);
          if (stat.nlink > 1 && !stat.isDirectory()) {
            const inode = `${stat.dev}:${stat.ino}`;
            if (seen.has(inode)) return;
            seen.add(inode);
          }
          total += stat.blocks * 512;
          if (entry.isDirectory()) pending.push(path);
        } catch {
          // Gone since the listing: nothing to count.
        }
      }),
    );
  }
  return total;
}
