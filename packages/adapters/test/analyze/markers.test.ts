import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MARKER_TEXT, type AnalyzeAdapter, type MarkersOutput } from '../../src/analyze/index.js';
import { compileWorker, type CompiledWorker } from './compiled-worker.js';
import { analyze, builtInAdapter, makeTree, type Tree } from './fixtures.js';

let worker: CompiledWorker;
let tree: Tree;
let adapter: AnalyzeAdapter;

const code = ['// TODO: first', 'const x = 1; /* FIXME(bob) later */', 'TODOS and todo and XXXL and _HACK are not markers', '  HACK  ', 'two: TODO a XXX b'].join('\r\n');

beforeAll(async () => {
  worker = await compileWorker();
  tree = await makeTree({
    'a-bom.md': '\uFEFFTODO at start\n',
    'bin.dat': Buffer.from('TODO: in a binary\0file'),
    // CRLF lines, then LF ones, then a last line without an ending.
    'src/code.ts': `${code}\r\n😀 TODO after emoji\nFIXME`,
    'z.txt': 'nothing here\n',
  });
  adapter = builtInAdapter(worker, [tree.root]);
});

afterAll(async () => {
  await adapter.close();
  await tree.cleanup();
  await worker.cleanup();
});

describe('analyze markers', () => {
  it('finds markers with exact 1-based lines and columns and the text to the end of the line (CRLF, BOM, emoji)', async () => {
    const out = await analyze<MarkersOutput>(adapter, { analyzer: 'markers' });
    const bom = tree.path('a-bom.md');
    const src = tree.path('src', 'code.ts');
    expect(out).toEqual({
      analyzer: 'markers',
      markers: [
        { path: bom, line: 1, column: 1, kind: 'TODO', text: 'TODO at start' },
        { path: src, line: 1, column: 4, kind: 'TODO', text: 'TODO: first' },
        { path: src, line: 2, column: 17, kind: 'FIXME', text: 'FIXME(bob) later */' },
        { path: src, line: 4, column: 3, kind: 'HACK', text: 'HACK' },
        { path: src, line: 5, column: 6, kind: 'TODO', text: 'TODO a XXX b' },
        { path: src, line: 5, column: 13, kind: 'XXX', text: 'XXX b' },
        { path: src, line: 6, column: 4, kind: 'TODO', text: 'TODO after emoji' },
        { path: src, line: 7, column: 1, kind: 'FIXME', text: 'FIXME' },
      ],
      truncated: false,
      files: 3,
      binary: 1,
      skipped: [],
    });
  });

  it('looks only for the kinds asked for', async () => {
    const out = await analyze<MarkersOutput>(adapter, { analyzer: 'markers', kinds: ['FIXME'] });
    expect(out.markers.map((m) => [m.line, m.kind])).toEqual([
      [2, 'FIXME'],
      [7, 'FIXME'],
    ]);
  });

  it('stops at maxMarkers, keeping the first ones in order, and says it was cut', async () => {
    const out = await analyze<MarkersOutput>(adapter, { analyzer: 'markers', maxMarkers: 3 });
    expect(out.truncated).toBe(true);
    expect(out.markers.map((m) => `${m.line}:${m.column}:${m.kind}`)).toEqual(['1:1:TODO', '1:4:TODO', '2:17:FIXME']);
    const exact = await analyze<MarkersOutput>(adapter, { analyzer: 'markers', maxMarkers: 8 });
    expect(exact.truncated).toBe(false);
    expect(exact.markers).toHaveLength(8);
  });

  it('cuts the text of a marker on a very long line', async () => {
    const long = await makeTree({ 'min.js': `var a;/* TODO ${'y'.repeat(5000)} */\n` });
    const local = builtInAdapter(worker, [long.root]);
    try {
      const out = await analyze<MarkersOutput>(local, { analyzer: 'markers' });
      expect(out.markers).toHaveLength(1);
      expect(out.markers[0]).toMatchObject({ line: 1, column: 10 });
      expect(out.markers[0]!.text).toBe(`TODO ${'y'.repeat(MAX_MARKER_TEXT - 5)}`);
    } finally {
      await local.close();
      await long.cleanup();
    }
  });
});
