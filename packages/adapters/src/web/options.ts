import { FanoutError } from '@fanout/scheduler';

/** An option's value, or its default; anything but a positive number is refused by name. */
export function positiveOption(factory: string, name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    throw new FanoutError('FANOUT_OPTION_INVALID', `${factory}: expected ${name} to be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`, { path: name });
  }
  return value;
}
