import type { Bench } from '../types.js';

/** Benchmarks of the shell work, registered in ./index.ts. */
export const shellBenches: Bench[] = [];
