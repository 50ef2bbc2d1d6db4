import type { Bench } from '../types.js';

/** Benchmarks of the web work, registered in ./index.ts. */
export const webBenches: Bench[] = [];
