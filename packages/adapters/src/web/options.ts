/** The option checks of the web adapters' factories. */
import { OptionCheck } from '@fanout/scheduler';
import { AdapterError } from '../errors.js';

/** An option's value, or its default; anything but a positive number (or ≥ 0 with `allowZero`) is refused by name. */
export function positiveOption(factory: string, name: string, value: number | undefined, fallback: number, allowZero = false): number {
  return new OptionCheck(AdapterError, factory).number(value, name, fallback, allowZero ? { min: 0 } : { above: 0 });
}
