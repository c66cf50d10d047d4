import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Backstops only: tests wait for events (waitFor), and must pass on a busy 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // Each file gets its own process: nock and environment variables stay per file.
    pool: 'forks',
  },
});
