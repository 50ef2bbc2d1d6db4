import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEnvironment } from '../../src/shell/environment.js';
import { OutputFile } from '../../src/shell/output-file.js';
import { StreamCapture, TAIL_BYTES } from '../../src/shell/stream-capture.js';

/** UTF-8 text cut into chunks at arbitrary byte offsets (inside characters too), as pipes do. */
const chunkedText = fc.tuple(fc.string({ unit: 'binary', maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 1, max: 3 })).map(([text, cuts, repeat]) => {
  const bytes = Buffer.from(text.repeat(repeat));
  const offsets = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const offset of [...offsets, bytes.length]) {
    chunks.push(bytes.subarray(from, offset));
    from = offset;
  }
  return { text: bytes.toString('utf8'), bytes, chunks };
});

describe('StreamCapture', () => {
  it('keeps the head up to the cap, the last bytes as the tail, and counts everything', () => {
    fc.assert(
      fc.property(chunkedText, fc.integer({ min: 1, max: 10_000 }), ({ text, bytes, chunks }, cap) => {
        const capture = new StreamCapture(cap);
        for (const chunk of chunks) capture.push(chunk);
        expect(capture.bytes).toBe(bytes.length);
        expect(capture.truncated).toBe(bytes.length > cap);
        const head = capture.text();
        if (!capture.truncated) expect(head).toBe(text);
        else {
          expect(text.startsWith(head)).toBe(true);
          // Whole characters only: at most a 4-byte character short of the cap.
          expect(Buffer.byteLength(head)).toBeLessThanOrEqual(cap);
          expect(Buffer.byteLength(head)).toBeGreaterThan(cap - 4);
        }
        const tail = capture.tail();
        expect(text.endsWith(tail)).toBe(true);
        expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(TAIL_BYTES);
        expect(Buffer.byteLength(tail)).toBeGreaterThan(Math.min(bytes.length, TAIL_BYTES) - 4);
      }),
      { numRuns: 300 },
    );
  });
});

describe('OutputFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-output-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file into what a StreamCapture makes of the same bytes through a pipe, and removes it', () => {
    let n = 0;
    fc.assert(
      fc.property(chunkedText, fc.integer({ min: 1, max: 10_000 }), ({ bytes, chunks }, cap) => {
        const path = join(dir, String(++n));
        writeFileSync(path, bytes);
        const file = OutputFile.take(path, cap);
        const pipe = new StreamCapture(cap);
        for (const chunk of chunks) pipe.push(chunk);
        expect({ bytes: file.bytes, truncated: file.truncated, text: file.text(), tail: file.tail() }).toEqual({ bytes: pipe.bytes, truncated: pipe.truncated, text: pipe.text(), tail: pipe.tail() });
        expect(existsSync(path)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('takes a missing file for an empty stream', () => {
    const file = OutputFile.take(join(dir, 'never-written'), 10);
    expect({ bytes: file.bytes, truncated: file.truncated, text: file.text(), tail: file.tail() }).toEqual({ bytes: 0, truncated: false, text: '', tail: '' });
  });
});

describe('buildEnvironment', () => {
  const parent = { PATH: '/bin', HOME: '/root', TOKEN: 'secret' };

  it('starts from PATH alone, then the adapter variables, then the input ones', () => {
    expect(buildEnvironment({ inherit: false, base: undefined, given: undefined, parent })).toEqual({ PATH: '/bin' });
    expect(buildEnvironment({ inherit: false, base: { LANG: 'C', A: 'base' }, given: { A: 'input', PATH: null }, parent })).toEqual({ LANG: 'C', A: 'input' });
    expect(buildEnvironment({ inherit: false, base: undefined, given: undefined, parent: {} })).toEqual({});
  });

  it('inherits the whole parent environment when asked, and null still removes', () => {
    expect(buildEnvironment({ inherit: true, base: undefined, given: { TOKEN: null, X: '1' }, parent })).toEqual({ PATH: '/bin', HOME: '/root', X: '1' });
  });
});
