import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineAdapter, FanoutError } from '@fanout/scheduler';
import { z } from 'zod';

/*
 * Small real adapters for the end-to-end tests, producing the output contract of
 * @fanout/adapters from real files and real HTTP servers (this package may not depend on
 * @fanout/adapters). They do the real work in the simplest way, not the fast one.
 */

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, dirent.name);
    if (dirent.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out.sort();
}

export const globAdapter = defineAdapter({
  kind: 'glob',
  input: z.object({ cwd: z.string(), suffix: z.string().optional() }),
  defaults: { maxConcurrency: 4, idempotent: true },
  run: async ({ cwd, suffix }) => {
    const files = (await walk(cwd)).filter((f) => suffix === undefined || f.endsWith(suffix));
    return { files, count: files.length, truncated: false };
  },
});

/** A line-by-line grep producing ripgrep --json messages, byte offsets included. */
export const grepAdapter = defineAdapter({
  kind: 'grep',
  input: z.object({ pattern: z.string(), paths: z.array(z.string()) }),
  defaults: { maxConcurrency: 4, idempotent: true },
  run: async ({ pattern, paths }) => {
    const regex = new RegExp(pattern);
    const messages: unknown[] = [];
    let matches = 0;
    for (const root of paths) {
      const info = await stat(root).catch((cause: unknown) => {
        throw new FanoutError('FANOUT_NOT_FOUND', `expected ${root} to exist, but it does not`, { path: 'paths[0]', cause });
      });
      for (const file of info.isDirectory() ? await walk(root) : [root]) {
        const lines = (await readFile(file, 'utf8')).split('\n');
        let offset = 0;
        let opened = false;
        let inFile = 0;
        lines.forEach((line, i) => {
          const m = regex.exec(line);
          if (m !== null) {
            if (!opened) messages.push({ type: 'begin', data: { path: { text: file } } });
            opened = true;
            inFile++;
            const start = Buffer.byteLength(line.slice(0, m.index));
            messages.push({
              type: 'match',
              data: { path: { text: file }, lines: { text: `${line}\n` }, line_number: i + 1, absolute_offset: offset, submatches: [{ match: { text: m[0] }, start, end: start + Buffer.byteLength(m[0]) }] },
            });
          }
          offset += Buffer.byteLength(line) + 1;
        });
        if (opened) messages.push({ type: 'end', data: { path: { text: file }, binary_offset: null, stats: { matches: inFile, matched_lines: inFile } } });
        matches += inFile;
      }
    }
    return { messages, stats: { files: 0, filesWithMatches: 0, matches, matchedLines: matches, bytesSearched: 0 }, truncated: false };
  },
});

export const readAdapter = defineAdapter({
  kind: 'read',
  input: z.object({ paths: z.array(z.string()) }),
  defaults: { maxConcurrency: 4, idempotent: true },
  run: async ({ paths }) => ({
    files: await Promise.all(
      paths.map(async (path) => {
        try {
          const text = await readFile(path, 'utf8');
          return { path, ok: true, text, encoding: 'utf8', bytes: Buffer.byteLength(text), binary: false, truncated: false };
        } catch (error) {
          return { path, ok: false, error: { code: 'FANOUT_NOT_FOUND', message: (error as Error).message } };
        }
      }),
    ),
  }),
});

/** Asks a SearXNG-format server and normalises its answer to the search contract. */
export function searchAdapter(base: string) {
  return defineAdapter({
    kind: 'search',
    input: z.object({ query: z.string(), provider: z.string() }),
    defaults: { maxConcurrency: 4, idempotent: true },
    run: async ({ query, provider }, ctx) => {
      const response = await fetch(`${base}/search?q=${encodeURIComponent(query)}&format=json&engine=${provider}`, { signal: ctx.signal });
      if (!response.ok) throw new FanoutError('FANOUT_HTTP_STATUS', `expected 200 from ${provider}, got ${response.status}`);
      const body = (await response.json()) as { query: string; results: { url: string; title: string; content: string }[] };
      return {
        query: body.query,
        provider,
        tried: [provider],
        results: body.results.map((r, i) => ({ title: r.title, url: r.url, snippet: r.content, rank: i + 1, provider })),
      };
    },
  });
}

export const fetchAdapter = defineAdapter({
  kind: 'fetch',
  input: z.object({ url: z.string() }),
  defaults: { maxConcurrency: 8, idempotent: true },
  run: async ({ url }, ctx) => {
    const response = await fetch(url, { signal: ctx.signal });
    const text = await response.text();
    return {
      url: response.url,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      redirects: response.redirected ? [url] : [],
      contentType: response.headers.get('content-type') ?? undefined,
      bytes: Buffer.byteLength(text),
      truncated: false,
      text,
    };
  },
});
