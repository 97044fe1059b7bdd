/**
 * Operating Label Loop: /metrics after real rounds, the worker's Temporal SDK metrics, and the
 * dashboard in a real headless Chromium (Debian's, driven by playwright-core).
 *
 * Nothing the page shows is made up: rounds run for real in a worker *process* (promoted,
 * rejected, promoted, then one stopped mid-training by terminating its workflow: a real failed
 * round), the schedules are Temporal schedules created through the API, the replay is clicked in
 * the page and really runs (showing its live progress), and every route the page reads is the
 * real API's. The outage case is a real outage too: a second API process on the same database
 * whose Temporal is a port nobody listens on.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { createHarness, createTestDatabase, testLog, waitFor, type Harness } from '../helpers/harness.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workerProcess.js';
import { freePort } from '../helpers/globalSetup.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { REPO_ROOT } from '../../worker/config.js';
import { loopWorkflowId, roundWorkflowId } from '../../contract/index.js';
import { markRoundFailed, recordRoundEnd, recordRoundStart } from '../../store/rounds.js';
import { ApiMetrics } from '../../api/metrics.js';
import { startApiServer } from '../../api/server.js';
import { initBackend } from '../../model/backend.js';
import { series } from '../helpers/prometheus.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT_DIR = path.join(REPO_ROOT, 'test-output');
/** `RECORD_SCREENSHOTS=1` refreshes the README's screenshot (docs/dashboard.png). */
const DOCS_SCREENSHOT = path.join(REPO_ROOT, 'docs', 'dashboard.png');
const TEMPORAL_UI = 'http://127.0.0.1:8233';
/**
 * Epochs of the round that is stopped mid-training; its replay trains them all (a replay reuses
 * the round's overrides), long enough for the page to show its progress move between polls.
 */
const LONG_EPOCHS = 30_000;

const AUTH = { user: 'operator', password: 'dashboard-test-password' };
const auth = { authorization: `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}` };
const ENV = {
  // Rounds start only on request, so each step decides when one runs.
  LABEL_LOOP_MIN_ANNOTATIONS: '1000000',
  LABEL_LOOP_MAX_WAIT_MS: '86400000',
  LABEL_LOOP_BASIC_AUTH_USER: AUTH.user,
  LABEL_LOOP_BASIC_AUTH_PASSWORD: AUTH.password,
  LABEL_LOOP_TEMPORAL_UI_URL: TEMPORAL_UI,
  // The page's status polls get 8 s: a loaded machine (a round training in the worker beside
  // it) made one miss the default 3 s and the page log a 503. The outage case fails fast anyway
  // (Temporal refuses the connection).
  LABEL_LOOP_TEMPORAL_QUERY_TIMEOUT_MS: '8000',
};

