/*
 * FileWork, the per-file work of a pass, read by the file's first read when one consumer wants
 * it (its size is what was read up to the end) and by fstat first otherwise: both ways must give
 * every kind of file the same outcome — and count the same files and bytes read.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileSearchConfig } from '../../../src/fs/grep/file.js';
import { compilePattern } from '../../../src/fs/grep/pattern.js';
import { FileWork, type ConsumerOutcome, type ConsumerSpec, type ScanTask } from '../../../src/fs/scan/work.js';
import { makeTree, type Tree } from '../grep/fixtures.js';

/** Past the 1 MiB read buffer: read by fstat's size, after the first read filled the buffer. */
const BIG = 3 * 1024 * 1024 + 17;

let tree: Tree;

beforeAll(async () => {
  tree = await makeTree({
    'small.txt': 'one\nneedle two\nneedle\n',
    'none.txt': 'nothing here\n',
    'empty.txt': '',
    'big.txt': `${'x'.repeat(BIG - 'needle at the end\n'.length - 1)}\nneedle at the end\n`,
    'dir/': '',
  });
  execFileSync('mkfifo', [tree.path('fifo')]);
}, 60_000);
afterAll(async () => {
  await tree?.cleanup();
});

function grep(mode: 'count' | 'content', maxFileSize = Number.POSITIVE_INFINITY): ConsumerSpec {
  const config: FileSearchConfig = {
    matcher: compilePattern('needle', { fixedStrings: false, ignoreCase: false, smartCase: false, word: false }),
    mode,
    before: 0,
    after: 0,
    maxCount: Number.POSITIVE_INFINITY,
    maxFileSize,
    followSymlinks: false,
    lineMatches: false,
  };
  return { type: 'grep', config };
}

function task(name: string, consumers: number[]): ScanTask {
  return { id: 7, path: tree.path(name), follow: false, named: false, consumers, limits: consumers.map(() => Number.POSITIVE_INFINITY) };
}

/** The outcome without its timings (they differ from run to run). */
function untimed(outcome: ConsumerOutcome | undefined): unknown {
  return JSON.parse(JSON.stringify(outcome), (key, value: unknown) => (key === 'elapsed' || key === 'elapsedNs' ? 0 : value));
}

/** Each file through a FileWork whose task names only `consumer`, and through one whose task names it with `other` too. */
function both(specs: ConsumerSpec[], name: string): { alone: unknown; shared: unknown; counts: [number, number][] } {
  const alone = new FileWork(specs, [tree.dir]);
  const shared = new FileWork(specs, [tree.dir]);
  const one = alone.run(task(name, [0]));
  const two = shared.run(task(name, [0, 1]));
  expect(one).toHaveLength(1);
  return {
    alone: untimed(one[0]),
    shared: untimed(two[0]),
    counts: [
      [alone.filesRead, alone.bytesRead],
      [shared.filesRead, shared.bytesRead],
    ],
  };
}

describe('FileWork', () => {
  it('gives a file one consumer wants the outcome it has among several, and counts the same reads', () => {
    const specs = [grep('count'), grep('content')];
    for (const name of ['small.txt', 'none.txt', 'empty.txt', 'big.txt']) {
      const { alone, shared, counts } = both(specs, name);
      expect(alone, name).toEqual(shared);
      expect(counts[0], name).toEqual(counts[1]);
    }
    expect(both(specs, 'small.txt').alone).toMatchObject({ status: 'searched', matchedLines: 2, matches: 2, bytes: 22 });
    expect(both(specs, 'none.txt').alone).toBe(13);
    expect(both(specs, 'empty.txt').alone).toBe(0);
    expect(both(specs, 'big.txt')).toMatchObject({
      alone: { status: 'searched', matchedLines: 1, bytes: BIG },
      counts: [
        [1, BIG],
        [1, BIG],
      ],
    });
  });

  it('skips a FIFO or a directory found where the walk saw a file, without blocking, whatever the consumers', () => {
    const specs = [grep('count'), { type: 'stats' } as const];
    for (const name of ['fifo', 'dir']) {
      const { alone, shared, counts } = both(specs, name);
      expect(alone, name).toEqual({ index: 7, status: 'skipped' });
      expect(shared, name).toEqual(alone);
      expect(counts, name).toEqual([
        [0, 0],
        [0, 0],
      ]);
    }
  });

  it('reports a file over maxFileSize as large, with its size, and counts it unread', () => {
    const specs = [grep('count', 10), grep('count')];
    for (const name of ['small.txt', 'big.txt']) {
      const { alone, shared, counts } = both(specs, name);
      expect(alone, name).toEqual({ index: 7, status: 'large', bytes: name === 'big.txt' ? BIG : 22 });
      expect(shared, name).toEqual(alone);
      expect(counts[0], name).toEqual([0, 0]);
    }
  });

  it('fails a file that cannot be opened with its error code', () => {
    const { alone, shared } = both([grep('count'), grep('content')], 'missing.txt');
    expect(alone).toMatchObject({ status: 'error', code: 'ENOENT' });
    expect(shared).toEqual(alone);
  });
});
