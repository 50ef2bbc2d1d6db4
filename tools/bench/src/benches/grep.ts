import type { Bench } from '../types.js';

/** Benchmarks of the grep work, registered in ./index.ts. */
export const grepBenches: Bench[] = [];
