/**
 * Webhook intake at rising load: acknowledgement p50/p99, events/s achieved and events lost
 * (sent and acknowledged but not recorded: must be 0) at each rate.
 *
 *   npx tsx bench/webhook.ts [--rates 250,500,1000,2000] [--seconds 10] [--runs 3] [--smoke]
 *
 * The API runs as its own process (`cli/main.ts api`, as deployed) against PostgreSQL and
 * Temporal (embedded / dev server unless DATABASE_URL / TEMPORAL_ADDRESS are set); this process
 * is an open-loop load generator on loopback: requests go out on a fixed schedule whether or not
 * earlier ones were answered, so a slow server shows as latency, not as a lower offered rate.
 * Design target: p99 < 20 ms at 1,000 events/s, none lost.
 */
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { benchPort, benchStack, machine, median, pct, processEnv, sleep, spawnTs, stopChild, waitForHttp } from './lib/common.js';

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '250,500,1000,2000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = values.smoke;
const RATES = SMOKE ? [200] : values.rates!.split(',').map(Number);
const SECONDS = SMOKE ? 2 : Number(values.seconds);
const RUNS = SMOKE ? 1 : Number(values.runs);

const stack = await benchStack();
const { pg, temporal, db } = stack;
const port = await benchPort();
// No worker polls this queue: the loops the forwarder starts just wait; the bench measures intake.
const api = spawnTs(
  'cli/main.ts',
  ['api'],
  processEnv({ DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: `bench-no-worker-${port}`, LABEL_LOOP_PORT: String(port), LABEL_LOOP_MAX_WAIT_MS: '86400000', LABEL_LOOP_MIN_ANNOTATIONS: '100000000' }),
);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const post = (body: string) =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/webhook', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });

let annotationId = 1;
/** One open-loop run at `rate` events/s; returns latencies of acknowledged events and their ids. */
async function run(rate: number) {
  const total = rate * SECONDS;
  const latencies: number[] = [];
  const acknowledged: number[] = [];
  const inflight: Promise<void>[] = [];
  let failures = 0;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const id = annotationId++;
    const body = JSON.stringify({
      action: 'ANNOTATION_CREATED',
      annotation: { id, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: ['spam'] } }], was_cancelled: false, updated_at: new Date().toISOString(), task: id },
      task: { id, data: { text: `message number ${id} with some words in it` } },
      project: { id: 1 + (id % 20) },
    });
    inflight.push(
      post(body).then(
        (ms) => {
          latencies.push(ms);
          acknowledged.push(id);
        },
        () => void failures++,
      ),
    );
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  return { total, latencies, acknowledged, failures, eventsPerS: latencies.length / seconds };
}

try {
  await waitForHttp(`http://127.0.0.1:${port}/health`, 120_000);
  console.log(`machine: ${machine()}`);
  const table: string[] = [];
  let lostTotal = 0;
  for (const rate of RATES) {
    const p50s: number[] = [];
    const p99s: number[] = [];
    const rates: number[] = [];
    let lost = 0;
    let refused = 0;
    for (let r = 1; r <= RUNS; r++) {
      const res = await run(rate);
      // Lost: acknowledged (200) but not in PostgreSQL. Refused (503/errors) were never acknowledged.
      const { rows } = await db.query('SELECT count(*)::int AS n FROM annotations WHERE id = ANY($1::bigint[])', [res.acknowledged]);
      lost += res.acknowledged.length - rows[0].n;
      refused += res.failures;
      p50s.push(pct(res.latencies, 50));
      p99s.push(pct(res.latencies, 99));
      rates.push(res.eventsPerS);
      console.log(
        `${rate}/s run ${r}: ${res.total} sent, ${res.acknowledged.length} acknowledged at ${res.eventsPerS.toFixed(0)}/s, p50 ${pct(res.latencies, 50).toFixed(1)} ms, p99 ${pct(res.latencies, 99).toFixed(1)} ms, max ${Math.max(...res.latencies).toFixed(1)} ms, refused ${res.failures}, lost ${res.acknowledged.length - rows[0].n}`,
      );
    }
    lostTotal += lost;
    table.push(`| ${rate.toLocaleString('en')} | ${median(rates).toFixed(0)} | ${median(p50s).toFixed(1)} ms | ${median(p99s).toFixed(1)} ms | ${refused} | ${lost} |`);
  }
  console.log(`\n/webhook, ${SECONDS} s per run, medians of ${RUNS} run(s)`);
  console.log('| offered events/s | acknowledged events/s | p50 | p99 | refused (503) | lost |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const line of table) console.log(line);
  if (lostTotal > 0) throw new Error(`${lostTotal} acknowledged events were lost`);
  if (SMOKE) console.log('\nwebhook smoke: 1 passed, 0 failed');
} finally {
  await stopChild(api);
  agent.destroy();
  await stack.stop();
}
