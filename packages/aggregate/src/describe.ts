/**
 * Short renderings of operation inputs for the report ("matches of /TODO/ in src"). Inputs
 * may hold the scheduler's references (`{ $ref, path }`, `{ $item: true }`,
 * `{ $literal }`): they are shown as what they stand for.
 */

const MAX_TEXT = 80;

/** The first of `names` that `input` has (inputs of different adapters name things alike). */
export function field(input: unknown, ...names: string[]): unknown {
  if (input === null || typeof input !== 'object') return undefined;
  const record = input as Record<string, unknown>;
  for (const name of names) if (record[name] !== undefined) return record[name];
  return undefined;
}

/** A value of an input as a few words; undefined when there is nothing to show. */
export function show(value: unknown, maxItems = 3): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT - 1)}…` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, maxItems).map((v) => show(v, maxItems) ?? '?');
    if (shown.length === 0) return undefined;
    return value.length > maxItems ? `${shown.join(', ')}, … (${value.length} in all)` : shown.join(', ');
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$ref === 'string') {
      const path = Array.isArray(record.path) ? record.path.join('.') : record.path;
      return typeof path === 'string' && path !== '' ? `the ${path} of ${record.$ref}` : `the output of ${record.$ref}`;
    }
    if ('$item' in record) return record.$item === true ? 'each item' : `each item's ${Array.isArray(record.$item) ? record.$item.join('.') : String(record.$item)}`;
    if ('$literal' in record) return show(record.$literal, maxItems);
  }
  return undefined;
}

/** A pattern between slashes, as grep users write it. */
export function showPattern(value: unknown): string | undefined {
  if (Array.isArray(value)) return show(value.map((p) => (typeof p === 'string' ? `/${p}/` : p)));
  if (typeof value !== 'string') return show(value);
  const shown = show(value);
  return shown === undefined ? undefined : `/${shown}/`;
}

/** `a b` → `a b`; joins the present parts with spaces. */
export function words(...parts: (string | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}
