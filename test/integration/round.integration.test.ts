import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { labelledCounts, listModels, predictionCounts } from '../../store/index.js';
import { interleave } from '../../policies/sampling.js';
import { tf } from '../../model/backend.js';
import { draw, isAudit } from '../../dataset/audit.js';

// Rounds here start only on request, so each step of the test decides when one runs.
const ON_DEMAND_ONLY = { LABEL_LOOP_MIN_ANNOTATIONS: '1000000', LABEL_LOOP_MAX_WAIT_MS: '86400000' };

describe('training round against real Temporal and PostgreSQL', () => {
  let h: Harness;
  // A fixed id: the audit stream hashes it, so every run scores the same examples.
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
    expect(round.trainCount).toBe(120);
    expect(status.championVersion).toBe(round.modelVersion);
    expect(await predictionCounts(h.db, projectId, round.modelVersion)).toEqual({ total: 400, distinctTasks: 400 });

    // The ML-backend format, one entry per task, in request order.
    const picked = [tasks[5], tasks[300], tasks[17]];
    const res = await h.post('/predict', { tasks: picked.map((t) => ({ id: t.id, data: t.data })), project: `${projectId}.1700000000` });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(3);
    const stored = await h.db.query('SELECT task_id, margin FROM predictions WHERE model_version = $1 AND task_id = ANY($2)', [
      round.modelVersion,
      picked.map((t) => t.id),
    ]);
    // The score is the task's place in the queue (policies/sampling.ts): the margin (the default
    // strategy), or for an audit task its random draw.
    const storedScore = new Map(stored.rows.map((r) => [Number(r.task_id), isAudit(projectId, Number(r.task_id), 0.25) ? draw(projectId, Number(r.task_id), 2) : r.margin]));
    res.body.results.forEach((entry: any, i: number) => {
      expect(entry.model_version).toBe(round.modelVersion);
      expect(entry.score).toBeCloseTo(storedScore.get(picked[i].id)!, 5);
      expect(entry.result).toEqual([
        { from_name: 'label', to_name: 'text', type: 'choices', value: { choices: [expect.stringMatching(/^(spam|ham)$/)] } },
      ]);
    });
  });

  it('keeps the champion when a candidate with other settings is not significantly better on the same audit items', async () => {
    const before = (await h.loopStatus(projectId)).championVersion;
    // Zero epochs = the untrained initial weights: a deliberately bad candidate, and other settings.
    await requestRound({ reason: 'test: bad candidate', overrides: { epochs: 0 } });
    const status = await h.waitForRounds(projectId, 2);
    expect(status.lastRound!.promoted).toBe(false);
    expect(status.lastRound!.reason).toMatch(/^rejected/);
    expect(status.championVersion).toBe(before);
    const models = await listModels(h.db, projectId);
    const rejected = models.find((m) => m.version === status.lastRound!.modelVersion)!;
    expect(rejected.status).toBe('rejected');
    expect(rejected.decisionReason).toMatch(/^rejected: not significantly better \(other settings\); /);
    expect(rejected.evidence).toMatchObject({ decision: 'rejected', rule: 'significantly-better', incumbent: before, test: 'mcnemar-midp' });
    expect(rejected.evidence!.n).toBeGreaterThanOrEqual(10);
    expect(rejected.evidence!.delta).toBeLessThan(0);
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

  it('lists the unlabelled tasks in the strategy\'s order (margin by default) with the audit share interleaved', async () => {
    const res = await h.get(`/api/projects/${projectId}/next-tasks?limit=20`);
    expect(res.status).toBe(200);
    expect(res.body.model_version).toBe((await h.loopStatus(projectId)).championVersion);
    expect(res.body.strategy).toBe('margin');
    const got = res.body.tasks as { taskId: number; margin: number; leastConfidence: number; audit: boolean }[];
    expect(got).toHaveLength(20);
    const labelled = new Set(tasks.slice(0, 300).map((t) => t.id));
    expect(got.every((t) => !labelled.has(t.taskId))).toBe(true);
    // 25 % audit (the default share) of all labels, counting the project's labelled audit items.
    const served = await labelledCounts(h.db, projectId, 0.25);
    expect(served.labelled).toBe(300);
    const positions = got.map((t, i) => (t.audit ? i : -1)).filter((i) => i >= 0);
    const expected = interleave(Array.from({ length: 20 }, () => false), Array.from({ length: 20 }, () => true), 0.25, 20, served);
    expect(positions).toEqual(expected.map((a, i) => (a ? i : -1)).filter((i) => i >= 0));
    expect(positions.length).toBeGreaterThan(0);
    const margins = got.filter((t) => !t.audit).map((t) => t.margin);
    expect(margins).toEqual([...margins].sort((a, b) => a - b));

    const byLc = (await h.get(`/api/projects/${projectId}/next-tasks?limit=20&strategy=least_confidence`)).body.tasks as { leastConfidence: number; audit: boolean }[];
    const lc = byLc.filter((t) => !t.audit).map((t) => t.leastConfidence);
    expect(lc).toEqual([...lc].sort((a, b) => b - a));
    expect((await h.get(`/api/projects/${projectId}/next-tasks?strategy=bogus`)).status).toBe(400);
  });

  it('keeps the number of live tensors flat over 5 more rounds in one worker (and its API)', async () => {
    const after = async (round: number) => {
      await requestRound({ reason: `tensor check ${round}`, overrides: { seed: 1_000 + round } });
      await h.waitForRounds(projectId, round);
      // /predict loads the champion into this process's cache; a replaced one is disposed a tick later.
      await h.post('/predict', { tasks: [{ id: tasks[0].id, data: tasks[0].data }], project: String(projectId) });
      await new Promise((r) => setTimeout(r, 1_500));
      return tf.memory().numTensors;
    };
    const start = (await h.loopStatus(projectId)).roundsStarted;
    const counts: number[] = [];
    for (let i = 1; i <= 5; i++) counts.push(await after(start + i));
    expect(counts.every((n) => n === counts[0]), `tensors after each round: ${counts.join(', ')}`).toBe(true);
  });
});

