import { field, show, showPattern, words } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { UnexpectedOutputError } from '../errors.js';
import { list, maybeNum, record, rgText } from './shape.js';

function where(input: unknown): string | undefined {
  const pattern = showPattern(field(input, 'pattern', 'patterns', 'regex'));
  const paths = show(field(input, 'paths', 'path', 'cwd'));
  return pattern === undefined ? undefined : words(pattern, paths !== undefined && `in ${paths}`);
}

/** 1-based column of a byte offset into a line (ripgrep offsets are bytes). */
function columnOf(line: string, byteOffset: number): number {
  // ASCII lines (the common case) have as many bytes as characters.
  if (Buffer.byteLength(line) === line.length) return byteOffset + 1;
  return Buffer.from(line).subarray(0, byteOffset).toString('utf8').length + 1;
}

/**
 * `grep` → ripgrep `--json` messages: each `match` is a line (keyed `path:line`) and a
 * sighting of its file; in count and files-with-matches modes, where there are no `match`
 * messages, each `end` with matches is a sighting of its file.
 */
export const grepExtractor: Extractor = {
  kind: 'grep',
  extract(output, sink) {
    const o = record(output, 'grep', 'output');
    const messages = list(o.messages, 'grep', 'messages');
    let matchedInFile = false;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as { type?: unknown; data?: Record<string, unknown> } | null;
      if (m === null || typeof m !== 'object' || typeof m.type !== 'string') throw new UnexpectedOutputError('grep', `messages[${i}]`, 'a ripgrep message { type, data }', m);
      const type = m.type;
      if (type === 'match') {
        const d = m.data;
        if (d === undefined || d === null) throw new UnexpectedOutputError('grep', `messages[${i}].data`, 'match data', d);
        const line = d.line_number;
        if (typeof line !== 'number') throw new UnexpectedOutputError('grep', `messages[${i}].data.line_number`, 'a line number (ripgrep --json without -n?)', line);
        const path = rgText(d.path, 'grep', `messages[${i}].data.path`);
        const text = rgText(d.lines, 'grep', `messages[${i}].data.lines`);
        const sub = Array.isArray(d.submatches) ? (d.submatches[0] as { start?: unknown } | undefined) : undefined;
        const start = sub !== undefined && typeof sub.start === 'number' ? sub.start : undefined;
        sink.match(path, line, text, start === undefined ? undefined : columnOf(text, start));
        matchedInFile = true;
      } else if (type === 'begin') {
        matchedInFile = false;
      } else if (type === 'end') {
        if (!matchedInFile) {
          const d = m.data;
          const stats = d?.stats as Record<string, unknown> | undefined;
          const found = maybeNum(stats?.matched_lines) ?? maybeNum(stats?.matches) ?? 0;
          if (found > 0) sink.file(rgText(d!.path, 'grep', `messages[${i}].data.path`));
        }
        matchedInFile = false;
      }
    }
    if (o.truncated === true) {
      const stats = o.stats as Record<string, unknown> | undefined;
      const matches = maybeNum(stats?.matches);
      sink.problem({
        code: 'FANOUT_TRUNCATED',
        message: `stopped at its match cap${matches !== undefined ? ` after ${matches} matches` : ''}`,
        missing: 'matches past the cap',
      });
    }
  },
  describe: (input) => where(input),
  missing(input) {
    const w = where(input);
    return w === undefined ? undefined : `matches of ${w}`;
  },
};
