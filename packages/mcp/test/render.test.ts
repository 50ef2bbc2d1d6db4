import type { Report } from '@fanout/aggregate';
import { describe, expect, it } from 'vitest';
import { fitView, jsonFits, jsonLength, jsonValueLength, scaleView } from '../src/fit.js';
import { endWithNewline, Paths, renderRunText, type RenderInput, type TextView } from '../src/render.js';

function report(files: number): Report {
  const entries = Array.from({ length: files }, (_, i) => ({
    rank: i + 1,
    key: `/r/src/f${i}.ts`,
    confidence: 0.5,
    sources: 2,
    hits: 2,
    explanation: '',
    agreed: [
      { op: 'g1', kind: 'grep', weight: 0.4, count: 1 },
      { op: 'ls', kind: 'glob', weight: 0.2, count: 1 },
    ],
    path: `/r/src/f${i}.ts`,
    count: 3,
  }));
  return {
    version: 1,
    title: 't',
    createdAt: '2026-01-01T00:00:00.000Z',
    complete: true,
    totals: { operations: 2, byState: { succeeded: 2, failed: 0, skipped: 0, cancelled: 0, 'timed-out': 0 }, items: files * 2, distinct: files, duplicates: files, failures: 0, problems: 0 },
    kinds: [],
    groups: [{ type: 'file', title: 'Files', seen: files * 2, distinct: files, exact: true, duplicates: files, held: files, evicted: 0, omitted: 0, entries }],
    failures: { total: 0, omitted: 0, listed: [], byCode: {} },
    problems: { total: 0, omitted: 0, listed: [] },
    notes: { total: 0, omitted: 0, listed: [] },
    operations: {
      total: 2,
      omitted: 0,
      listed: [
        { id: 'ls', kind: 'glob', state: 'succeeded', detail: '**/*.ts under /r', items: files, fresh: files, problems: 0, attempts: 1, durationMs: 1 },
        { id: 'g1', kind: 'grep', state: 'succeeded', detail: '/TODO/ in /r/src', items: files, fresh: 0, problems: 0, attempts: 1, durationMs: 1 },
      ],
    },
  };
}

function input(files: number): RenderInput {
  return {
    tool: 'fanout_read',
    title: '',
    handle: 'run-1',
    done: true,
    roots: ['/r'],
    rootsSource: 'configuration',
    counts: { succeeded: 2, failed: 0, skipped: 0, cancelled: 0, 'timed-out': 0, pending: 0 },
    total: 2,
    wallMs: 10,
    sequentialMs: 20,
    pending: [],
    report: report(files),
    operations: [
      { id: 'g1', kind: 'grep', state: 'succeeded', attempts: 1, durationMs: 1 },
      { id: 'ls', kind: 'glob', state: 'succeeded', attempts: 1, durationMs: 1 },
    ],
  };
}

