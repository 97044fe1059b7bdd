/**
 * /predict latency and throughput: p50/p99 and requests/s for one task per request and for
 * 1,000 tasks per request ("Retrieve Predictions" on a selection), against the API process.
 *
 *   npx tsx bench/predict.ts [--seconds 10] [--runs 3] [--concurrency 4] [--smoke]
 *
 * The champion is trained by the round's activities (bench/lib/champion.ts) on 2,000 SpamAssassin
 * labels; the API runs as its own process (`cli/main.ts api`); this process is a closed-loop
 * load generator: `concurrency` connections each send the next request when the last answered.
 * Task texts are whole e-mails (~3 kB on average, as imported). Targets: p99 < 10 ms for one
 * task, < 250 ms for 1,000 tasks.
 */
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { emailTexts, projectWithChampion } from './lib/champion.js';
import { benchPort, benchStack, machine, median, pct, processEnv, spawnTs, stopChild, waitForHttp } from './lib/common.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    smoke: { type: 'boolean', default: false },
    // A CPU profile of the API process (node --cpu-prof) into this directory.
    profile: { type: 'string' },
    cases: { type: 'string', default: '1x1,1x4,1000x1' },
  },
});
const SMOKE = values.smoke;
const SECONDS = SMOKE ? 1 : Number(values.seconds);
const RUNS = SMOKE ? 1 : Number(values.runs);
const PROJECT = 1;

const stack = await benchStack();
const { pg, temporal, db } = stack;
const version = await projectWithChampion(db, { projectId: PROJECT, tasks: SMOKE ? 100 : 2_500, labels: SMOKE ? 100 : 2_000, firstTaskId: 1 });
const port = await benchPort();
const api = spawnTs(
  'cli/main.ts',
  ['api'],
  processEnv({ DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: `bench-predict-${port}`, LABEL_LOOP_PORT: String(port) }),
  'inherit',
  values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [],
);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const post = (body: string) =>
  new Promise<{ ms: number; results: number }>((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
        resolve({ ms: performance.now() - t0, results: JSON.parse(Buffer.concat(chunks).toString()).results.length });
      });
    });
    req.on('error', reject);
    req.end(body);
  });

/** Closed loop: `concurrency` workers, each sending its next request when the last is answered. */
async function load(tasksPerRequest: number, concurrency: number) {
  const texts = emailTexts(Math.max(tasksPerRequest, 200), 17);
  const bodies = Array.from({ length: 16 }, (_, b) =>
    JSON.stringify({ tasks: Array.from({ length: tasksPerRequest }, (_, i) => ({ data: { text: texts[(b * 37 + i) % texts.length] }, project: `${PROJECT}.1` })), project: `${PROJECT}.1` }),
  );
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = await post(bodies[n++ % bodies.length]);
        if (r.results !== tasksPerRequest) throw new Error(`${r.results} results for ${tasksPerRequest} tasks`);
        latencies.push(r.ms);
      }
    }),
  );
  return { latencies, perS: latencies.length / ((performance.now() - started) / 1000) };
}

try {
  await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000);
  console.log(`machine: ${machine()}; champion ${version}`);
  // Warm-up: the first request loads the champion from PostgreSQL into the API's memory.
  await load(1, 1);
  // tasks per request × connections; the default: one task alone, one task with --concurrency connections, 1,000 tasks.
  const cases = values.cases!.split(',').map((c) => {
    const [tasks, concurrency] = c.split('x').map(Number);
    return { tasks, concurrency: c === '1x4' ? Number(values.concurrency) : concurrency };
  });
  const table: string[] = [];
  for (const c of cases) {
    const p50s: number[] = [];
    const p99s: number[] = [];
    const rates: number[] = [];
    for (let r = 1; r <= RUNS; r++) {
      const res = await load(c.tasks, c.concurrency);
      p50s.push(pct(res.latencies, 50));
      p99s.push(pct(res.latencies, 99));
      rates.push(res.perS);
      console.log(`${c.tasks} task(s), concurrency ${c.concurrency}, run ${r}: ${res.latencies.length} requests, ${res.perS.toFixed(1)}/s, p50 ${pct(res.latencies, 50).toFixed(1)} ms, p99 ${pct(res.latencies, 99).toFixed(1)} ms`);
    }
    table.push(`| ${c.tasks.toLocaleString('en')} | ${c.concurrency} | ${median(p50s).toFixed(1)} ms | ${median(p99s).toFixed(1)} ms | ${median(rates).toFixed(1)} | ${(median(rates) * c.tasks).toFixed(0)} |`);
  }
  console.log(`\n/predict, ${SECONDS} s per run, medians of ${RUNS} run(s)`);
  console.log('| tasks per request | concurrency | p50 | p99 | requests/s | tasks/s |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const line of table) console.log(line);
  if (SMOKE) console.log('\npredict smoke: 1 passed, 0 failed');
} finally {
  await stopChild(api);
  agent.destroy();
  await stack.stop();
}
