import type { Bench } from '../types.js';

/** Benchmarks of the fs work, registered in ./index.ts. */
export const fsBenches: Bench[] = [];
