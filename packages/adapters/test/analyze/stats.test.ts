import { join } from 'node:path';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { languageOf, type AnalyzeAdapter, type StatsOutput } from '../../src/analyze/index.js';
import { compileWorker, type CompiledWorker } from './compiled-worker.js';
import { analyze, builtInAdapter, makeTree, type Tree } from './fixtures.js';

let worker: CompiledWorker;
let tree: Tree;
let adapter: AnalyzeAdapter;

const binary = Uint8Array.from({ length: 100 }, (_, i) => i % 7); // NUL bytes at 0, 7, 14…

beforeAll(async () => {
  worker = await compileWorker();
  tree = await makeTree({
    'src/a.ts': 'const a = 1;\nconst b = 2;\n',
    'src/b.ts': 'export {}',
    'src/view.tsx': '<div/>\n',
    'src/uni.ts': '// é\n',
    'src/big.js': `${'x'.repeat(99)}\n`.repeat(1000), // 100,000 bytes: crosses the 64 KiB read chunks
    'lib/x.js': 'a\r\nb\r\nc\r\n',
    'README.md': '# T\n\nText\n',
    'empty.py': '',
    Makefile: 'all:\n\techo hi\n',
    noext: 'hello\n',
    'keep.log': 'kept\n',
    'image.bin': binary,
    '.hidden.ts': 'x\n',
    'node_modules/pkg/index.js': 'module.exports = 1;\n',
    '.gitignore': 'dist/\n*.log\n!keep.log\n',
    'dist/out.js': 'x\n',
    'debug.log': 'x\n',
    'sub/.gitignore': 'local.ts\n',
    'sub/local.ts': 'x\n',
    'sub/other.ts': 'y\n',
  });
  adapter = builtInAdapter(worker, [tree.root]);
});

afterAll(async () => {
  await adapter.close();
  await tree.cleanup();
  await worker.cleanup();
});

describe('analyze stats', () => {
  it('counts files, lines and bytes per language exactly as a hand count (gitignore, hidden and node_modules skipped)', async () => {
    const stats = await analyze<StatsOutput>(adapter, { analyzer: 'stats' });
    expect(stats).toEqual({
      analyzer: 'stats',
      files: 12,
      lines: 1016,
      bytes: 100_094,
      languages: {
        JavaScript: { files: 2, lines: 1003, bytes: 100_009 },
        Makefile: { files: 1, lines: 2, bytes: 14 },
        Markdown: { files: 1, lines: 3, bytes: 10 },
        Other: { files: 2, lines: 2, bytes: 11 },
        Python: { files: 1, lines: 0, bytes: 0 },
        TypeScript: { files: 5, lines: 6, bytes: 50 },
      },
      binary: { files: 1, bytes: 100 },
      largest: expect.any(Array),
      skipped: [],
      truncated: false,
    });
    // The ten largest, biggest first: big.js, then the binary image, then the rest by size.
    expect(stats.largest).toHaveLength(10);
    expect(stats.largest[0]).toEqual({ path: join(tree.root, 'src/big.js'), bytes: 100_000, lines: 1000, binary: false });
    expect(stats.largest[1]).toEqual({ path: join(tree.root, 'image.bin'), bytes: 100, lines: 0, binary: true });
    expect(stats.largest.map((f) => f.bytes)).toEqual([...stats.largest.map((f) => f.bytes)].sort((a, b) => b - a));
    expect(Object.keys(stats.languages)).toEqual(['JavaScript', 'Makefile', 'Markdown', 'Other', 'Python', 'TypeScript']);
  });

  it('counts hidden files, node_modules and ignored files when asked to', async () => {
    const stats = await analyze<StatsOutput>(adapter, { analyzer: 'stats', hidden: true, nodeModules: true, gitignore: false });
    expect(stats.languages).toEqual({
      JavaScript: { files: 4, lines: 1005, bytes: 100_031 },
      Makefile: { files: 1, lines: 2, bytes: 14 },
      Markdown: { files: 1, lines: 3, bytes: 10 },
      Other: { files: 5, lines: 7, bytes: 44 },
      Python: { files: 1, lines: 0, bytes: 0 },
      TypeScript: { files: 7, lines: 8, bytes: 54 },
    });
    expect(stats.files).toBe(19);
  });

  it('analyses only the given paths, and says when maxFiles cut the file list', async () => {
    const some = await analyze<StatsOutput>(adapter, { analyzer: 'stats', paths: ['lib', 'src/b.ts', 'README.md'] });
    expect(some.languages).toEqual({ JavaScript: { files: 1, lines: 3, bytes: 9 }, Markdown: { files: 1, lines: 3, bytes: 10 }, TypeScript: { files: 1, lines: 1, bytes: 9 } });
    const capped = await analyze<StatsOutput>(adapter, { analyzer: 'stats', paths: ['src'], maxFiles: 2 });
    // Tree order: a.ts, b.ts, big.js, uni.ts, view.tsx.
    expect(capped).toMatchObject({ files: 2, lines: 3, bytes: 35, truncated: true });
  });

  it('keeps totals equal to the sum of languages and lines equal to an independent count (property)', async () => {
    const names = fc.constantFrom('a.ts', 'b.js', 'c.md', 'd.py', 'e', 'f.rs', 'g/h.go', 'g/i.ts', 'Makefile');
    // One adapter for every sample: each run is a fresh tree under the temporary directory.
    const scratch = builtInAdapter(worker, [await realpath(tmpdir())], { maxConcurrency: 1 });
    // The same counts when the per-file work runs in the scan's worker threads from the first file.
    const threaded = builtInAdapter(worker, [await realpath(tmpdir())], {}, { inlineBudgetMs: 0 });
    const content = fc.array(fc.constantFrom('x', 'é', ' ', '\n', '\r\n', '\t', 'TODO', '😀'), { maxLength: 40 }).map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(names, content, { minKeys: 1 }), async (files) => {
        const sample = await makeTree(files);
        try {
          const stats = await analyze<StatsOutput>(scratch, { analyzer: 'stats', paths: [sample.root] });
          const expected: Record<string, { files: number; lines: number; bytes: number }> = {};
          for (const [name, text] of Object.entries(files)) {
            const language = (expected[languageOf(name)] ??= { files: 0, lines: 0, bytes: 0 });
            language.files++;
            language.lines += text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
            language.bytes += Buffer.byteLength(text);
          }
          expect(stats.languages).toEqual(expected);
          const sum = Object.values(stats.languages).reduce((total, l) => ({ files: total.files + l.files, lines: total.lines + l.lines, bytes: total.bytes + l.bytes }), { files: 0, lines: 0, bytes: 0 });
          expect({ files: stats.files, lines: stats.lines, bytes: stats.bytes }).toEqual(sum);
          expect(await analyze<StatsOutput>(threaded, { analyzer: 'stats', paths: [sample.root] })).toEqual(stats);
        } finally {
          await sample.cleanup();
        }
      }),
      { numRuns: 25 },
    );
    await scratch.close();
    await threaded.close();
  });

  it('names languages from file names and extensions, without case', () => {
    expect(languageOf('/r/src/index.TS')).toBe('TypeScript');
    expect(languageOf('/r/Dockerfile')).toBe('Dockerfile');
    expect(languageOf('/r/CMakeLists.txt')).toBe('CMake');
    expect(languageOf('/r/notes.txt')).toBe('Text');
    expect(languageOf('/r/.gitignore')).toBe('Other');
    expect(languageOf('/r/x.constructor')).toBe('Other');
  });
});
