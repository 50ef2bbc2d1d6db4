import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineCollector, tailStart } from '../../src/fs/line-range.js';

/** The reference: split after each newline, keep the last piece only when non-empty. */
function referenceLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.filter((line) => line !== '');
}

function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes.length === 0 ? bytes.length : Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const text = fc.array(fc.oneof(fc.constantFrom('\n', '\r\n', 'é', '€', ''), fc.string({ maxLength: 6 })), { maxLength: 40 }).map((parts) => parts.join(''));

describe('LineCollector', () => {
  it('keeps exactly the lines of its window, whatever the chunking', () => {
    fc.assert(
      fc.property(text, fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 12 }), (content, sizes, from, span) => {
        const to = from + span;
        const collector = new LineCollector({ from, to }, Number.MAX_SAFE_INTEGER);
        let finished = false;
        for (const chunk of chunked(Buffer.from(content), sizes)) {
          if (!collector.push(chunk)) {
            finished = true;
            break;
          }
        }
        const kept = collector.finish(!finished);
        const lines = referenceLines(content);
        const expected = lines.slice(from - 1, to);
        expect(kept.bytes.toString()).toBe(expected.join(''));
        expect(kept.truncated).toBe(false);
        expect(kept.lastLine).toBe(expected.length === 0 ? from - 1 : from - 1 + expected.length);
        if (kept.total !== undefined) expect(kept.total).toBe(lines.length);
        if (lines.length < to) expect(kept.total).toBe(lines.length);
      }),
    );
  });

  it('never keeps more than its cap, and says when it cut', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 30 }), fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 5 }), (content, cap, sizes) => {
        const collector = new LineCollector({ from: 1, to: Infinity }, cap);
        for (const chunk of chunked(Buffer.from(content), sizes)) if (!collector.push(chunk)) break;
        const kept = collector.finish(true);
        const all = Buffer.from(content);
        expect(kept.bytes.equals(all.subarray(0, cap))).toBe(true);
        expect(kept.truncated).toBe(all.length > cap);
      }),
    );
  });

  it('finds UTF-16 newlines only at even offsets, even when a chunk splits a code unit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '\n', '\u0a00', '\u0a0a', 'ऊ', '😀'), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 8 }),
        (parts, sizes, from) => {
          const content = parts.join('');
          const collector = new LineCollector({ from, to: Infinity }, Number.MAX_SAFE_INTEGER, 2);
          for (const chunk of chunked(Buffer.from(content, 'utf16le'), sizes)) collector.push(chunk);
          const kept = collector.finish(true);
          const lines = referenceLines(content);
          expect(kept.bytes.toString('utf16le')).toBe(lines.slice(from - 1).join(''));
          expect(kept.total).toBe(lines.length);
        },
      ),
    );
  });
});

describe('tailStart', () => {
  it('finds where the last N lines start, reading backwards in chunks', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 16 }), async (content, count, chunkBytes) => {
        const bytes = Buffer.from(content);
        const read = async (buffer: Buffer, length: number, position: number): Promise<number> => bytes.copy(buffer, 0, position, position + length);
        const start = await tailStart(read, bytes.length, count, 1, new AbortController().signal, chunkBytes);
        const lines = referenceLines(content);
        expect(bytes.subarray(start).toString()).toBe(lines.slice(Math.max(0, lines.length - count)).join(''));
      }),
    );
  });

  it('does the same in UTF-16', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', '\n', '\u0a00', '\u0a0a', '😀'), { maxLength: 30 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 2, max: 12 }), async (parts, count, chunkBytes) => {
        const content = parts.join('');
        const bytes = Buffer.from(content, 'utf16le');
        const read = async (buffer: Buffer, length: number, position: number): Promise<number> => bytes.copy(buffer, 0, position, position + length);
        const start = await tailStart(read, bytes.length, count, 2, new AbortController().signal, chunkBytes);
        const lines = referenceLines(content);
        expect(bytes.subarray(start).toString('utf16le')).toBe(lines.slice(Math.max(0, lines.length - count)).join(''));
      }),
    );
  });
});
