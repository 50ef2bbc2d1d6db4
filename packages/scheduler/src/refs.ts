import { describeValue, FanoutError } from './errors.js';
import { isItemRef, isLiteral, isOutputRef, type ItemRef, type OutputRef } from './plan.js';

/** A reference found in an input, with its path in the plan. */
export interface FoundRef {
  ref: OutputRef | ItemRef;
  path: string;
}

/**
 * Calls `visit` for every `$ref` / `$item` inside `value`. Returns whether anything needs
 * resolving (a `$literal` counts: it is unwrapped when the operation becomes ready). `path`
 * is the value's path in the plan, or a function giving it: paths are built only for the
 * references found, never for the (often many) values without any.
 */
export function findRefs(value: unknown, path: string | (() => string), visit: (found: FoundRef) => void): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const segments: (string | number)[] = [];
  const pathHere = (): string => {
    let out = typeof path === 'string' ? path : path();
    for (const segment of segments) out += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
    return out;
  };
  const search = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null) return false;
    if (isLiteral(node)) return true;
    if (isOutputRef(node) || isItemRef(node)) {
      visit({ ref: node, path: pathHere() });
      return true;
    }
    let found = false;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        segments.push(i);
        if (search(node[i])) found = true;
        segments.pop();
      }
    } else {
      for (const key of Object.keys(node)) {
        segments.push(key);
        if (search((node as Record<string, unknown>)[key])) found = true;
        segments.pop();
      }
    }
    return found;
  };
  return search(value);
}

/** Splits a ref path (`"files.0.name"` or `["files", 0, "name"]`) into steps. */
export function pathSteps(path: string | readonly (string | number)[] | undefined): readonly (string | number)[] {
  if (path === undefined || path === '') return [];
  if (typeof path !== 'string') return path;
  return path.split('.');
}

/**
 * Walks `steps` into `value`. A missing step is an error naming what was there instead, so a
 * typo in a path fails loudly rather than passing `undefined` on.
 */
export function walk(value: unknown, steps: readonly (string | number)[], describe: string): unknown {
  // Where step i is taken from, for messages only (a path that resolves builds no string).
  const where = (i: number): string => `${describe}${steps.slice(0, i).map((s) => `.${s}`).join('')}`;
  let current = value;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (typeof current !== 'object' || current === null) {
      throw new FanoutError('FANOUT_REF_UNRESOLVED', `expected an object or array at ${where(i)} to take "${step}" from, got ${describeValue(current)}`);
    }
    const next = (current as Record<string | number, unknown>)[step];
    if (next === undefined && !(step in current)) {
      const keys = Array.isArray(current) ? `an array of ${current.length}` : `keys ${Object.keys(current).slice(0, 10).map((k) => JSON.stringify(k)).join(', ') || '(none)'}`;
      throw new FanoutError('FANOUT_REF_UNRESOLVED', `expected "${step}" in ${where(i)}, which has ${keys}`);
    }
    current = next;
  }
  return current;
}

/**
 * Returns `value` with every reference replaced: `$ref` by the referenced output (through
 * `outputOf`), `$item` by the fan-out item. Containers without references are shared, not
 * copied.
 */
export function resolveRefs(value: unknown, outputOf: (id: string) => unknown, item: { value: unknown } | undefined): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (isLiteral(value)) return value.$literal;
  if (isOutputRef(value)) {
    let output: unknown;
    try {
      output = outputOf(value.$ref);
    } catch (error) {
      if (value.optional === true && (error as FanoutError).code === 'FANOUT_DEPENDENCY_FAILED') return null;
      throw error;
    }
    return walk(output, pathSteps(value.path), `the output of "${value.$ref}"`);
  }
  if (isItemRef(value)) {
    if (item === undefined) throw new FanoutError('FANOUT_REF_UNRESOLVED', '"$item" is only meaningful in an operation with "forEach"');
    return walk(item.value, value.$item === true ? [] : pathSteps(value.$item), 'the fan-out item');
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const resolved = resolveRefs(value[i], outputOf, item);
      if (resolved !== value[i]) {
        copy ??= value.slice();
        copy[i] = resolved;
      }
    }
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const original = (value as Record<string, unknown>)[key];
    const resolved = resolveRefs(original, outputOf, item);
    if (resolved !== original) {
      copy ??= { ...(value as Record<string, unknown>) };
      copy[key] = resolved;
    }
  }
  return copy ?? value;
}
