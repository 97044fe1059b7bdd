import { defineConfig } from 'vitest/config';

// Tiers (see README "Tests"): unit tests run in parallel; integration and end-to-end tests share
// one PostgreSQL and one Temporal dev server started by the global setup, and run one file at a
// time because two cores are shared with the servers they drive.
//
// TEMPORAL_SERVER=real (`npm run test:temporal-server`, part of `npm test`) switches to the
// `temporal-server` tier instead: the integration suite against a production Temporal server
// (v1.29.1 built from source, persistence and visibility in PostgreSQL). It is a separate run, not
// a fourth project next to the others, so the two Temporal servers never compete for the cores.
const serial = {
  globalSetup: ['test/helpers/globalSetup.ts'],
  fileParallelism: false,
  testTimeout: 600_000,
  hookTimeout: 600_000,
};

export default defineConfig({
  test: {
    projects:
      process.env.TEMPORAL_SERVER === 'real'
        ? [
            {
              test: {
                name: 'temporal-server',
                include: ['test/integration/**/*.integration.test.ts'],
                // Not against the production server: files that touch only PostgreSQL
                // (streaming, audit), drive their own dev servers (temporalUi, outage), or
                // exercise nothing server-specific beyond what operations, scale and the round
                // files run (demo, benchSmoke, fuzz; cli and dashboard, whose schedules, replays
                // and terminations operations covers; crash, whose SIGKILLed worker scale repeats
                // here with 3 workers): they run in the dev-server tier. This keeps CI under its
                // 30 minutes on a machine with nothing cached.
                exclude: [
                  'test/integration/streaming.integration.test.ts',
                  'test/integration/audit.integration.test.ts',
                  'test/integration/temporalUi.integration.test.ts',
                  'test/integration/outage.integration.test.ts',
                  'test/integration/demo.integration.test.ts',
                  'test/integration/benchSmoke.integration.test.ts',
                  'test/integration/fuzz.integration.test.ts',
                  'test/integration/cli.integration.test.ts',
                  'test/integration/dashboard.integration.test.ts',
                  'test/integration/crash.integration.test.ts',
                ],
                ...serial,
              },
            },
          ]
        : [
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
                ...serial,
              },
            },
          ],
  },
});
