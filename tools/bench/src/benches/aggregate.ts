import type { Bench } from '../types.js';

/** Benchmarks of the aggregate work, registered in ./index.ts. */
export const aggregateBenches: Bench[] = [];