describe('the text for a model', () => {
  it('makes paths relative to the first root, in paths and in free text, and leaves others alone', () => {
    const paths = new Paths(['/r', '/other']);
    expect(paths.rel('/r/src/a.ts')).toBe('src/a.ts');
    expect(paths.rel('/r')).toBe('.');
    expect(paths.rel('/rx/a.ts')).toBe('/rx/a.ts');
    expect(paths.rel('/other/b.ts')).toBe('/other/b.ts');
    expect(paths.text('expected /r/src/a.ts to exist; /r is the root, /rx is not')).toBe('expected src/a.ts to exist; . is the root, /rx is not');
  });

  it('names evidence by operation id, and says each operation once, in plan order', () => {
    const text = renderRunText(input(2), { entries: 10, heads: 0, headLines: 0, operations: 10, problems: 10 }, undefined);
    expect(text).toContain('- `g1` grep /TODO/ in src → 2 results\n- `ls` glob **/*.ts under . → 2 results');
    expect(text).toContain('- src/f0.ts · 3 matches ← g1 ls');
    expect(text).not.toContain('/r/');
  });

  it('fits a view into a limit by bisection, shrinking lists rather than cutting text', () => {
    const full: TextView = { entries: 400, heads: 0, headLines: 0, operations: 2, problems: 0 };
    const render = (view: TextView) => renderRunText(input(400), view, { dir: '/t', report: '/t/report.md', results: '/t/results.json' });
    expect(jsonLength(render(full))).toBeGreaterThan(4000);
    const fitted = fitView(render, full, 4000, '…');
    expect(fitted.fits).toBe(true);
    expect(jsonLength(fitted.text)).toBeLessThanOrEqual(4000);
    expect(fitted.view.entries).toBeGreaterThan(10);
    expect(jsonLength(render({ ...fitted.view, entries: fitted.view.entries + 5 }))).toBeGreaterThan(4000);
    expect(fitted.text).toContain(`Shown: ${fitted.view.entries} of 400 files`);
    expect(fitted.text).toContain('/t/report.md');
  });

  it('cuts the smallest view at the limit, with the tail, when even it does not fit', () => {
    const fitted = fitView(() => 'x\n'.repeat(1000), { entries: 1, heads: 0, headLines: 0, operations: 1, problems: 1 }, 300, '… cut');
    expect(fitted.fits).toBe(false);
    expect(jsonLength(fitted.text)).toBeLessThanOrEqual(300);
    expect(fitted.text.endsWith('\n… cut')).toBe(true);
  });

  it('measures a text as JSON writes it, without writing it', () => {
    for (const text of ['', 'plain', 'quote " backslash \\ tab \t newline \n cr \r', '\u0000\u0001\u001f\u007f', 'é😀 pair', 'lone \ud800 high', 'lone \udc00 low', 'end high \ud83d']) {
      expect(jsonLength(text), JSON.stringify(text)).toBe(JSON.stringify(text).length);
    }
  });

  it('measures a value as JSON writes it, member by member', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, 'b "q"': [2] });
    const values: unknown[] = [
      undefined,
      null,
      true,
      false,
      0,
      -0,
      1.5e-7,
      -123456789012345,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '',
      'quote " backslash \\ newline \n é😀 lone \ud800',
      [],
      {},
      [undefined, () => 1, Symbol('s'), null, 'x'],
      // biome-ignore lint/suspicious/noSparseArray: a hole is written as null
      [, 1],
      { a: undefined, b: () => 1, c: Symbol('s'), d: 1, [Symbol('k')]: 2, 'key\n"': 'v' },
      { 2: 'two', 1: 'one', b: 'b', a: 'a' },
      {
        files: [
          { path: '/r/a.ts', ok: true, text: 'const a = "1";\n', bytes: 15, lines: { from: 1, to: 1 } },
          { path: '/r/b', ok: false, error: { code: 'X', message: 'no' } },
        ],
      },
      { deep: { deeper: { deepest: { bottom: [1, { x: [2, 3] }] } } } },
      { when: new Date(0), points: [new Point(1, 2)], map: new Map([[1, 2]]), nullProto },
      { nested: { toJSON: (key: string) => `key:${key}` }, list: [{ toJSON: () => undefined }], gone: { toJSON: () => undefined } },
    ];
    for (const value of values) {
      expect(jsonValueLength(value), JSON.stringify(value)).toBe(JSON.stringify(value)?.length);
      expect(jsonValueLength(value, 1), JSON.stringify(value)).toBe(JSON.stringify(value)?.length);
    }
  });

  it('decides whether a text fits from its length alone when that can, and measures it otherwise', () => {
    const unmeasured = (): number => {
      throw new Error('measured a text whose length decides');
    };
    // No character takes more than six in JSON (\uXXXX): a sixth of the limit always fits.
    expect(jsonFits('\u0001'.repeat(100), 602, unmeasured)).toBe(true);
    // Longer than the limit with its quotes: never fits.
    expect(jsonFits('x'.repeat(100), 101, unmeasured)).toBe(false);
    for (const text of ['plain text', 'quote " backslash \\ newline \n', '\u0000\u0001 controls', 'é😀 pair, lone \ud800']) {
      const exact = JSON.stringify(text).length;
      for (const limit of [exact - 1, exact, exact + 1]) expect(jsonFits(text, limit), `${JSON.stringify(text)} in ${limit}`).toBe(exact <= limit);
    }
  });

  it('shows a head read whole as the file holds it, and a cut head as its first lines with what is left', () => {
    const withHead: RenderInput = {
      ...input(1),
      operations: [...input(1).operations, { id: 'r', kind: 'read', state: 'succeeded', attempts: 1, durationMs: 1, output: { files: [{ path: '/r/a.md', ok: true, text: 'one\n\nthree ```x```\nfour  \n\n' }] } }],
    };
    const view: TextView = { entries: 10, heads: 10, headLines: 10, operations: 10, problems: 10 };
    // Trailing white space dropped; a fence longer than any run of backticks inside.
    expect(renderRunText(withHead, view, undefined)).toContain('### a.md (r) — lines 1–4\n````\none\n\nthree ```x```\nfour\n````\n');
    expect(renderRunText(withHead, { ...view, headLines: 2 }, undefined)).toContain('### a.md (r) — lines 1–2\n````\none\n\n````\n(2 more lines here: read a.md with from/to)\n');
  });

  it('ends a text with one newline as trimEnd and a newline would, returning a text that already ends so as it is', () => {
    for (const text of ['', '\n', 'a', 'a\n', 'a\n\n', 'a \n', 'a\n ', 'a\t', '— ≈\n', '```\n\n\n', ' \n \n']) {
      expect(endWithNewline(text), JSON.stringify(text)).toBe(`${text.trimEnd()}\n`);
    }
    // A rendering ends with one newline: the common case is the one that returns the text as it is.
    const text = renderRunText(input(3), { entries: 10, heads: 10, headLines: 10, operations: 10, problems: 10 }, undefined);
    expect(text.endsWith('\n') && !text.endsWith('\n\n')).toBe(true);
  });

  it('scales every list by its share: failures stay longest, the operations list goes first', () => {
    expect(scaleView({ entries: 100, heads: 100, headLines: 100, operations: 100, problems: 100 }, 0.25)).toEqual({ entries: 25, heads: 50, headLines: 25, operations: 7, problems: 50 });
  });
});
