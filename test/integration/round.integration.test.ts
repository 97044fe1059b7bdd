import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { listModels, predictionCounts } from '../../store/index.js';

// Rounds here start only on request, so each step of the test decides when one runs.
const ON_DEMAND_ONLY = { LABEL_LOOP_MIN_ANNOTATIONS: '1000000', LABEL_LOOP_MAX_WAIT_MS: '86400000' };

describe('training round against real Temporal and PostgreSQL', () => {
  let h: Harness;
  // A fixed id: the held-out split hashes it, so every run compares the same examples.
  const projectId = 424_242;
  const { tasks, labelOf } = spamTasks(400, 1);
  let nextAnnotationId = 1;

  const label = async (from: number, to: number) => {
    for (const t of tasks.slice(from, to)) {
      const res = await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, nextAnnotationId++, [labelOf.get(t.id)!]));
      expect(res.status).toBe(200);
    }
  };
  const requestRound = async (body: object = {}) => {
    const res = await h.post(`/api/projects/${projectId}/rounds`, body);
    expect(res.status).toBe(202);
  };

  beforeAll(async () => {
    h = await createHarness({ env: ON_DEMAND_ONLY });
    expect((await h.post('/setup', { project: `${projectId}.1700000000`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
  });
  afterAll(async () => h?.close());

  it('promotes a first model, predicts every task once, and serves it from /predict', async () => {
    await label(0, 120);
    await requestRound();
    const status = await h.waitForRounds(projectId, 1);
    expect(status.lastError).toBeNull();
    const round = status.lastRound!;
    expect(round.promoted).toBe(true);
    expect(round.reason).toMatch(/baseline/);
    expect(round.trainCount + round.heldOutCount).toBe(120);
    expect(status.championVersion).toBe(round.modelVersion);
    expect(await predictionCounts(h.db, projectId, round.modelVersion)).toEqual({ total: 400, distinctTasks: 400 });

    // The ML-backend format, one entry per task, in request order.
    const picked = [tasks[5], tasks[300], tasks[17]];
    const res = await h.post('/predict', { tasks: picked.map((t) => ({ id: t.id, data: t.data })), project: `${projectId}.1700000000` });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(3);
    const stored = await h.db.query('SELECT task_id, score FROM predictions WHERE model_version = $1 AND task_id = ANY($2)', [
      round.modelVersion,
      picked.map((t) => t.id),
    ]);
    const storedScore = new Map(stored.rows.map((r) => [Number(r.task_id), r.score]));
    res.body.results.forEach((entry: any, i: number) => {
      expect(entry.model_version).toBe(round.modelVersion);
      expect(entry.score).toBeCloseTo(storedScore.get(picked[i].id)!, 5);
      expect(entry.result).toEqual([
        { from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [expect.stringMatching(/^(spam|ham)$/)] } },
      ]);
    });
  });

  it('keeps the champion when a worse candidate loses on the same held-out split', async () => {
    const before = (await h.loopStatus(projectId)).championVersion;
    // Zero epochs = the untrained initial weights: a deliberately bad candidate.
    await requestRound({ reason: 'test: bad candidate', overrides: { epochs: 0 } });
    const status = await h.waitForRounds(projectId, 2);
    expect(status.lastRound!.promoted).toBe(false);
    expect(status.lastRound!.reason).toMatch(/^rejected/);
    expect(status.championVersion).toBe(before);
    const models = await listModels(h.db, projectId);
    const rejected = models.find((m) => m.version === status.lastRound!.modelVersion)!;
    expect(rejected.status).toBe('rejected');
    expect(rejected.decisionReason).toMatch(/does not beat champion/);
    expect(rejected.championVersion).toBe(before);
  });

  it('serves a newly promoted champion on the very next /predict request', async () => {
    const before = (await h.loopStatus(projectId)).championVersion;
    await label(120, 300);
    await requestRound();
    const status = await h.waitForRounds(projectId, 3);
    expect(status.lastRound!.promoted).toBe(true);
    expect(status.championVersion).not.toBe(before);
    const res = await h.post('/predict', { tasks: [{ id: tasks[350].id, data: tasks[350].data }], project: String(projectId) });
    expect(res.body.results[0].model_version).toBe(status.championVersion);
    expect(await predictionCounts(h.db, projectId, status.championVersion!)).toEqual({ total: 400, distinctTasks: 400 });

    const setup = await h.post('/setup', { project: `${projectId}.1700000000`, schema: SPAM_CONFIG });
    expect(setup.body.model_version).toBe(status.championVersion);
  });

  it('answers "Retrieve Predictions" for 1,000 tasks in one call, in order', async () => {
    const many = Array.from({ length: 1_000 }, (_, i) => tasks[i % tasks.length]);
    const res = await h.post('/predict', { tasks: many.map((t) => ({ id: t.id, data: t.data })), project: `${projectId}.1700000000` });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1_000);
    // Entries for the same task are identical, wherever they sit in the list.
    expect(res.body.results[7]).toEqual(res.body.results[407]);
  });

  it('lists the unlabelled tasks least certain first under the champion', async () => {
    const res = await h.get(`/api/projects/${projectId}/next-tasks?limit=20`);
    expect(res.status).toBe(200);
    expect(res.body.model_version).toBe((await h.loopStatus(projectId)).championVersion);
    const got = res.body.tasks as { taskId: number; leastConfidence: number }[];
    expect(got).toHaveLength(20);
    const labelled = new Set(tasks.slice(0, 300).map((t) => t.id));
    expect(got.every((t) => !labelled.has(t.taskId))).toBe(true);
    const lc = got.map((t) => t.leastConfidence);
    expect(lc).toEqual([...lc].sort((a, b) => b - a));

    const byMargin = (await h.get(`/api/projects/${projectId}/next-tasks?limit=20&strategy=margin`)).body.tasks as { margin: number }[];
    expect(byMargin.map((t) => t.margin)).toEqual(byMargin.map((t) => t.margin).sort((a, b) => a - b));
    expect((await h.get(`/api/projects/${projectId}/next-tasks?strategy=bogus`)).status).toBe(400);
  });
});
