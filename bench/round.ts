/**
 * Design target: a round with 2,000 labels and 10,000 tasks (export + train + evaluate + promote
 * + re-predict) in under 15 s on a 2-core machine.
 *
 *   npx tsx bench/round.ts [--runs 3]
 *
 * Real embedded PostgreSQL and Temporal dev server in a temp dir, an in-process worker, tasks and
 * annotations recorded through the same store code the webhook uses. Prints per-step medians.
 */
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres, startTemporalDevServer } from '../infra/index.js';
import { temporalTools } from '../worker/services.js';
import { createPool, migrate, withTransaction, recordEvents, saveLabelConfig } from '../store/index.js';
import { loadConfig } from '../worker/config.js';
import { createLoopWorkers, WORKFLOWS_PATH } from '../worker/runWorker.js';
import { initBackend } from '../model/backend.js';
import { loadSpamAssassin } from '../model/spamAssassin.js';
import { SEARCH_ATTRIBUTES, roundWorkflowId } from '../contract/index.js';
import type { trainingRound } from '../workflows/trainingRound.js';
import type { LoopEvent } from '../labelstudio/webhooks.js';
import { toIntakeItem } from '../api/eventIntake.js';
import { createLogger, installTemporalLogging } from '../worker/logging.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, tasks: { type: 'string', default: '10000' }, labels: { type: 'string', default: '2000' } } });
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const LABELS = Number(values.labels);
const CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="spam"/><Choice value="ham"/></Choices></View>';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const log = createLogger({ log: { level: 'warn' } }, 'bench');
installTemporalLogging(log);
const dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-bench-'));
await chmod(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 55000 + Math.floor(Math.random() * 1000) });
const temporal = await startTemporalDevServer({ tools: temporalTools(loadConfig(process.env)), dataDir: path.join(dir, 'temporal'), port: 56000 + Math.floor(Math.random() * 1000), headless: true, searchAttributes: { ...SEARCH_ATTRIBUTES } });
try {
  const db = createPool(pg.url);
  await migrate(db);
  const config = loadConfig({ DATABASE_URL: pg.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: 'bench' });
  const backend = await initBackend();
  const emails = loadSpamAssassin();
  const projectId = 1;
  await saveLabelConfig(db, projectId, CONFIG, 'setup');
  const events: LoopEvent[] = [];
  events.push({ kind: 'tasks_created', action: 'TASKS_CREATED', projectId, tasks: Array.from({ length: TASKS }, (_, i) => ({ id: i + 1, data: { text: emails[(i * 7919) % emails.length].text } })) });
  for (let i = 0; i < LABELS; i++) {
    const taskId = i + 1;
    const email = emails[(i * 7919) % emails.length];
    events.push({
      kind: 'annotation',
      action: 'ANNOTATION_CREATED',
      projectId,
      task: { id: taskId, data: { text: email.text } },
      annotation: { id: taskId, taskId, result: [{ from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [email.label] } }], wasCancelled: false, updatedAt: new Date().toISOString() },
    });
  }
  await withTransaction(db, (c) => recordEvents(c, events.map(toIntakeItem)));

  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined as never });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const worker = await createLoopWorkers({ connection: nativeConnection, client, config, db, log, workflowBundle: { code } });
  const running = worker.run();

  const totals: number[] = [];
  const steps: Record<string, number[]> = {};
  for (let run = 1; run <= RUNS; run++) {
    const workflowId = roundWorkflowId(projectId, run);
    const started = performance.now();
    const result = await client.workflow.execute<typeof trainingRound>('trainingRound', {
      workflowId,
      taskQueue: 'bench',
      // A different seed per run: every run trains, evaluates and re-predicts all tasks afresh.
      args: [{ projectId, round: run, trigger: 'requested', overrides: { seed: run } }],
    });
    totals.push((performance.now() - started) / 1000);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduledAt = new Map<string, { name: string; at: number }>();
    for (const e of history.events ?? []) {
      const at = Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
      if (e.activityTaskScheduledEventAttributes) scheduledAt.set(String(e.eventId), { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at });
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const s = scheduledAt.get(String(done.scheduledEventId))!;
        (steps[s.name] ??= []).push((at - s.at) / 1000);
      }
    }
    console.log(`run ${run}: ${totals.at(-1)!.toFixed(2)} s, ${result.modelVersion} promoted=${result.promoted} accuracy ${result.candidateMetrics.accuracy.toFixed(3)}, predicted ${result.predicted}`);
  }
  console.log(`\nround with ${LABELS} labels and ${TASKS} tasks, tfjs backend ${backend}, ${RUNS} runs (median):`);
  console.log(`  whole round (client-observed): ${median(totals).toFixed(2)} s   [min ${Math.min(...totals).toFixed(2)}, max ${Math.max(...totals).toFixed(2)}]`);
  for (const [name, xs] of Object.entries(steps)) console.log(`  ${name.padEnd(20)} ${median(xs).toFixed(2)} s`);
  worker.shutdown();
  await running;
  await nativeConnection.close();
  await connection.close();
  await db.end();
} finally {
  await temporal.stop();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
