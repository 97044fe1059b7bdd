/**
 * Large pools: reconcile (import from Label Studio), export, re-predict and push at 100,000 and
 * 1,000,000 tasks; tasks/s and peak RSS of each step, medians of `--runs`.
 *
 *   npx tsx bench/bulk.ts [--sizes 100000,1000000] [--runs 3] [--backends wasm] [--smoke]
 *
 * Real embedded PostgreSQL; a fake Label Studio 1.23 (bench/lib/fakeLabelStudio.ts) in its own
 * process serves the task listing and takes the bulk prediction import. Each step runs as the
 * round's activity (the same code, through Temporal's MockActivityEnvironment) in a fresh child
 * process, so its peak RSS is its own: flat memory means the same peak at 100k and at 1M.
 * "re-predict, no model" replaces the classifier by a constant (the I/O pipeline alone: pages
 * read, uncertainty scored, COPY written), measured in the same run as the real model: the gap
 * is the model's share. Tasks are SpamAssassin e-mails cut to 400 characters, 2% labelled.
 * The model is the one the train step makes: the sparse TF-IDF classifier, which does not use
 * tfjs; `--backends wasm,cpu` (LABEL_LOOP_TF_BACKEND) only matters for legacy v1 models.
 * `--smoke` (CI): 2,000 tasks, one run, checks counts only.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, migrate, type Db } from '../store/index.js';
import { benchDatabase, benchDir, benchPort, machine, median, peakRssMb, runJsonChild, spawnTs, stopChild, waitForHttp } from './lib/common.js';

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' },
    project: { type: 'string' },
    db: { type: 'string' },
    ls: { type: 'string' },
    version: { type: 'string' },
    snapshot: { type: 'string' },
    model: { type: 'string', default: 'real' },
    key: { type: 'string' },
    sizes: { type: 'string', default: '100000,1000000' },
    runs: { type: 'string', default: '3' },
    backends: { type: 'string', default: 'wasm' },
    'chunk-size': { type: 'string', default: '2000' },
    'heap-mb': { type: 'string' },
    profile: { type: 'string' },
    reset: { type: 'string', default: 'new-version' },
    steps: { type: 'string', default: 'reconcile,export,predict,push' },
    smoke: { type: 'boolean', default: false },
  },
});

interface StepReport {
  step: string;
  ms: number;
  count: number;
  peakRssMb: number;
  backend?: string;
  result?: any;
}

const SELF = path.relative(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), fileURLToPath(import.meta.url));

/** One step as its activity, in this (child) process. */
async function child(step: string): Promise<StepReport> {
  const { MockActivityEnvironment } = await import('@temporalio/testing');
  const { createActivities } = await import('../activities/index.js');
  const { loadConfig } = await import('../worker/config.js');
  const { LabelStudioClient } = await import('../labelstudio/client.js');
  const { createLogger } = await import('../worker/logging.js');
  const { initBackend } = await import('../model/backend.js');
  const { Classifier } = await import('../model/classifier.js');
  const config = loadConfig({ LABEL_LOOP_PREDICT_CHUNK_SIZE: args['chunk-size'], LABEL_LOOP_TF_BACKEND: process.env.LABEL_LOOP_TF_BACKEND, LABEL_LOOP_EPOCHS: '2' });
  const db = createPool(args.db!, { statementTimeoutMs: 30 * 60_000, max: 4 });
  const backend = await initBackend({ forced: config.tfBackend });
  if (args.model === 'none') Classifier.prototype.predictProba = (texts: string[]) => texts.map((_, i) => (i % 2 ? [0.3, 0.7] : [0.6, 0.4]));
  const activities = createActivities({
    db,
    labelStudio: new LabelStudioClient({ url: args.ls!, apiKey: 'bench-token' }),
    config: config.round,
    log: createLogger({ log: { level: 'warn', format: 'json' } }, 'bench'),
  });
  const env = new MockActivityEnvironment();
  const projectId = Number(args.project);
  const started = performance.now();
  let count = 0;
  let result: any;
  switch (step) {
    case 'reconcile':
      result = await env.run(activities.reconcileProject, { projectId });
      count = (await db.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1 AND NOT deleted', [projectId])).rows[0].n;
      break;
    case 'export':
      result = await env.run(activities.exportSnapshot, { projectId, roundKey: args.key! });
      count = result.trainCount + result.skippedCount;
      break;
    case 'train':
      result = await env.run(activities.trainCandidate, { projectId, snapshotId: args.snapshot!, round: 1 });
      break;
    case 'predict':
      result = await env.run(activities.predictTasks, { projectId, modelVersion: args.version! });
      count = result.predicted;
      break;
    case 'push':
      result = await env.run(activities.pushPredictions, { projectId, modelVersion: args.version! });
      count = result.pushed;
      break;
    default:
      throw new Error(`unknown step ${step}`);
  }
  const ms = performance.now() - started;
  await db.end();
  return { step, ms, count, peakRssMb: peakRssMb(), backend, result };
}

async function parent() {
  const smoke = args.smoke;
  const sizes = smoke ? [2_000] : args.sizes!.split(',').map(Number);
  const runs = smoke ? 1 : Number(args.runs);
  const backends = args.backends!.split(',');
  const temp = await benchDir();
  const pg = await benchDatabase(temp.dir);
  const lsPort = await benchPort();
  const projects = sizes.map((n, i) => `${i + 1}:${n}`).join(',');
  const ls = spawnTs('bench/lib/fakeLabelStudio.ts', ['--port', String(lsPort), '--projects', projects, '--text-chars', '400']);
  const db: Db = createPool(pg.url, { statementTimeoutMs: 30 * 60_000 });
  const lsUrl = `http://127.0.0.1:${lsPort}`;
  const rows: { size: number; step: string; tasksPerS: number[]; rss: number[]; count: number; backend?: string }[] = [];
  try {
    await migrate(db);
    await waitForHttp(`${lsUrl}/api/projects/1/`);
    console.log(`machine: ${machine()}`);
    // --heap-mb caps every step's V8 heap: a step that finishes at 1,000,000 tasks under a cap
    // that fits a few pages shows its memory does not grow with the project.
    const heap = args['heap-mb'] ? [`--max-old-space-size=${args['heap-mb']}`] : [];
    if (args['heap-mb']) console.log(`every step's V8 old space capped at ${args['heap-mb']} MB`);
    const step = (name: string, projectId: number, extra: string[] = [], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []) =>
      runJsonChild<StepReport>(SELF, ['--child', name, '--project', String(projectId), '--db', pg.url, '--ls', lsUrl, '--chunk-size', args['chunk-size']!, ...extra], env, [...heap, ...nodeArgs]);
    const wanted = new Set(args.steps!.split(','));
    // --profile DIR: CPU profiles of re-prediction and push (node --cpu-prof), for "where the time goes".
    const profile = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
    const record = (size: number, label: string, r: StepReport) => {
      let row = rows.find((x) => x.size === size && x.step === label);
      if (!row) rows.push((row = { size, step: label, tasksPerS: [], rss: [], count: r.count, backend: r.backend }));
      row.tasksPerS.push(r.count / (r.ms / 1000));
      row.rss.push(r.peakRssMb);
      console.log(`  ${String(size).padStart(9)} ${label.padEnd(28)} ${r.count} in ${(r.ms / 1000).toFixed(1)} s = ${Math.round(r.count / (r.ms / 1000))}/s, peak RSS ${r.peakRssMb} MB`);
      if (smoke && r.count <= 0) throw new Error(`${label}: nothing processed`);
    };
    for (const [i, size] of sizes.entries()) {
      const projectId = i + 1;
      // The first reconcile imports the project (every later step needs it); later ones find nothing changed.
      for (let run = 1; run <= (wanted.has('reconcile') ? runs : 1); run++) record(size, run === 1 ? 'reconcile (import)' : 'reconcile (unchanged)', await step('reconcile', projectId));
      let snapshotId = '';
      for (let run = 1; run <= (wanted.has('export') ? runs : 1); run++) {
        const r = await step('export', projectId, ['--key', `bench-${run}`]);
        snapshotId ||= r.result.snapshotId;
        record(size, 'export (labelled tasks)', r);
      }
      const trained = await step('train', projectId, ['--snapshot', snapshotId]);
      const version: string = trained.result.modelVersion;
      // Each re-prediction writes a new model version (a copy of the trained model under another
      // name), as every new champion does: the table grows by a version per run, and nothing is
      // deleted in between. `--reset delete` instead deletes and vacuums before each run (the
      // table then has a million holes that COPY fills: its worst case).
      const versionFor = async (label: string) => {
        const name = `${version}-${label}`;
        await db.query(
          `CREATE TEMP TABLE IF NOT EXISTS model_copy AS SELECT * FROM models WITH NO DATA;
           DELETE FROM model_copy;`,
        );
        await db.query('INSERT INTO model_copy SELECT * FROM models WHERE project_id = $1 AND version = $2', [projectId, version]);
        await db.query('UPDATE model_copy SET version = $1', [name]);
        await db.query('INSERT INTO models SELECT * FROM model_copy ON CONFLICT DO NOTHING');
        if (args.reset === 'delete') {
          await db.query('DELETE FROM predictions WHERE project_id = $1', [projectId]);
          await db.query('VACUUM predictions');
        }
        return name;
      };
      // Interleaved (no model, then each backend, run after run), so the ratios compare runs made
      // under the same load on a shared machine.
      const predictRuns = wanted.has('predict') ? runs : wanted.has('push') ? runs : 0;
      const pushable: string[] = [];
      for (let run = 1; run <= predictRuns; run++) {
        if (wanted.has('predict')) record(size, 're-predict, no model', await step('predict', projectId, ['--version', await versionFor(`none-${run}`), '--model', 'none']));
        for (const backend of i === 0 ? backends : backends.slice(0, 1)) {
          const v = await versionFor(`${backend}-${run}`);
          record(size, backends.length > 1 ? `re-predict, model (LABEL_LOOP_TF_BACKEND=${backend})` : 're-predict, model', await step('predict', projectId, ['--version', v], { LABEL_LOOP_TF_BACKEND: backend }, profile));
          if (backend === backends[0]) pushable.push(v);
        }
      }
      // Each push sends another version's predictions, once, as after each new champion.
      for (let run = 1; run <= (wanted.has('push') ? runs : 0); run++) {
        if (args.reset === 'delete') await db.query('UPDATE predictions SET pushed_at = NULL, push_started_at = NULL WHERE project_id = $1', [projectId]);
        record(size, 'push', await step('push', projectId, ['--version', pushable[run - 1] ?? pushable[0]], {}, profile));
      }
      const stats = (await (await fetch(`${lsUrl}/stats`)).json()) as Record<number, { imported: number }>;
      if (wanted.has('push') && stats[projectId].imported !== size * runs) throw new Error(`fake Label Studio received ${stats[projectId].imported} predictions, expected ${size * runs}`);
    }
    console.log(`\nmedians of ${runs} run(s); tasks/s = tasks of the step / wall time of the activity; peak RSS of the step's process`);
    console.log('| tasks | step | tasks/s | peak RSS |');
    console.log('| ---: | --- | ---: | ---: |');
    for (const r of rows) console.log(`| ${r.size.toLocaleString('en')} | ${r.step} | ${Math.round(median(r.tasksPerS)).toLocaleString('en')} | ${Math.round(median(r.rss))} MB |`);
    if (smoke) console.log('\nbulk smoke: 1 passed, 0 failed');
  } finally {
    await stopChild(ls);
    await db.end();
    await pg.stop();
    await temp.remove();
  }
}

if (args.child) {
  const report = await child(args.child);
  console.log(JSON.stringify(report));
} else {
  await parent();
}
