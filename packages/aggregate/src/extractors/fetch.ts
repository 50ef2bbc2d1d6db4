import { field, show } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { list, maybeNum, maybeText, num, record, text } from './shape.js';

const TITLE = /<title[^>]*>([^<]{1,300})<\/title>/i;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", nbsp: ' ' };

/** The `<title>` of an HTML page (first 64 KiB), with the common entities decoded. */
export function htmlTitle(html: string): string | undefined {
  const m = TITLE.exec(html.length > 65536 ? html.slice(0, 65536) : html);
  if (m === null) return undefined;
  const title = m[1]!
    .replace(/&(amp|lt|gt|quot|apos|#39|nbsp);/g, (_, name: string) => ENTITIES[name]!)
    .replace(/\s+/g, ' ')
    .trim();
  return title === '' ? undefined : title;
}

/**
 * `fetch` → `{ url, status, headers, redirects, contentType, bytes, truncated, text?, … }`:
 * the URL asked for (from the input, else the first redirect, else the final URL) is a
 * sighting when the status is 2xx, so a fetch of a search result agrees with the search.
 */
export const fetchExtractor: Extractor = {
  kind: 'fetch',
  extract(output, sink, op) {
    const o = record(output, 'fetch', 'output');
    const final = text(o.url, 'fetch', 'url');
    const status = num(o.status, 'fetch', 'status');
    const redirects = o.redirects === undefined ? [] : list(o.redirects, 'fetch', 'redirects');
    const asked = maybeText(field(op.input, 'url')) ?? maybeText(redirects[0]) ?? final;
    if (status >= 200 && status < 300) {
      const type = maybeText(o.contentType) ?? '';
      const body = maybeText(o.text);
      const title = body !== undefined && (type.includes('html') || type === '') ? htmlTitle(body) : undefined;
      sink.url(asked, { status, title, ...(final !== asked ? { finalUrl: final } : {}) });
    } else {
      sink.problem({ code: 'FANOUT_HTTP_STATUS', message: `${final} answered ${status}`, missing: `the page at ${asked}` });
    }
    if (o.truncated === true) {
      const bytes = maybeNum(o.bytes);
      sink.problem({ code: 'FANOUT_TRUNCATED', message: `the body of ${final} was cut at its size cap${bytes !== undefined ? ` (${bytes} bytes kept)` : ''}`, missing: `the end of the page at ${final}` });
    }
  },
  describe: (input, output) => show(field(output, 'url')) ?? show(field(input, 'url')),
  missing(input) {
    const url = show(field(input, 'url'));
    return url === undefined ? undefined : `the page at ${url}`;
  },
};
