import { field, show, words } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { UnexpectedOutputError } from '../errors.js';
import { list, maybeNum, record } from './shape.js';

function where(input: unknown): string | undefined {
  const patterns = show(field(input, 'patterns', 'pattern'));
  const cwd = show(field(input, 'cwd', 'root', 'path'));
  return patterns === undefined ? undefined : words(patterns, cwd !== undefined && `under ${cwd}`);
}

/** `glob` → `{ files: string[]; count: number; truncated: boolean }`: each file is a sighting. */
export const globExtractor: Extractor = {
  kind: 'glob',
  extract(output, sink) {
    const o = record(output, 'glob', 'output');
    const files = list(o.files, 'glob', 'files');
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      if (typeof file !== 'string') throw new UnexpectedOutputError('glob', `files[${i}]`, 'a path', file);
      sink.file(file);
    }
    if (o.truncated === true) {
      const count = maybeNum(o.count);
      sink.problem({
        code: 'FANOUT_TRUNCATED',
        message: `listed ${files.length} files and stopped at its cap${count !== undefined && count > files.length ? ` (${count} matched)` : ''}`,
        missing: `files past the first ${files.length}`,
      });
    }
  },
  describe: (input) => where(input),
  missing(input) {
    const w = where(input);
    return w === undefined ? undefined : `files matching ${w}`;
  },
};
