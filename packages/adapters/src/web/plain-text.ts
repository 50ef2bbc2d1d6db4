const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…', mdash: '—', ndash: '–' };

/**
 * A snippet or title as plain text: tags removed (Brave wraps matches in `<strong>`), the
 * common character references decoded, whitespace collapsed. Not an HTML parser: providers
 * send short fragments with inline markup, not documents.
 */
export function plainText(value: string): string {
  return value
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
      }
      return ENTITIES[name.toLowerCase()] ?? match;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

/** A provider's date as ISO 8601 (UTC), or undefined when it cannot be read as a date ("2 days ago"). */
export function isoDate(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  // A date-time without an offset (SearXNG's Python isoformat, Brave's page_age) is UTC here;
  // Date.parse would read it as local time and make the result depend on the machine.
  const at = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(text) ? `${text}Z` : text);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}
