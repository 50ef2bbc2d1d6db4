/** A measured run's temporary directory (scratch.ts), in real temp directories. */
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCRATCH_ENV, scratchDir } from '../src/scratch.js';

const saved = process.env[SCRATCH_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[SCRATCH_ENV];
  else process.env[SCRATCH_ENV] = saved;
});

describe('scratchDir', () => {
  it("in an invocation's directory, leaves the run's files for the invocation to remove at its end", async () => {
    const invocation = await mkdtemp(join(tmpdir(), 'fanout-bench-scratch-test-'));
    try {
      process.env[SCRATCH_ENV] = invocation;
      const first = await scratchDir('fanout-bench-server-');
      expect(dirname(first.dir)).toBe(invocation);
      await writeFile(join(first.dir, 'run.ndjson'), '{}\n');
      await first.release();
      const second = await scratchDir('fanout-bench-server-');
      await second.release();
      expect((await readdir(invocation)).sort()).toEqual([first.dir, second.dir].map((dir) => dir.slice(invocation.length + 1)).sort());
      expect(await readdir(first.dir)).toEqual(['run.ndjson']);
    } finally {
      await rm(invocation, { recursive: true, force: true });
    }
  });

  it('on its own (a worker run by hand), removes its directory when released', async () => {
    delete process.env[SCRATCH_ENV];
    const { dir, release } = await scratchDir('fanout-bench-server-');
    expect(dirname(dir)).toBe(tmpdir());
    await writeFile(join(dir, 'run.ndjson'), '{}\n');
    await release();
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
