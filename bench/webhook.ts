/**
 * Design target: /webhook acknowledges in under 20 ms at the 99th percentile while 1,000 events
 * per second arrive, losing none.
 *
 *   npx tsx bench/webhook.ts [--rate 1000] [--seconds 10] [--runs 3]
 *
 * The API runs as its own process (`worker/main.ts api`, as deployed) against embedded PostgreSQL
 * and a Temporal dev server; this process is an open-loop load generator on loopback: requests
 * are sent on a fixed schedule whether or not earlier ones have been answered.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { startEmbeddedPostgres, startTemporalDevServer } from '../infra/index.js';
import { createPool, migrate } from '../store/index.js';
import { REPO_ROOT } from '../worker/config.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' } } });
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs: number[]) => pct(xs, 50);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-bench-'));
await chmod(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 55000 + Math.floor(Math.random() * 1000) });
const temporal = await startTemporalDevServer({ dataDir: path.join(dir, 'temporal'), port: 56000 + Math.floor(Math.random() * 1000), headless: true, searchAttributes: { ...SEARCH_ATTRIBUTES } });
const port = 57000 + Math.floor(Math.random() * 1000);
const db = createPool(pg.url);
await migrate(db);
const api = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'worker/main.ts'), 'api'], {
  cwd: REPO_ROOT,
  env: { ...process.env, DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: 'bench-no-worker', LABEL_LOOP_PORT: String(port), LABEL_LOOP_MAX_WAIT_MS: '86400000', LABEL_LOOP_MIN_ANNOTATIONS: '100000000' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
    } catch {
      if (i > 600) throw new Error('API did not start');
      await sleep(100);
    }
  }
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

  const p99s: number[] = [];
  const p50s: number[] = [];
  let annotationId = 1;
  for (let run = 1; run <= RUNS; run++) {
    const total = RATE * SECONDS;
    const latencies: number[] = [];
    const inflight: Promise<void>[] = [];
    let failures = 0;
    const start = performance.now();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = annotationId++;
      const body = JSON.stringify({
        action: 'ANNOTATION_CREATED',
        annotation: { id, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: ['spam'] } }], was_cancelled: false, updated_at: new Date().toISOString(), task: id },
        task: { id, data: { text: `message number ${id} with some words in it` } },
        project: { id: 1 },
      });
      inflight.push(post(body).then((ms) => void latencies.push(ms), () => void failures++));
    }
    await Promise.all(inflight);
    const elapsed = (performance.now() - start) / 1000;
    const { rows } = await db.query('SELECT count(*)::int AS n FROM webhook_events');
    console.log(
      `run ${run}: ${total} events in ${elapsed.toFixed(1)} s (${(total / elapsed).toFixed(0)}/s): p50 ${pct(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms, failures ${failures}, recorded so far ${rows[0].n}`,
    );
    p50s.push(pct(latencies, 50));
    p99s.push(pct(latencies, 99));
  }
  const { rows } = await db.query('SELECT count(*)::int AS n, count(forwarded_at)::int AS forwarded FROM webhook_events');
  console.log(`\n/webhook at ${RATE}/s for ${SECONDS} s, ${RUNS} runs: median p50 ${median(p50s).toFixed(1)} ms, median p99 ${median(p99s).toFixed(1)} ms`);
  console.log(`events sent ${annotationId - 1}, recorded ${rows[0].n}, forwarded to Temporal ${rows[0].forwarded} (forwarding may lag the load)`);
} finally {
  api.kill('SIGTERM');
  await new Promise((r) => api.once('exit', r));
  await db.end();
  await temporal.stop();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
