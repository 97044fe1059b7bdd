import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { SLOW_TRAINING, createHarness, testConfig, waitFor, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { roundWorkflowId, scheduleIdOf } from '../../contract/index.js';
import { getSnapshot, loadWeights, snapshotExamples, predictionCounts } from '../../store/index.js';
import { countFeatures, defaultSpec, fitIdfOn, trainClassifier, defaultTrainOptions } from '../../model/classifier.js';
import { poolTextsOf } from '../../activities/evaluation.js';
import { findOrInstallTemporalCli } from '../../infra/temporal.js';
import { temporalTools } from '../../worker/services.js';

const execFileAsync = promisify(execFile);
const ON_DEMAND_ONLY = { LABEL_LOOP_MIN_ANNOTATIONS: '1000000', LABEL_LOOP_MAX_WAIT_MS: '86400000' };

/**
 * What an operator does, against the real Temporal dev server and PostgreSQL: inspect rounds
 * (summaries, live progress, outcome search attributes), replay a failed round (same snapshot and
 * seed → the same model bit for bit; or fresh), keep the loop consistent after a `temporal
 * workflow reset` done by hand, schedule batch rounds with Temporal's own schedules, and promote
 * or roll back model versions.
 */
describe('operating Label Loop', () => {
  let h: Harness;
  const projectId = 727_272;
  const { tasks, labelOf } = spamTasks(300, 72_000_000);
  let nextAnnotation = 82_000_000;

  const label = async (from: number, to: number) => {
    for (const t of tasks.slice(from, to)) {
      const res = await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, nextAnnotation++, [labelOf.get(t.id)!]));
      expect(res.status).toBe(200);
    }
  };
  /** Every recorded event reached the loop: a round requested now gets no surprise follow-up. */
  const drain = () =>
    waitFor('webhook events forwarded to the loop', async () => {
      const { rows } = await h.db.query('SELECT count(*)::int AS n FROM webhook_events WHERE project_id = $1 AND forwarded_at IS NULL', [projectId]);
      return rows[0].n === 0;
    }, 60_000, 100);
  /** Requests a round and returns its number (the next one the loop starts). */
  const request = async (body: object) => {
    await drain();
    const round = (await status()).roundsStarted + 1;
    expect((await h.post(`/api/projects/${projectId}/rounds`, body)).status).toBe(202);
    return round;
  };
  const training = (round: number) =>
    waitFor(`round ${round} to train`, async () => {
      const s = (await h.get(`/api/projects/${projectId}/status`)).body;
      return s.currentRound === round && s.progress?.step === 'train' ? s.progress : undefined;
    }, 60_000, 50);
  /**
   * The round's row once it has ended and the loop has taken in its result: the row is written by
   * the round's last activity, a moment before the loop's state (champion, last error) follows.
   */
  const finished = (round: number) =>
    waitFor(`round ${round} to finish`, async () => {
      const row = (await rounds()).find((r) => r.round === round && r.outcome !== 'running');
      return row && (await status()).currentRound !== round ? row : undefined;
    }, 180_000, 200);
  const rounds = async (query = '') => (await h.get(`/api/projects/${projectId}/rounds${query}`)).body.rounds as any[];
  const status = () => h.loopStatus(projectId);
  const search = async (query: string) => {
    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `LabelLoopProjectId = ${projectId} AND ${query}` })) ids.push(wf.workflowId);
    return ids.sort();
  };
  /** The workflow's current details, as the Web UI reads them (the built-in metadata query). */
  const currentDetails = async (workflowId: string) =>
    ((await h.client.workflow.getHandle(workflowId).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '') as string;

  beforeAll(async () => {
    h = await createHarness({ env: ON_DEMAND_ONLY });
    expect((await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    await label(0, 80);
  });
  afterAll(async () => h?.close());

  it('shows every round in the Web UI: summary, live progress, outcome and round search attributes, and in the rounds API', async () => {
    // Many epochs: the round is still training when we look.
    expect(await request({ overrides: SLOW_TRAINING })).toBe(1);
    const progress = await training(1);
    expect(progress.detail).toMatch(/^epoch \d+ of 20000, loss/);
    await waitFor('the current details to show it', async () => /▶ train\*\*: epoch \d+ of 20000/.test(await currentDetails(roundWorkflowId(projectId, 1))), 30_000, 200);
    const done = await h.waitForRounds(projectId, 1);
    expect(done.lastRound!.promoted).toBe(true);

    const d = await h.client.workflow.getHandle(roundWorkflowId(projectId, 1)).describe();
    expect(await d.staticSummary()).toMatch(`Project ${projectId} · round 1 · training, trigger: requested`);
    expect(await d.staticDetails()).toMatch(/reconcile → export → train/);
    expect(await search('LabelLoopRoundOutcome = "promoted" AND LabelLoopRound = 1')).toEqual([roundWorkflowId(projectId, 1)]);
    expect(await search('LabelLoopPromoted = true')).toContain(roundWorkflowId(projectId, 1));
    expect(await currentDetails(roundWorkflowId(projectId, 1))).toMatch(/\*\*promoted\*\*/);

    const [row] = await rounds();
    expect(row).toMatchObject({ round: 1, outcome: 'promoted', trigger: 'requested', modelVersion: done.championVersion, error: null });
    expect(Object.keys(row.steps).sort()).toEqual(['evaluate', 'export', 'predict', 'promote', 'push', 'reconcile', 'train']);
  });

  let failedRound: number;
  it('records a round that was terminated as failed with its root cause, and replays it from the same snapshot and seed: the same model, bit for bit', async () => {
    await label(80, 120);
    failedRound = await request({ overrides: { ...SLOW_TRAINING, seed: 7 } });
    await training(failedRound);
    await h.client.workflow.getHandle(roundWorkflowId(projectId, failedRound)).terminate('operator stopped it (test)');
    const failed = await finished(failedRound);
    expect(failed.outcome).toBe('failed');
    expect(failed.error.message).toMatch(/terminated/i);
    expect((await status()).lastError).toMatch(/terminated/i);
    expect((await h.post(`/api/projects/${projectId}/rounds/1/replay`, {})).status).toBe(409); // only failed rounds

    const replayRound = (await status()).roundsStarted + 1;
    const replay = await h.post(`/api/projects/${projectId}/rounds/${failedRound}/replay`, {});
    expect(replay.status).toBe(202);
    const replayed = await finished(replayRound);
    expect(replayed).toMatchObject({ trigger: 'replay', replayOf: failedRound });
    expect((await status()).lastError).toBeNull();
    expect((await rounds()).find((r) => r.round === failedRound)).toMatchObject({ outcome: 'replayed', replayedBy: replayRound });
    expect(await search(`LabelLoopReplayOf = "${roundWorkflowId(projectId, failedRound)}"`)).toEqual([roundWorkflowId(projectId, replayRound)]);
    expect(await search('LabelLoopRoundOutcome = "replayed"')).toEqual([roundWorkflowId(projectId, replayRound)]);

    // Same snapshot as the failed round, and the weights are exactly what its snapshot and seed give.
    const snapshot = await getSnapshot(h.db, replayed.snapshotId);
    const examples = (await snapshotExamples(h.db, snapshot.snapshotId)).map((e) => ({ text: e.text, labels: e.labels }));
    const spec = defaultSpec(snapshot.task.labels, false);
    const idf = fitIdfOn(countFeatures(await poolTextsOf(h.db, projectId, snapshot.task, testConfig().round.idfPoolSize), spec));
    const reference = await trainClassifier(spec, examples, { ...defaultTrainOptions(7), ...SLOW_TRAINING }, { idf });
    try {
      expect(Buffer.from(await loadWeights(h.db, projectId, replayed.modelVersion)).equals(Buffer.from(reference.serialize()))).toBe(true);
    } finally {
      reference.dispose();
    }
  });

  it('replays from a fresh snapshot when asked', async () => {
    // A round is stopped mid-training; a fresh replay takes the labels added since.
    const stopped = await request({ overrides: SLOW_TRAINING });
    await training(stopped);
    await h.client.workflow.getHandle(roundWorkflowId(projectId, stopped)).terminate('test');
    await finished(stopped);
    await label(120, 140);
    await drain();
    const next = (await status()).roundsStarted + 1;
    expect((await h.post(`/api/projects/${projectId}/rounds/${stopped}/replay`, { fresh: true })).status).toBe(202);
    const fresh = await finished(next);
    const [original] = (await rounds()).filter((r) => r.round === stopped);
    expect(fresh.replayOf).toBe(stopped);
    expect(fresh.trainCount).toBeGreaterThan(original.trainCount ?? 0);
    expect(fresh.snapshotId).not.toBe(original.snapshotId);
  });

  it('stays consistent after a `temporal workflow reset` of a failed round done by hand', async () => {
    await label(140, 160);
    const reset = await request({ overrides: SLOW_TRAINING });
    await training(reset);
    await h.client.workflow.getHandle(roundWorkflowId(projectId, reset)).terminate('test: will be reset');
    await waitFor(`the loop to see round ${reset} fail`, async () => (await status()).lastErrorRound === reset, 60_000, 200);
    const cli = await findOrInstallTemporalCli(temporalTools(testConfig()));
    await execFileAsync(cli!, ['workflow', 'reset', '--address', inject('temporalAddress'), '-w', roundWorkflowId(projectId, reset), '-t', 'FirstWorkflowTask', '--reason', 'operator replays it by hand', '-y']);
    const healed = await waitFor('the reset run to finish and tell the loop', async () => {
      const s = await status();
      return s.lastError === null && s.lastRound?.round === reset ? s : undefined;
    }, 180_000, 300);
    const row = (await rounds()).find((r) => r.round === reset);
    expect(row.outcome).toMatch(/promoted|rejected/);
    if (row.outcome === 'promoted') expect(healed.championVersion).toBe(row.modelVersion);
  });

  it('runs batch rounds from a Temporal Schedule: trigger now, skipped while a round runs, pause, resume, delete; in batch mode labels alone start nothing', async () => {
    expect((await h.patch(`/api/projects/${projectId}/settings`, { mode: 'batch', minAnnotations: 5, quietPeriodMs: 100 })).body).toMatchObject({ mode: 'batch' });
    const before = (await status()).roundsStarted;
    await label(160, 180);
    await drain();
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await status()).roundsStarted).toBe(before);

    const created = await h.post(`/api/projects/${projectId}/schedules`, { id: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', jitter: '5m', note: 'batch' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'nightly', paused: false, spec: { cron: '0 2 * * *', timezone: 'Europe/Paris' } });
    expect(created.body.nextRuns.length).toBeGreaterThan(0);
    // Listing reads Temporal's visibility, which may lag a create by a moment (SQL visibility on a production server).
    const listed = await waitFor('the new schedule in the listing', async () => {
      const { schedules } = (await h.get(`/api/projects/${projectId}/schedules`)).body;
      return schedules?.length ? schedules : undefined;
    }, 10_000, 100);
    expect(listed.map((s: any) => s.id)).toEqual(['nightly']);
    expect((await h.client.schedule.getHandle(scheduleIdOf(projectId, 'nightly')).describe()).spec.timezone).toBe('Europe/Paris');

    expect((await h.post(`/api/projects/${projectId}/schedules/nightly/trigger`, {})).status).toBe(202);
    const scheduled = await finished(before + 1);
    expect(scheduled.trigger).toBe('schedule');

    // While a round runs, a firing is a no-op: exactly one round, never two at once.
    expect(await request({ overrides: SLOW_TRAINING })).toBe(before + 2);
    await training(before + 2);
    expect((await h.post(`/api/projects/${projectId}/schedules/nightly/trigger`, {})).status).toBe(202);
    await finished(before + 2);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await status()).roundsStarted).toBe(before + 2);

    expect((await h.post(`/api/projects/${projectId}/schedules/nightly/pause`, { note: 'holiday' })).body).toMatchObject({ paused: true, note: 'holiday' });
    expect((await h.post(`/api/projects/${projectId}/schedules/nightly/resume`, {})).body.paused).toBe(false);
    expect((await h.post(`/api/projects/${projectId}/schedules`, { id: 'nightly', every: '1h' })).status).toBe(409);
    expect((await h.post(`/api/projects/${projectId}/schedules`, { every: '1h', cron: '0 * * * *' })).status).toBe(400);
    expect((await h.post(`/api/projects/${projectId}/schedules`, { cron: '0 2 * * *', timezone: 'Mars/Olympus' })).status).toBe(400);
    expect((await h.delete(`/api/projects/${projectId}/schedules/nightly`)).status).toBe(204);
    expect((await h.get(`/api/projects/${projectId}/schedules`)).body.schedules).toEqual([]);
    // Back to on-demand only: the labels recorded in batch mode must not start a round of their own
    // once the loop is continuous again (that round would race the next test's promotion).
    expect((await h.patch(`/api/projects/${projectId}/settings`, { mode: 'continuous', minAnnotations: 1_000_000 })).body).toMatchObject({ mode: 'continuous' });
  });

  it('promotes a chosen version and rolls back, atomically and recorded with who and why; the API serves the new champion at once', async () => {
    await drain();
    const idle = await waitFor('the loop to be idle', async () => {
      const s = await status();
      return s.currentRound === null ? s : undefined;
    }, 180_000, 200);
    const before = idle.roundsStarted;
    const { models, champion } = (await h.get(`/api/projects/${projectId}/models`)).body;
    const older = models.find((m: any) => m.hasWeights && m.version !== champion && m.metrics);
    expect(older).toBeDefined();
    const promote = await h.post(`/api/projects/${projectId}/models/${older.version}/promote`, { reason: 'compare in production' }, { 'x-label-loop-actor': 'alice' });
    expect(promote.status).toBe(202);
    await finished(before + 1);
    expect((await status()).championVersion).toBe(older.version);
    const predicted = await h.post('/predict', { tasks: [{ id: tasks[0].id, data: tasks[0].data }], project: String(projectId) });
    expect(predicted.body.results[0].model_version).toBe(older.version);
    expect(await predictionCounts(h.db, projectId, older.version)).toEqual({ total: tasks.length, distinctTasks: tasks.length });
    const [last] = (await h.get(`/api/projects/${projectId}/champions`)).body.history;
    expect(last).toMatchObject({ version: older.version, previousVersion: champion, action: 'promote', actor: 'alice', reason: 'compare in production' });
    expect((await rounds())[0]).toMatchObject({ trigger: 'promote', outcome: 'promoted' });

    expect((await h.post(`/api/projects/${projectId}/rollback`, { reason: 'worse for annotators' })).status).toBe(202);
    expect(await finished(before + 2)).toMatchObject({ trigger: 'rollback', outcome: 'promoted', error: null });
    expect((await status()).championVersion).toBe(champion);
    expect((await h.post('/predict', { tasks: [{ id: tasks[0].id, data: tasks[0].data }], project: String(projectId) })).body.results[0].model_version).toBe(champion);
    expect((await h.get(`/api/projects/${projectId}/champions`)).body.history[0]).toMatchObject({ version: champion, action: 'rollback' });
    expect((await h.post(`/api/projects/${projectId}/models/nope/promote`, { reason: 'x' })).status).toBe(404);
    expect((await h.post(`/api/projects/${projectId}/rollback`, {})).status).toBe(400);
  });
});
