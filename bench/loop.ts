/**
 * Loop latency: from the acknowledgement of the last annotation of a burst to fresh predictions
 * for every one of the project's tasks (10,000 by default) stored by the champion that learnt
 * from it. The quiet period (the loop waits for the burst to end) is reported separately.
 *
 *   npx tsx bench/loop.ts [--tasks 10000] [--labels 500] [--quiet-ms 2000] [--runs 3] [--smoke]
 *
 * One API process and one worker process (all three queues), as `label-loop api` / `worker`
 * run them, on PostgreSQL and Temporal (embedded / dev server unless DATABASE_URL /
 * TEMPORAL_ADDRESS are set). Each run is a new project: /setup, TASKS_CREATED with the tasks
 * (whole SpamAssassin e-mails), then the burst of labels through /webhook as fast as they are
 * acknowledged. No Label Studio: reconcile and push are skipped (push: bench/bulk.ts).
 * Target: < 10 s plus the quiet period for 10,000 tasks.
 */
import { parseArgs } from 'node:util';
import { loadSpamAssassin } from '../model/spamAssassin.js';
import { SPAM_CONFIG } from './lib/fakeLabelStudio.js';
import { benchPort, benchStack, machine, median, processEnv, sleep, spawnTs, stopChild, waitForHttp } from './lib/common.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '10000' },
    labels: { type: 'string', default: '500' },
    'quiet-ms': { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = values.smoke;
const TASKS = SMOKE ? 500 : Number(values.tasks);
const LABELS = SMOKE ? 60 : Number(values.labels);
const QUIET_MS = SMOKE ? 500 : Number(values['quiet-ms']);
const RUNS = SMOKE ? 1 : Number(values.runs);

const stack = await benchStack();
const { pg, temporal, db } = stack;
const port = await benchPort();
const env = processEnv({
  DATABASE_URL: pg.url,
  TEMPORAL_ADDRESS: temporal.address,
  TEMPORAL_TASK_QUEUE: `bench-loop-${port}`,
  LABEL_LOOP_PORT: String(port),
  LABEL_LOOP_MIN_ANNOTATIONS: '10',
  LABEL_LOOP_QUIET_PERIOD_MS: String(QUIET_MS),
  LABEL_LOOP_MAX_WAIT_MS: '600000',
  LABEL_LOOP_PREDICT_CHUNK_SIZE: '2000',
});
const api = spawnTs('cli/main.ts', ['api'], env);
const worker = spawnTs('cli/main.ts', ['worker'], env);
const url = `http://127.0.0.1:${port}`;
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
};

try {
  await waitForHttp(`${url}/health`, 120_000);
  console.log(`machine: ${machine()}`);
  const emails = loadSpamAssassin();
  const totals: number[] = [];
  const steps: Record<string, number[]> = {};
  for (let run = 1; run <= RUNS; run++) {
    const projectId = 100 + run;
    const first = projectId * 1_000_000;
    const tasks = Array.from({ length: TASKS }, (_, i) => ({ id: first + i, data: { text: emails[(i * 7919 + run) % emails.length].text } }));
    const project = { id: projectId, label_config: SPAM_CONFIG };
    await post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG });
    await post('/webhook', { action: 'TASKS_CREATED', tasks: tasks.map((t) => ({ ...t, project: projectId })), project });
    let lastAck = 0;
    for (let i = 0; i < LABELS; i++) {
      const t = tasks[i];
      const label = emails[(i * 7919 + run) % emails.length].label;
      const now = new Date().toISOString();
      await post('/webhook', {
        action: 'ANNOTATION_CREATED',
        annotation: { id: t.id, task: t.id, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [label] } }], was_cancelled: false, created_at: now, updated_at: now },
        task: { ...t, project: projectId },
        project,
      });
      lastAck = performance.now();
    }
    const lastAnnotation = tasks[LABELS - 1].id;
    // Done: the champion learnt from the last label, and every task has its prediction.
    for (;;) {
      const { rows } = await db.query(
        `SELECT c.version,
                (SELECT count(*)::int FROM predictions p WHERE p.project_id = $1 AND p.model_version = c.version) AS predicted,
                EXISTS (SELECT 1 FROM models m JOIN snapshot_examples se ON se.snapshot_id = m.snapshot_id
                         WHERE m.project_id = $1 AND m.version = c.version AND se.annotation_id = $2) AS learnt
           FROM champions c WHERE c.project_id = $1`,
        [projectId, lastAnnotation],
      );
      if (rows[0]?.learnt && rows[0].predicted >= TASKS) break;
      if (performance.now() - lastAck > 600_000) throw new Error(`no fresh predictions after 10 minutes: ${JSON.stringify(rows[0])}`);
      await sleep(25);
    }
    const total = performance.now() - lastAck;
    totals.push(total);
    // The round's step times (written when it ends, after the predictions counted above).
    let rows: { steps: Record<string, { ms: number }> }[] = [];
    while (!rows.length) {
      ({ rows } = await db.query(`SELECT steps FROM rounds WHERE project_id = $1 AND finished_at IS NOT NULL AND outcome <> 'failed' ORDER BY round DESC LIMIT 1`, [projectId]));
      if (!rows.length) await sleep(50);
    }
    for (const [name, s] of Object.entries(rows[0].steps)) (steps[name] ??= []).push(s.ms);
    console.log(`run ${run}: last label → ${TASKS} fresh predictions in ${(total / 1000).toFixed(2)} s (quiet period ${QUIET_MS / 1000} s); steps ${JSON.stringify(rows[0].steps)}`);
  }
  const m = median(totals);
  console.log(`\nloop latency, ${TASKS.toLocaleString('en')} tasks, burst of ${LABELS} labels, medians of ${RUNS} run(s)`);
  console.log('| last label → every task predicted | of which quiet period | the rest | ' + Object.keys(steps).join(' | ') + ' |');
  console.log('| ---: | ---: | ---: | ' + Object.keys(steps).map(() => '---:').join(' | ') + ' |');
  console.log(`| ${(m / 1000).toFixed(2)} s | ${(QUIET_MS / 1000).toFixed(1)} s | ${((m - QUIET_MS) / 1000).toFixed(2)} s | ${Object.values(steps).map((xs) => `${(median(xs) / 1000).toFixed(2)} s`).join(' | ')} |`);
  if (SMOKE) console.log('\nloop smoke: 1 passed, 0 failed');
} finally {
  await stopChild(api);
  await stopChild(worker);
  await stack.stop();
}
