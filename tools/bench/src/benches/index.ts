import type { Bench } from '../types.js';
import { schedulerDag } from './scheduler-dag.js';
import { schedulerIo } from './scheduler-io.js';
import { schedulerNoop } from './scheduler-noop.js';

/** Every benchmark, in the order they run. */
export const BENCHES: readonly Bench[] = [schedulerNoop, schedulerDag, schedulerIo];