describe('operating Label Loop: metrics and the dashboard after real rounds', () => {
  let h: Harness;
  let worker: WorkerProcess;
  let workerMetricsPort: number;
  let context: BrowserContext;
  let profileDir: string;
  // A fixed id: the audit stream hashes it, so every run scores the same examples.
  const projectId = 616_161;
  const { tasks, labelOf } = spamTasks(400, 1, 1000);
  let nextAnnotationId = 1;

  const label = async (from: number, to: number) => {
    for (const t of tasks.slice(from, to)) {
      const res = await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, nextAnnotationId++, [labelOf.get(t.id)!]));
      expect(res.status).toBe(200);
    }
  };
  const get = async (route: string) => {
    const res = await h.get(route, auth);
    expect(res.status).toBe(200);
    return res.body;
  };
  const roundRow = (n: number) => get(`/api/projects/${projectId}/rounds/${n}`);
  const finished = (n: number) =>
    waitFor(`round ${n} to finish`, async () => {
      const r = await h.get(`/api/projects/${projectId}/rounds/${n}`, auth);
      return r.status === 200 && r.body.outcome !== 'running' ? r.body : undefined;
    }, 300_000, 200);
  /** Every label reaches the loop before a request: one arriving during the round would earn a follow-up round. */
  const drain = () => waitFor('the outbox to drain', async () => (await h.db.query('SELECT 1 FROM webhook_events WHERE forwarded_at IS NULL LIMIT 1')).rowCount === 0);
  const round = async (n: number, body: object = {}) => {
    await drain();
    expect((await h.post(`/api/projects/${projectId}/rounds`, body, auth)).status).toBe(202);
    const status = await h.waitForRounds(projectId, n);
    expect(status.lastError).toBeNull();
    return status;
  };
  const scrape = async () => (await h.get('/metrics', auth)).body as string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    h = await createHarness({ worker: false, env: ENV });
    workerMetricsPort = await freePort();
    worker = startWorkerProcess({
      ...ENV,
      DATABASE_URL: h.databaseUrl,
      TEMPORAL_ADDRESS: h.temporalAddress,
      TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      LABEL_LOOP_WORKER_METRICS_PORT: String(workerMetricsPort),
    });
    expect((await h.post('/setup', { project: `${projectId}.1700000000`, schema: SPAM_CONFIG }, auth)).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    await label(0, 120);
    expect((await round(1)).lastRound!.promoted).toBe(true);
    // Zero epochs: the untrained initial weights, a candidate that must lose.
    expect((await round(2, { reason: 'test: bad candidate', overrides: { epochs: 0 } })).lastRound!.promoted).toBe(false);
    await label(120, 250);
    expect((await round(3)).lastRound!.promoted).toBe(true);

    // Round 4, on 50 more labels, is stopped mid-training (its workflow terminated, as an operator
    // would in the Web UI): a real failed round, with the termination as its root cause.
    await label(250, 300);
    await drain();
    expect((await h.post(`/api/projects/${projectId}/rounds`, { reason: 'test: to be stopped', overrides: { epochs: LONG_EPOCHS, tolerance: 0 } }, auth)).status).toBe(202);
    await waitFor('round 4 to train', async () => {
      const s = (await h.get(`/api/projects/${projectId}/status`, auth)).body;
      return s.currentRound === 4 && s.progress?.step === 'train';
    }, 60_000, 50);
    await h.client.workflow.getHandle(roundWorkflowId(projectId, 4)).terminate('operator stopped it (test)');
    expect(await finished(4)).toMatchObject({ outcome: 'failed', error: { message: expect.stringMatching(/terminated/i) } });

    // Two real Temporal schedules: one active (12 hours from now in Paris, so it does not fire
    // during the test) and one paused with a note.
    const parisHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    const nightly = { id: 'nightly', cron: `0 ${(parisHour + 12) % 24} * * *`, timezone: 'Europe/Paris', jitter: '5m', note: "retrain on the day's labels" };
    expect((await h.post(`/api/projects/${projectId}/schedules`, nightly, auth)).status).toBe(201);
    expect((await h.post(`/api/projects/${projectId}/schedules`, { id: 'weekly', every: '7d' }, auth)).status).toBe(201);
    expect((await h.post(`/api/projects/${projectId}/schedules/weekly/pause`, { note: 'paused while the label set changes' }, auth)).body).toMatchObject({ paused: true });

    await mkdir(OUTPUT_DIR, { recursive: true });
    profileDir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: AUTH.user, password: AUTH.password },
      viewport: { width: 1440, height: 1100 },
      deviceScaleFactor: 1,
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    // Schedules outlive their loops: leave none on the shared Temporal server.
    for (const id of ['nightly', 'weekly']) await h?.delete(`/api/projects/${projectId}/schedules/${id}`, auth).catch(() => undefined);
    await worker?.stop();
    await h?.close();
  });

  describe('/metrics', () => {
    it('reports the rounds (a failed one too), their steps and the champion, read from PostgreSQL', async () => {
      // The forwarder has caught up once every recorded event was signalled.
      const text = await waitFor('the outbox to drain', async () => {
        const res = await h.get('/metrics', auth);
        expect(res.status).toBe(200);
        return series(res.body, 'label_loop_webhook_events_unforwarded').get('') === 0 ? (res.body as string) : undefined;
      });
      const project = `project="${projectId}"`;
      expect(series(text, 'label_loop_database_up').get('')).toBe(1);
      expect(series(text, 'label_loop_forwarder_lag_seconds').get('')).toBe(0);
      expect(Object.fromEntries(series(text, 'label_loop_rounds_total'))).toEqual({
        [`{${project},outcome="promoted"}`]: 2,
        [`{${project},outcome="rejected"}`]: 1,
        [`{${project},outcome="failed"}`]: 1,
      });
      expect(series(text, 'label_loop_rounds_running').size).toBe(0);
      // Three trainings finished (the stopped round recorded no step), in the histogram's count and its +Inf bucket.
      expect(series(text, 'label_loop_round_step_duration_seconds_count').get('{step="train"}')).toBe(3);
      expect(series(text, 'label_loop_round_step_duration_seconds_bucket').get('{step="train",le="+Inf"}')).toBe(3);
      expect(series(text, 'label_loop_round_step_duration_seconds_count').get('{step="push"}')).toBe(3);

      const { models, champion: championVersion } = await get(`/api/projects/${projectId}/models`);
      const champion = models.find((m: any) => m.version === championVersion);
      expect(series(text, 'label_loop_champion_info').get(`{${project},version="${championVersion}"}`)).toBe(1);
      expect(series(text, 'label_loop_champion_accuracy').get(`{${project}}`)).toBeCloseTo(champion.metrics.accuracy, 9);
      expect(series(text, 'label_loop_champion_macro_f1').get(`{${project}}`)).toBeCloseTo(champion.metrics.macroF1, 9);
      expect(series(text, 'label_loop_champion_evaluated_examples').get(`{${project}}`)).toBe(champion.metrics.n);
      expect(series(text, 'label_loop_champion_labels').get(`{${project}}`)).toBe(250);
      expect(series(text, 'label_loop_champion_promoted_timestamp_seconds').get(`{${project}}`)).toBeGreaterThan(Date.now() / 1000 - 3600);

      // What this API process saw: 300 annotations and one task import, all forwarded.
      const events = series(text, 'label_loop_webhook_events_total');
      expect(events.get('{action="ANNOTATION_CREATED",result="recorded"}')).toBe(300);
      expect(events.get('{action="TASKS_CREATED",result="recorded"}')).toBe(1);
      expect(series(text, 'label_loop_webhook_ack_duration_seconds_count').get('{result="recorded"}')).toBe(301);
      expect(series(text, 'label_loop_forwarder_events_total').get('')).toBe(301);
      expect(series(text, 'label_loop_forwarder_signals_total').get('{result="ok"}')).toBeGreaterThanOrEqual(1);
    });

    it('times /predict and counts its batch sizes', async () => {
      const res = await h.post('/predict', { tasks: tasks.slice(300, 307).map((t) => ({ id: t.id, data: t.data })), project: `${projectId}.1700000000` }, auth);
      expect(res.status).toBe(200);
      expect(res.body.results).toHaveLength(7);
      const text = await scrape();
      expect(series(text, 'label_loop_predict_duration_seconds_count').get('{code="200"}')).toBe(1);
      expect(series(text, 'label_loop_predict_batch_tasks_bucket').get('{le="5"}')).toBe(0);
      expect(series(text, 'label_loop_predict_batch_tasks_bucket').get('{le="10"}')).toBe(1);
      expect(series(text, 'label_loop_predict_batch_tasks_sum').get('')).toBe(7);
    });

    it('counts every outcome, running round and step as the rounds write the rounds table', async () => {
      // A database of its own, written through the same store functions the rounds use.
      const database = await createTestDatabase();
      const db = database.db;
      try {
        const steps = (ms: number) => Object.fromEntries(['reconcile', 'export', 'train', 'evaluate', 'promote', 'predict', 'push'].map((s) => [s, { ms }]));
        const start = (project: number, n: number, replayOf: number | null = null) =>
          recordRoundStart(db, { projectId: project, round: n, workflowId: roundWorkflowId(project, n), runId: `run-${n}`, trigger: replayOf ? 'replay' : 'requested', replayOf, overrides: null });
        const end = (project: number, n: number, outcome: 'promoted' | 'rejected' | 'failed', s: object, error: { type: string; message: string } | null = null) =>
          recordRoundEnd(db, { projectId: project, round: n, runId: `run-${n}`, outcome, steps: s, error });
        for (const n of [1, 2, 3, 4, 6, 7]) await start(7, n);
        await end(7, 1, 'promoted', steps(400));
        await end(7, 2, 'rejected', steps(2_000));
        await end(7, 3, 'failed', { reconcile: { ms: 30_000 } }, { type: 'LabelStudioUnavailable', message: 'Label Studio answered 502' });
        await end(7, 4, 'promoted', steps(400));
        // Round 5 replays the failed round 3: round 3 becomes `replayed`.
        await start(7, 5, 3);
        await end(7, 5, 'rejected', { reconcile: { ms: 45_000 } });
        // Round 6 runs; round 7 was terminated (the loop marks it failed, no steps recorded).
        await markRoundFailed(db, 7, 7, { type: 'TerminatedFailure', message: 'Terminated' });
        await start(8, 1);
        await end(8, 1, 'failed', { reconcile: { ms: 200 } }, { type: 'NotEnoughLabels', message: 'too few labels' });

        const text = await new ApiMetrics({ db, intakeDepth: () => 0, processMetrics: false }).scrape();
        expect(Object.fromEntries(series(text, 'label_loop_rounds_total'))).toEqual({
          '{project="7",outcome="promoted"}': 2,
          '{project="7",outcome="rejected"}': 2,
          '{project="7",outcome="replayed"}': 1,
          '{project="7",outcome="failed"}': 1,
          '{project="8",outcome="failed"}': 1,
        });
        expect(Object.fromEntries(series(text, 'label_loop_rounds_running'))).toEqual({ '{project="7"}': 1 });
        const count = series(text, 'label_loop_round_step_duration_seconds_count');
        expect(count.get('{step="reconcile"}')).toBe(6); // 7/1-5 and 8/1; the running and the terminated round have none
        expect(count.get('{step="train"}')).toBe(3);
        expect(series(text, 'label_loop_round_step_duration_seconds_sum').get('{step="reconcile"}')).toBeCloseTo(0.4 + 2 + 30 + 0.4 + 45 + 0.2, 9);
        const buckets = series(text, 'label_loop_round_step_duration_seconds_bucket');
        expect(buckets.get('{step="reconcile",le="0.25"}')).toBe(1);
        expect(buckets.get('{step="reconcile",le="0.5"}')).toBe(3);
        expect(buckets.get('{step="reconcile",le="30"}')).toBe(5);
        expect(buckets.get('{step="reconcile",le="60"}')).toBe(6);
        expect(buckets.get('{step="reconcile",le="+Inf"}')).toBe(6);
      } finally {
        await database.drop();
      }
    });

    it('refuses a scrape without the API\'s credentials', async () => {
      expect((await h.get('/metrics')).status).toBe(401);
    });

    it('has the worker process export the Temporal SDK\'s own metrics on LABEL_LOOP_WORKER_METRICS_PORT', async () => {
      const res = await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      // Prometheus conventions, as configured: counters end in _total, durations in seconds.
      expect(text).toMatch(/^temporal_activity_execution_latency_seconds_bucket\{/m);
      expect(text).toMatch(/^temporal_workflow_completed_total\{/m);
      expect(text).toContain(`task_queue="${h.config.temporal.taskQueue}"`);
      expect(text).not.toMatch(/_milliseconds/);
    });
  });

  describe('the dashboard in headless Chromium', () => {
    /** Opens the dashboard of the API at `base` and records what would show in the browser's console. */
    async function open(base = h.api.url) {
      const page = await context.newPage();
      const consoleErrors: string[] = [];
      const pageErrors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      page.on('pageerror', (e) => pageErrors.push(e.message));
      const response = await page.goto(`${base}/`, { waitUntil: 'load' });
      expect(response!.url()).toBe(`${base}/dashboard`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
      return { page, consoleErrors, pageErrors };
    }
    /** The canvas's pixels near the promoted and rejected colours (runs in the page: no DOM types here). */
    const curveColours = (page: Page) =>
      page.locator('#curve .chart canvas').evaluate((canvas: any) => {
        const data: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const near = (r: number, g: number, b: number) => {
          let count = 0;
          for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i] - r) < 12 && Math.abs(data[i + 1] - g) < 12 && Math.abs(data[i + 2] - b) < 12 && data[i + 3] > 200) count++;
          return count;
        };
        return { width: canvas.width as number, promoted: near(0x16, 0xa3, 0x4a), rejected: near(0xdc, 0x26, 0x26), replayed: near(0x7c, 0x3a, 0xed) };
      });
    const POLL = { timeout: 30_000, interval: 250 };

    it('draws the learning curve, the champion, schedules, rounds and the failure; a replay clicked in the page runs with live progress and replays it', async () => {
      const { page, consoleErrors, pageErrors } = await open();
      const rounds = (await get(`/api/projects/${projectId}/rounds`)).rounds;
      const { champion } = await get(`/api/projects/${projectId}/models`);

      // The project list (GET /api/projects): the one project, its labels and its last round.
      const projectRow = page.locator(`#projects tr[data-project="${projectId}"]`);
      expect(await projectRow.textContent()).toMatch(/300 \/ 400/);
      expect(await projectRow.textContent()).toMatch(/#4 failed/);

      // The learning curve (GET …/learning-curve): one point per evaluated round, drawn on the canvas.
      const chart = page.locator('#curve .chart');
      await expect.poll(() => chart.getAttribute('data-points')).toBe('3');
      expect(await chart.getAttribute('data-promoted')).toBe('2');
      expect(await chart.getAttribute('data-rejected')).toBe('1');
      expect(await chart.getAttribute('data-replayed')).toBe('0');
      const colours = await curveColours(page);
      expect(colours.width).toBeGreaterThan(500);
      expect(colours.promoted).toBeGreaterThan(50); // two filled green markers (and the champion line)
      expect(colours.rejected).toBeGreaterThan(10); // one hollow red marker
      // Hovering a point names its round.
      const box = (await page.locator('#curve .chart .u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
      await expect.poll(() => page.locator('#curve .hover').textContent()).toMatch(/^Round #3 · promoted · 250 labels · accuracy 0\.\d{3} \[0\.\d{3}, [01]\.\d{3}\] on n = \d+ \((audit|cv-all)\)/);

      // The champion (GET …/models and …/champions) and how it compared on the audit items.
      expect(await page.getByTestId('champion-version').textContent()).toBe(champion);
      const championCard = await page.locator('#champion').textContent();
      expect(championCard).toMatch(/accuracy/);
      expect(championCard).toMatch(/Δ accuracy [+-]\d\.\d{3} \d\.\d{3} vs \d\.\d{3} of the champion r1-/);
      expect(championCard).toContain((await get(`/api/projects/${projectId}/models`)).models.find((m: any) => m.version === champion).decisionReason);
      expect(await page.locator('.project-title a.temporal').first().getAttribute('href')).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/${loopWorkflowId(projectId)}`);

      // No round running: the loop is idle, and says why the last one failed.
      expect(await page.locator('#live .badge').first().textContent()).toBe('idle');
      expect(await page.locator('#live .error').textContent()).toMatch(/last error: .*terminated/i);

      // The schedules (Temporal's, through GET …/schedules).
      expect(await page.locator('#schedules li').count()).toBe(2);
      expect(await page.locator('#schedules li').nth(0).textContent()).toMatch(/^nightly active.*cron 0 \d+ \* \* \* \(Europe\/Paris\), jitter 5m.*next .*retrain on the day's labels$/);
      expect(await page.locator('#schedules li').nth(1).textContent()).toMatch(/^weekly paused.*every 7d.*no next run.*paused while the label set changes$/);

      // The rounds (GET …/rounds), with their step durations and links to their runs.
      expect(await page.locator('#rounds tbody tr').count()).toBe(4);
      expect(await page.locator('#rounds tbody tr').nth(3).locator('.stepbar').getAttribute('title')).toMatch(/^reconcile \S+ (ms|s) · export .* · train .* · push /);
      expect(await page.locator('#rounds tbody tr').nth(2).textContent()).toMatch(/#2rejected.*Δ accuracy -\d\.\d{3} vs champion r1-/);
      const round3 = rounds.find((r: any) => r.round === 3);
      expect(await page.locator(`#rounds a[href*="${round3.runId}"]`).count()).toBe(1);
      // The failure, with its root cause as the rounds table recorded it.
      const failure = (await roundRow(4)).error;
      expect(await page.locator('#failures li').count()).toBe(1);
      expect(await page.locator('#failures').textContent()).toContain(`${failure.type}: ${failure.message}`);
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-failed-round.png'), fullPage: true });

      // Replay it from the page: the loop runs it as round 5, on round 4's snapshot and overrides.
      await page.locator('#failures button.replay').click();
      await expect.poll(() => page.locator('#failures [role="status"]').textContent()).toBe('Replay requested.');
      expect(await page.locator('#failures button.replay').count()).toBe(0); // not twice by accident
      const started = await waitFor('the replay to start', async () => {
        const r = await h.get(`/api/projects/${projectId}/rounds/5`, auth);
        return r.status === 200 ? r.body : undefined;
      }, 60_000, 100);
      expect(started).toMatchObject({ trigger: 'replay', replayOf: 4, outcome: 'running' });

      // Its live progress (the status's `progress`), moving from one poll of the page to the next.
      const bar = page.locator('#live .progress');
      await expect.poll(async () => Number((await bar.getAttribute('aria-valuenow')) ?? 0), POLL).toBeGreaterThan(0);
      const first = Number(await bar.getAttribute('aria-valuenow'));
      expect(await bar.getAttribute('aria-valuemax')).toBe(String(LONG_EPOCHS));
      expect(await page.locator('#live .steps li.active').textContent()).toBe('train');
      expect(await page.locator('#live .detail').textContent()).toMatch(new RegExp(`epoch \\d+ of ${LONG_EPOCHS}, loss \\d\\.\\d{3}`));
      expect(await page.locator('#live a.temporal').getAttribute('href')).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/${roundWorkflowId(projectId, 5)}`);
      expect(await page.locator('#live .badge').first().textContent()).toBe('training');
      await expect.poll(() => page.locator('#rounds tbody tr').first().textContent(), POLL).toMatch(new RegExp(`^#5 ↺ #4running.*train: [\\d,]+ / ${LONG_EPOCHS.toLocaleString('en-US')} epochs`));
      await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), POLL).toBeGreaterThan(first);
      expect(series(await scrape(), 'label_loop_rounds_running').get(`{project="${projectId}"}`)).toBe(1);

      // The page as an operator sees it mid-replay (the README's screenshot).
      await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard.png'), fullPage: true });
      if (process.env.RECORD_SCREENSHOTS) await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });

      // The replay completes: the API shows the failed round as replayed, and so does the page.
      const replay = await finished(5);
      expect(replay).toMatchObject({ trigger: 'replay', replayOf: 4, outcome: expect.stringMatching(/^(promoted|rejected)$/) });
      expect(await roundRow(4)).toMatchObject({ outcome: 'replayed', replayedBy: 5 });
      await expect.poll(() => page.locator('#failures').textContent(), POLL).toMatch(/No failed round waiting for a replay/);
      await expect.poll(() => chart.getAttribute('data-replayed'), POLL).toBe('1');
      expect(await chart.getAttribute('data-points')).toBe('4');
      // The replay's point (on round 4's snapshot: 300 labels), in the replay colour.
      expect((await curveColours(page)).replayed).toBeGreaterThan(10);
      expect(await page.locator('#rounds tbody tr').nth(1).textContent()).toMatch(/^#4replayed.*failed, replayed by #5/);
      await expect.poll(() => page.locator('#live .badge').first().textContent(), POLL).toBe('idle');
      const after = await scrape();
      expect(series(after, 'label_loop_rounds_total').get(`{project="${projectId}",outcome="replayed"}`)).toBe(1);
      expect(series(after, 'label_loop_rounds_total').has(`{project="${projectId}",outcome="failed"}`)).toBe(false);
      expect(series(after, 'label_loop_rounds_running').size).toBe(0);

      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
      await page.close();
    });

    it('in a Temporal outage, says "unavailable" on the cards that need Temporal and keeps those PostgreSQL answers', async () => {
      // A real outage rather than a missing route: a second API process on the same database
      // whose Temporal client points at a port nobody listens on (a lazy connection, so it starts
      // as an API process does when Temporal goes down later). Its status and schedules routes
      // answer 503 with Retry-After; rounds, models, the learning curve and the project list come
      // from PostgreSQL and keep working. No request is intercepted.
      const deadPort = await freePort();
      const connection = Connection.lazy({ address: `127.0.0.1:${deadPort}` });
      const down = await startApiServer({
        db: h.db,
        temporal: new Client({ connection, namespace: h.config.temporal.namespace }),
        taskQueue: h.config.temporal.taskQueue,
        debounce: h.config.debounce,
        security: h.config.security,
        host: '127.0.0.1',
        port: await freePort(),
        backendName: await initBackend(),
        dashboard: { temporalUiUrl: h.config.temporal.uiUrl, namespace: h.config.temporal.namespace },
        limits: {
          webhookBodyLimit: h.config.api.webhookBodyLimit,
          predictBodyLimit: h.config.api.predictBodyLimit,
          intakeQueueLimit: h.config.api.intakeQueueLimit,
          temporalQueryTimeoutMs: 1_000,
        },
        logger: testLog,
      });
      try {
        const status = await fetch(`${down.url}/api/projects/${projectId}/status`, { headers: auth });
        expect(status.status).toBe(503);
        expect(status.headers.get('retry-after')).toBe('5');

        const { page, consoleErrors, pageErrors } = await open(down.url);
        expect(await page.locator('#live .unavailable').textContent()).toMatch(/Loop status unavailable.*503: Temporal is unavailable; retry later/);
        expect(await page.locator('#schedules .unavailable').textContent()).toMatch(/Schedules unavailable.*503: Temporal is unavailable; retry later/);
        // PostgreSQL's side still answers: the project list, the curve, the champion, the rounds.
        expect(await page.locator(`#projects tr[data-project="${projectId}"]`).count()).toBe(1);
        expect(await page.locator('#curve .chart').getAttribute('data-points')).toBe('4');
        expect(await page.getByTestId('champion-version').textContent()).toBe((await get(`/api/projects/${projectId}/models`)).champion);
        expect(await page.locator('#rounds tbody tr').count()).toBe(5);
        expect(await page.locator('#failures').textContent()).toMatch(/No failed round waiting for a replay/);
        expect(await page.locator('.unavailable').count()).toBe(2);
        await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-unavailable.png'), fullPage: true });

        expect(pageErrors).toEqual([]);
        // The browser itself logs each failed request; the page adds nothing of its own.
        expect(consoleErrors.filter((e) => !/^Failed to load resource: the server responded with a status of 503/.test(e))).toEqual([]);
        expect(consoleErrors.length).toBeGreaterThan(0);
        await page.close();
      } finally {
        await down.close();
        await connection.close().catch(() => undefined);
      }
    });
  });
});
