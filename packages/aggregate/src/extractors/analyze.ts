import { field, show, words } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { describeValue } from '@fanout/scheduler';
import { UnexpectedOutputError } from '../errors.js';
import { list, maybeNum, maybeText, num, record, text } from './shape.js';

type Languages = Record<string, { files: number; lines: number; bytes: number }>;

function languages(value: unknown): Languages {
  const out: Languages = {};
  if (value === null || typeof value !== 'object') return out;
  for (const [name, figures] of Object.entries(value as Record<string, unknown>)) {
    const f = figures as Record<string, unknown> | null;
    out[name] = { files: maybeNum(f?.files) ?? 0, lines: maybeNum(f?.lines) ?? 0, bytes: maybeNum(f?.bytes) ?? 0 };
  }
  return out;
}

/**
 * `analyze` → `stats` (figures per language: one entry per operation), `markers` (each a
 * marker item and a sighting of its file), or a user analyzer's result (one entry, shown
 * as a preview).
 */
export const analyzeExtractor: Extractor = {
  kind: 'analyze',
  extract(output, sink, op) {
    const o = record(output, 'analyze', 'output');
    const analyzer = maybeText(o.analyzer) ?? maybeText(field(op.input, 'analyzer')) ?? 'analysis';
    if (analyzer === 'stats') {
      sink.stats({
        files: num(o.files, 'analyze', 'files'),
        lines: num(o.lines, 'analyze', 'lines'),
        bytes: num(o.bytes, 'analyze', 'bytes'),
        languages: languages(o.languages),
      });
      return;
    }
    if (analyzer === 'markers') {
      const markers = list(o.markers, 'analyze', 'markers');
      for (let i = 0; i < markers.length; i++) {
        const m = record(markers[i], 'analyze', `markers[${i}]`);
        const line = m.line;
        if (typeof line !== 'number') throw new UnexpectedOutputError('analyze', `markers[${i}].line`, 'a line number', line);
        sink.marker(text(m.path, 'analyze', `markers[${i}].path`), line, maybeNum(m.column) ?? 1, maybeText(m.kind) ?? 'TODO', maybeText(m.text) ?? '');
      }
      if (o.truncated === true) sink.problem({ code: 'FANOUT_TRUNCATED', message: `stopped at its marker cap after ${markers.length}`, missing: 'markers past the cap' });
      return;
    }
    sink.item({ type: 'analysis', key: op.id, label: `${analyzer}: ${describeValue(o.result ?? o)}`, data: { analyzer } });
  },
  describe: (input, output) =>
    words(maybeText(field(output, 'analyzer')) ?? maybeText(field(input, 'analyzer')), show(field(input, 'paths', 'path')) !== undefined && `of ${show(field(input, 'paths', 'path'))}`) || undefined,
  missing(input) {
    const analyzer = maybeText(field(input, 'analyzer'));
    const paths = show(field(input, 'paths', 'path'));
    if (analyzer === undefined) return undefined;
    return words(analyzer === 'stats' ? 'the statistics' : analyzer === 'markers' ? 'the TODO/FIXME markers' : `the ${analyzer} analysis`, paths !== undefined && `of ${paths}`);
  },
};
