import type { Bench } from '../types.js';

/** Benchmarks of the monitor work, registered in ./index.ts. */
export const monitorBenches: Bench[] = [];
