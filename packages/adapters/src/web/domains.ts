/** True when `host` is `domain` or one of its subdomains (`docs.example.com` is in `example.com`). */
export function inDomain(host: string, domain: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === domain || h.endsWith(`.${domain}`);
}

/**
 * The include / exclude rule for one URL: with `include` non-empty the host must be in one of
 * its domains; it must be in none of `exclude`. A URL that cannot be read is left out.
 */
export function domainAllowed(url: string, include: readonly string[], exclude: readonly string[]): boolean {
  if (include.length === 0 && exclude.length === 0) return true;
  if (!URL.canParse(url)) return false;
  const host = new URL(url).hostname;
  if (include.length > 0 && !include.some((domain) => inDomain(host, domain))) return false;
  return !exclude.some((domain) => inDomain(host, domain));
}

/**
 * The query with `site:` operators for providers that have no domain parameters (Brave,
 * SearXNG's engines): one included domain becomes `site:d`, each excluded one `-site:d`.
 * Several included domains are not put in the query (an `OR` of `site:` is not understood
 * everywhere); the adapter's own filter applies them. The operators are left out when the
 * query would pass `maxLength`.
 */
export function withSiteOperators(query: string, include: readonly string[], exclude: readonly string[], maxLength = 400): string {
  const operators = [...(include.length === 1 ? [`site:${include[0]}`] : []), ...exclude.map((domain) => `-site:${domain}`)];
  if (operators.length === 0) return query;
  const full = `${query} ${operators.join(' ')}`;
  return full.length <= maxLength ? full : query;
}
