import { field, show } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { maybeNum, maybeText, record, text } from './shape.js';

/** `write` → `{ path; bytes; mode; created }`: one entry per path written. */
export const writeExtractor: Extractor = {
  kind: 'write',
  extract(output, sink) {
    const o = record(output, 'write', 'output');
    const path = text(o.path, 'write', 'path');
    const bytes = maybeNum(o.bytes);
    const mode = maybeText(o.mode);
    sink.write(path, {
      ...(bytes === undefined ? {} : { bytes }),
      ...(mode === undefined ? {} : { mode }),
      ...(typeof o.created === 'boolean' ? { created: o.created } : {}),
    });
  },
  describe: (input) => show(field(input, 'path')),
  missing(input) {
    const path = show(field(input, 'path'));
    return path === undefined ? undefined : `the write to ${path} (it may not have happened)`;
  },
};
