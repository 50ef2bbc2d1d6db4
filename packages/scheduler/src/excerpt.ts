/**
 * Untrusted text made safe to show: excerpts for error messages, short and escaped so that a
 * binary file or a hostile plan never writes raw bytes (terminal escapes, bidirectional
 * overrides) or a megabyte-long line to the terminal; and HTML escaping for the report pages.
 */

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text escaped for an HTML element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/** Most characters an excerpt shows. */
const EXCERPT_CHARS = 60;

/**
 * A short excerpt of untrusted text for an error message: printable ASCII as is, anything
 * else escaped (`\x1b`, `\u202e`), so a binary or hostile file never writes raw bytes (terminal
 * escapes, bidirectional overrides) to the terminal.
 */
export function escapedExcerpt(text: string, max: number = EXCERPT_CHARS): string {
  let out = '';
  let shown = 0;
  for (const char of text) {
    if (shown === max) return `"${out}…" (${text.length} characters)`;
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\u{${code.toString(16)}}`;
    shown++;
  }
  return `"${out}"`;
}
