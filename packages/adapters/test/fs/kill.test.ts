/*
 * `kill -9` in the middle of writes: a process overwriting a file over and over is killed
 * while a write is under way. What the file holds afterwards must be one whole content, never
 * a mix or a prefix; only a temporary file may be left beside it (nothing can clean up after
 * SIGKILL). The child runs the built adapter (`dist`), as a real process would.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './fs-fixtures.js';

const root = tempDir('kill');
const DIST = fileURLToPath(new URL('../../dist/fs/index.js', import.meta.url));
const SIZE = 8 * 1024 * 1024;

/** Overwrites target.txt with 8 MiB of one letter, a new letter each time, saying "wrote N" after each. */
const WRITER = `
const { writeAdapter } = await import(process.env.DIST);
const adapter = writeAdapter({ roots: [process.env.ROOT] });
for (let i = 0; ; i++) {
  const letter = String.fromCharCode(65 + (i % 26));
  await adapter.run(adapter.input.parse({ path: 'target.txt', content: Buffer.alloc(${SIZE}, letter).toString('latin1'), fsync: false }), { id: 'w', kind: 'write', attempt: 1, signal: new AbortController().signal, deadline: undefined, progress() {} });
  process.stdout.write('wrote ' + i + '\\n');
}
`;

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('kill -9 during overwrites', () => {
  it('leaves the file whole, old content or new, at every kill', async () => {
    let cut = 0;
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER], { env: { ...process.env, DIST, ROOT: root }, stdio: ['ignore', 'pipe', 'inherit'] });
      let written = 0;
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        written += chunk.split('\n').filter((line) => line.startsWith('wrote')).length;
      });
      // Killed as soon as the temporary file of a write after the first appears (inotify):
      // the kill lands while that write is under way, or just after its rename.
      const exited = once(child, 'exit');
      const watcher = watch(root, (_event, name) => {
        if (written >= 1 + (round % 3) && typeof name === 'string' && name.endsWith('.fanout-tmp')) child.kill('SIGKILL');
      });
      const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      watcher.close();
      expect(signal).toBe('SIGKILL');
      const content = await readFile(join(root, 'target.txt'), 'latin1');
      expect(content.length).toBe(SIZE);
      expect(content).toBe(content[0]!.repeat(SIZE));
      // At most one temporary file: the write the kill cut short.
      const others = (await readdir(root)).filter((name) => name !== 'target.txt');
      expect(others.length).toBeLessThanOrEqual(1);
      expect(others.every((name) => /^\.target\.txt\.[0-9a-f]{12}\.fanout-tmp$/.test(name))).toBe(true);
      cut += others.length;
      for (const name of others) await rm(join(root, name));
    }
    // The kills really landed mid-write (a temporary file was left), not only between writes.
    expect(cut).toBeGreaterThan(0);
  }, 120_000);
});
