import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // as long as a test: the 10 s default timed out beforeAll hooks on a loaded 2-core machine
    hookTimeout: 30_000,
  },
});
