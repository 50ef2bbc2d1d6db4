import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globAdapter } from '../../src/fs/index.js';
import { attemptContext, tempDir } from './fs-fixtures.js';

/**
 * A walk that stops must not recurse. When fast-glob's walker still holds thousands of queued
 * directories at the moment the cap is reached, every one of them is handed to the adapter's
 * readdir after the stop; answering those synchronously made fastq call the next one from
 * inside the callback, one stack frame deeper each time (issue 10: `explore-codebase` on a
 * 27,700-file tree died with "Maximum call stack size exceeded"). Without the fix the
 * RangeError escapes from fast-glob's callbacks, and vitest fails the run on it.
 */
const base = tempDir('glob-stop');
/** Wide enough that the walker's queue outgrows the stack when drained synchronously. */
const WIDTH = 6000;

beforeAll(async () => {
  for (let i = 0; i < WIDTH; i++) await mkdir(join(base, `d${i}`, 'e'), { recursive: true });
}, 120_000);
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('glob: a walk stopped at its cap', () => {
  it('stops at a small maxResults over thousands of queued directories, without recursing', async () => {
    const adapter = globAdapter({ roots: [base] });
    for (const maxResults of [1, 10, 100]) {
      const output = await adapter.run(adapter.input.parse({ pattern: '**', type: 'directories', maxResults }), attemptContext());
      expect(output).toMatchObject({ count: maxResults, truncated: true });
    }
  });

  it('stops on an abort in the middle of the walk, without recursing', async () => {
    const adapter = globAdapter({ roots: [base] });
    const controller = new AbortController();
    let reads = 0;
    const counting = globAdapter({
      roots: [base],
      fs: {
        readdir: ((path: string, options: { withFileTypes: true }, callback: (error: Error | null, entries: unknown[]) => void) => {
          // Abort once the root's listing has queued every directory below it.
          if (++reads === 2) controller.abort(new Error('stop'));
          void import('node:fs').then(({ readdir }) => readdir(path, options, callback as never));
        }) as never,
      },
    });
    await expect(counting.run(counting.input.parse({ pattern: '**', type: 'directories' }), attemptContext(controller.signal))).rejects.toThrow('stop');
    // The adapter is usable afterwards: nothing was left half-done.
    const output = await adapter.run(adapter.input.parse({ pattern: 'd1/*', type: 'directories' }), attemptContext());
    expect(output.files).toEqual([join(base, 'd1', 'e')]);
  });
});
