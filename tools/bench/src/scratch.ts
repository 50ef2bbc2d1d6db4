/**
 * Where a measured run keeps its temporary files. A bench invocation (runner.ts) names one
 * directory for all its workers and removes it once its rounds are done; a worker's files are
 * then left in it, not removed as its run ends: the next run's server would otherwise create
 * its files among hundreds of inodes freed a moment before, which ext4 walks past on every
 * create (`recently_deleted`), making whichever subject comes after a removal slower.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The environment variable naming the invocation's directory (set by runner.ts for its workers).
 * Not `FANOUT_…`: the workers' fanout processes inherit it, and fanout refuses a `FANOUT_`
 * variable that is not one of its configuration keys.
 */
export const SCRATCH_ENV = 'BENCH_SCRATCH_DIR';

/** A fresh directory for one measured run; `release` removes it, unless the invocation removes it at its end. */
export async function scratchDir(prefix: string): Promise<{ dir: string; release(): Promise<void> }> {
  const kept = process.env[SCRATCH_ENV];
  const dir = await mkdtemp(join(kept === undefined || kept === '' ? tmpdir() : kept, prefix));
  return { dir, release: () => (kept === undefined || kept === '' ? rm(dir, { recursive: true, force: true }) : Promise.resolve()) };
}
