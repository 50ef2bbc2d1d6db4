/**
 * `path` under a configured base URL, which may itself have a path (`https://host/searx`):
 * the base is read as a directory, so `endpoint("https://host/searx", "search")` is
 * `https://host/searx/search`.
 */
export function endpoint(base: string, path: string): URL {
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}
