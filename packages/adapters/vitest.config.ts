import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    // as long as a test: the 10 s default timed out beforeAll hooks on a loaded 2-core machine
    hookTimeout: 60_000,
    // One module graph per worker, not per file: every file restores what it changes (env, cwd,
    // PATH), and importing the sources again for each file was a third of the suite's CPU.
    isolate: false,
  },
});
