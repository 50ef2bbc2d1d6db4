import { join } from 'node:path';
import { readAdapter } from '@fanout/adapters/fs';
import { createScheduler, type Adapter } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutLocks } from '../src/adapters.js';
import { removeTree, tree } from './helpers.js';

describe('withoutLocks', () => {
  let root: string;

  beforeAll(async () => {
    root = await tree({ 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 2;\n' });
  });
  afterAll(async () => {
    await removeTree(root);
  });

  it('gives views of the adapters that take no locks and run as before, the adapters themselves untouched', async () => {
    const read = readAdapter({ roots: [root] }) as Adapter;
    const plain: Adapter = { kind: 'noop', input: read.input, run: async () => 'done' };
    const [view, same] = withoutLocks([read, plain]);
    const input = read.input.parse({ paths: ['src/a.ts', 'src/b.ts'] });
    expect(view!.locks).toBeUndefined();
    expect(view!.kind).toBe('read');
    expect(view!.defaults).toBe(read.defaults);
    expect(same).toBe(plain);
    // The adapter itself still takes its read locks, for runs that may write.
    expect(read.locks?.(input)).toEqual([
      { key: `file:${join(root, 'src', 'a.ts')}`, mode: 'read' },
      { key: `file:${join(root, 'src', 'b.ts')}`, mode: 'read' },
    ]);
    const result = await createScheduler({ adapters: [view!] }).execute({ operations: [{ id: 'r', kind: 'read', input: { paths: ['src/a.ts', 'src/b.ts'] } }] });
    const files = ([...result.operations()][0]!.output as { files: { path: string; text: string }[] }).files;
    expect(files.map((file) => [file.path, file.text])).toEqual([
      [join(root, 'src', 'a.ts'), 'export const a = 1;\n'],
      [join(root, 'src', 'b.ts'), 'export const b = 2;\n'],
    ]);
  });
});
