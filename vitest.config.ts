import { defineConfig } from 'vitest/config';

// Three tiers (see README "Tests"): unit tests run in parallel; integration and end-to-end tests
// share one PostgreSQL and one Temporal dev server started by the global setup, and run one file
// at a time because two cores are shared with the servers they drive.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/model/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.integration.test.ts', 'test/infra/**/*.integration.test.ts', 'test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
