import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile, rename } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { defineAdapter } from '@fanout/scheduler';
import { z } from 'zod';

/** Directories the example never walks into. */
const SKIP = new Set(['node_modules', '.git', 'dist', '.nx', 'coverage']);

/** Lists the files under a directory, skipping build output and dependencies. */
export const listFiles = defineAdapter({
  kind: 'list-files',
  input: z.object({ root: z.string(), limit: z.number().int().positive().default(2000) }),
  defaults: { maxConcurrency: 2, idempotent: true, timeoutMs: 30_000 },
  async run({ root, limit }, { signal }) {
    const files: string[] = [];
    const pending = [root];
    while (pending.length > 0 && files.length < limit) {
      signal.throwIfAborted();
      const dir = pending.pop()!;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (SKIP.has(entry.name)) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) pending.push(path);
        else if (entry.isFile() && files.length < limit) files.push(path);
      }
    }
    return { root, files: files.sort() };
  },
});

/** Reads one file: its size, lines and SHA-256. */
export const digest = defineAdapter({
  kind: 'digest',
  input: z.object({ path: z.string() }),
  defaults: { maxConcurrency: 48, optimalConcurrency: 24, idempotent: true, timeoutMs: 10_000 },
  async run({ path }, { signal }) {
    const bytes = await readFile(path, { signal });
    let lines = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) lines++;
    return { path, bytes: bytes.length, lines, sha256: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
  },
});

const digestOutput = z.object({ path: z.string(), bytes: z.number(), lines: z.number() });

/** Totals bytes and lines per file extension. */
export const tally = defineAdapter({
  kind: 'tally',
  input: z.object({ root: z.string(), files: z.array(digestOutput) }),
  defaults: { maxConcurrency: 4, idempotent: true },
  run({ root, files }) {
    const byExtension = new Map<string, { files: number; bytes: number; lines: number }>();
    for (const file of files) {
      const ext = extname(file.path) || '(none)';
      const entry = byExtension.get(ext) ?? { files: 0, bytes: 0, lines: 0 };
      entry.files++;
      entry.bytes += file.bytes;
      entry.lines += file.lines;
      byExtension.set(ext, entry);
    }
    const largest = [...files].sort((a, b) => b.bytes - a.bytes).slice(0, 3).map((f) => ({ path: relative(root, f.path), bytes: f.bytes }));
    return { extensions: Object.fromEntries([...byExtension].sort((a, b) => b[1].bytes - a[1].bytes)), largest };
  },
});

/**
 * Stands in for a remote call (a web search, an API): waits the given time, then answers.
 * Real adapters for that arrive with `@fanout/adapters`; this one keeps `npm start` offline.
 */
export const remote = defineAdapter({
  kind: 'remote',
  input: z.object({ query: z.string(), ms: z.number().int().min(0) }),
  defaults: { maxConcurrency: 8, optimalConcurrency: 8, idempotent: true, timeoutMs: 5_000 },
  run: ({ query, ms }, { signal }) =>
    new Promise<{ query: string; answer: string }>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve({ query, answer: `${query}: ok after ${ms} ms` });
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
});

/** Writes a JSON report atomically (temporary file, then rename), under a write lock. */
export const writeReport = defineAdapter({
  kind: 'write-report',
  input: z.object({ path: z.string(), content: z.unknown() }),
  locks: (input) => [{ key: `file:${input.path}`, mode: 'write' }],
  defaults: { maxConcurrency: 4, idempotent: true },
  async run({ path, content }) {
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`);
    await rename(temporary, path);
    return { path };
  },
});

export const exampleAdapters = [listFiles, digest, tally, remote, writeReport];
