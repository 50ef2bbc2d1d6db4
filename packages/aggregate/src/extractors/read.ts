import { field, show } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { list, maybeNum, maybeText, record, text } from './shape.js';

/**
 * `read` → `{ files: ReadFile[] }`: each file read is a sighting; a path that failed is a
 * problem beside the others (its contents are missing), a cut one too.
 */
export const readExtractor: Extractor = {
  kind: 'read',
  extract(output, sink) {
    const o = record(output, 'read', 'output');
    const files = list(o.files, 'read', 'files');
    for (let i = 0; i < files.length; i++) {
      const f = record(files[i], 'read', `files[${i}]`);
      const path = text(f.path, 'read', `files[${i}].path`);
      if (f.ok === false) {
        const error = f.error !== null && typeof f.error === 'object' ? (f.error as Record<string, unknown>) : {};
        sink.problem({
          code: maybeText(error.code) ?? 'FANOUT_OPERATION_FAILED',
          message: `could not read ${path}: ${maybeText(error.message) ?? 'no reason given'}`,
          missing: `the contents of ${path}`,
        });
        continue;
      }
      sink.file(path, { bytes: maybeNum(f.bytes) });
      if (f.truncated === true) {
        const bytes = maybeNum(f.bytes);
        sink.problem({ code: 'FANOUT_TRUNCATED', message: `read of ${path} was cut at its size cap${bytes !== undefined ? ` (the file has ${bytes} bytes)` : ''}`, missing: `the end of ${path}` });
      }
    }
  },
  // A fan-out child's input is "each item": the paths it read say more.
  describe(input, output) {
    const files = output !== null && typeof output === 'object' ? (output as { files?: unknown }).files : undefined;
    const paths = Array.isArray(files) ? files.map((f) => (f !== null && typeof f === 'object' ? (f as { path?: unknown }).path : undefined)).filter((p) => typeof p === 'string') : [];
    return show(paths.length > 0 ? paths : field(input, 'paths', 'path'));
  },
  missing(input) {
    const paths = show(field(input, 'paths', 'path'));
    return paths === undefined ? undefined : `the contents of ${paths}`;
  },
};
