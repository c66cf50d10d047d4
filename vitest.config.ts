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
    // Three files at once even on 2 cores: a test mostly waits (on git, child processes, the queue),
    // so this halves the wall time idle (280 s → 136 s here) and holds with both cores busy.
    maxWorkers: 3,
  },
});
