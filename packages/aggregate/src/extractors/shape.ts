import { UnexpectedOutputError } from '../errors.js';

/**
 * Checks of an output's shape at the aggregation boundary: an output that is not what its
 * kind promises becomes an {@link UnexpectedOutputError} naming the field, never a crash.
 */

export function record(value: unknown, kind: string, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UnexpectedOutputError(kind, path, 'an object', value);
  return value as Record<string, unknown>;
}

export function list(value: unknown, kind: string, path: string): unknown[] {
  if (!Array.isArray(value)) throw new UnexpectedOutputError(kind, path, 'an array', value);
  return value;
}

export function text(value: unknown, kind: string, path: string): string {
  if (typeof value !== 'string') throw new UnexpectedOutputError(kind, path, 'a string', value);
  return value;
}

export function num(value: unknown, kind: string, path: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new UnexpectedOutputError(kind, path, 'a number', value);
  return value;
}

/** A string field when present and a string, else undefined (optional fields). */
export function maybeText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A finite number field when present, else undefined. */
export function maybeNum(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** `{ text }` or `{ bytes }` (base64) as ripgrep writes paths and lines. */
export function rgText(value: unknown, kind: string, path: string): string {
  if (value !== null && typeof value === 'object') {
    const v = value as { text?: unknown; bytes?: unknown };
    if (typeof v.text === 'string') return v.text;
    if (typeof v.bytes === 'string') return Buffer.from(v.bytes, 'base64').toString('utf8');
  }
  throw new UnexpectedOutputError(kind, path, '{ text } or { bytes }', value);
}
