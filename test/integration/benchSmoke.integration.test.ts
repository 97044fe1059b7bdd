import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { REPO_ROOT } from '../../worker/config.js';

/**
 * Every benchmark in its --smoke mode (bench/smoke.ts), on the suite's PostgreSQL and Temporal:
 * they keep running as the code changes. Counts are checked (events lost, predictions pushed);
 * no timing is asserted. The production-server tier skips it (the same code, twice the minutes).
 */
describe.skipIf(process.env.TEMPORAL_SERVER === 'real')('benchmarks (--smoke)', () => {
  it('run to the end with nothing lost', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', 'smoke.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: inject('databaseUrl'), TEMPORAL_ADDRESS: inject('temporalAddress') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, out.slice(-4000)).toBe(0);
    expect(out).toMatch(/bench smoke: 5 passed, 0 failed/);
  });
});
