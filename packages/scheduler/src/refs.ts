import { describeValue } from './diagnostics.js';
import { FanoutError, type SchedulerErrorCode } from './errors.js';
import { isItemRef, isLiteral, isOutputRef, type ItemRef, type OutputRef } from './plan.js';

/** A reference found in an input, with its path in the plan. */
export interface FoundRef {
  ref: OutputRef | ItemRef;
  path: string;
}

/**
 * How deep an operation's input may nest, counting objects and arrays. Far deeper than any
 * tool input, and shallow enough that what walks inputs recursively (zod, `JSON.stringify`
 * for fingerprints, `structuredClone`, the references' resolution) never runs out of stack:
 * a plan nested 10,000 levels deep is refused at validation instead.
 * @default 1000
 */
export const MAX_INPUT_DEPTH = 1000;

/** A container being walked by {@link findRefs}: its keys (undefined for an array) and the next child. */
interface Frame {
  node: object;
  keys: string[] | undefined;
  next: number;
}

/**
 * Calls `visit` for every `$ref` / `$item` inside `value`. Returns whether anything needs
 * resolving (a `$literal` counts: it is unwrapped when the operation becomes ready). `path`
 * is the value's path in the plan, or a function giving it: paths are built only for the
 * references found, never for the (often many) values without any. The walk keeps its own
 * stack, so any depth is safe; containers nested deeper than `maxDepth` are not entered, and
 * `tooDeep` is called with the path of the first one.
 */
export function findRefs(value: unknown, path: string | (() => string), visit: (found: FoundRef) => void, tooDeep?: (path: string) => void, maxDepth: number = MAX_INPUT_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const segments: (string | number)[] = [];
  const pathHere = (): string => {
    let out = typeof path === 'string' ? path : path();
    for (const segment of segments) out += typeof segment === 'number' ? `[${segment}]` : `.${segment}`;
    return out;
  };
  let found = false;
  let reportedDepth = false;
  const stack: Frame[] = [];
  const enter = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    if (isLiteral(node)) {
      found = true;
      return;
    }
    if (isOutputRef(node) || isItemRef(node)) {
      visit({ ref: node, path: pathHere() });
      found = true;
      return;
    }
    if (stack.length >= maxDepth) {
      if (!reportedDepth) tooDeep?.(pathHere());
      reportedDepth = true;
      return;
    }
    stack.push({ node, keys: Array.isArray(node) ? undefined : Object.keys(node), next: 0 });
  };
  enter(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    // The previous child (entered or not) is done: its segment goes.
    if (frame.next > 0) segments.pop();
    const length = frame.keys === undefined ? (frame.node as unknown[]).length : frame.keys.length;
    if (frame.next >= length) {
      stack.pop();
      continue;
    }
    const key = frame.keys === undefined ? frame.next : frame.keys[frame.next]!;
    frame.next++;
    segments.push(key);
    enter((frame.node as Record<string | number, unknown>)[key]);
  }
  return found;
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
  const where = (i: number): string =>
    `${describe}${steps
      .slice(0, i)
      .map((s) => `.${s}`)
      .join('')}`;
  let current = value;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (typeof current !== 'object' || current === null) {
      throw new FanoutError<SchedulerErrorCode>('FANOUT_REF_UNRESOLVED', `expected an object or array at ${where(i)} to take "${step}" from, got ${describeValue(current)}`);
    }
    const next = (current as Record<string | number, unknown>)[step];
    if (next === undefined && !(step in current)) {
      const keys = Array.isArray(current)
        ? `an array of ${current.length}`
        : `keys ${
            Object.keys(current)
              .slice(0, 10)
              .map((k) => JSON.stringify(k))
              .join(', ') || '(none)'
          }`;
      throw new FanoutError<SchedulerErrorCode>('FANOUT_REF_UNRESOLVED', `expected "${step}" in ${where(i)}, which has ${keys}`);
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
    if (item === undefined) throw new FanoutError<SchedulerErrorCode>('FANOUT_REF_UNRESOLVED', '"$item" is only meaningful in an operation with "forEach"');
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
