/**
 * Every benchmark in its `--smoke` mode, one after the other: seconds each, counts checked, no
 * timing asserted (`npm run bench:smoke`; test/integration/benchSmoke.integration.test.ts runs it
 * in `npm test`, on the test suite's PostgreSQL and Temporal, so the benchmarks cannot rot).
 */
import { spawnTs } from './lib/common.js';

const benches = ['bench/webhook.ts', 'bench/predict.ts', 'bench/loop.ts', 'bench/bulk.ts', 'bench/loopEfficiency.ts'];
let failed = 0;
for (const bench of benches) {
  const started = performance.now();
  const child = spawnTs(bench, ['--smoke']);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  console.log(`${bench} --smoke: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (code !== 0) failed++;
}
console.log(`\nbench smoke: ${benches.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
