import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // as long as a test: the 10 s default timed out beforeAll hooks on a loaded 2-core machine
    hookTimeout: 60_000,
    // Two files at a time: its tests wait on whole `fanout` processes, and vitest's default on 2 cores
    // (one worker) left a core idle while this suite, the longest, ran last in `npm test`.
    maxWorkers: 2,
  },
});
