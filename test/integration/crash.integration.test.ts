import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOW_TRAINING, createHarness, uniqueProjectId, waitFor, type Harness } from '../helpers/harness.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workerProcess.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { predictionCounts } from '../../store/index.js';
import { roundWorkflowId } from '../../contract/index.js';

/**
 * Kills real worker processes with SIGKILL mid-activity. The next attempt starts on a new
 * worker once the heartbeat timeout (20 s) notices the dead one.
 */
describe('crash safety: SIGKILL the worker mid-round', () => {
  let h: Harness;
  let workerEnv: Record<string, string>;
  const workers: WorkerProcess[] = [];
  let nextTaskId = 1;
  let nextAnnotationId = 1;

  beforeAll(async () => {
    const env = {
      LABEL_LOOP_MIN_ANNOTATIONS: '1000000',
      LABEL_LOOP_MAX_WAIT_MS: '86400000',
      LABEL_LOOP_PREDICT_CHUNK_SIZE: '25',
      LABEL_LOOP_PREDICT_CHUNK_PAUSE_MS: '100',
    };
    h = await createHarness({ worker: false, env });
    workerEnv = { ...env, DATABASE_URL: h.databaseUrl, TEMPORAL_ADDRESS: h.temporalAddress, TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue };
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await h?.close();
  });

  /** The only worker on the queue: the previous test's survivor must not pick up this round. */
  const worker = async () => {
    for (const w of workers) await w.stop();
    const w = startWorkerProcess(workerEnv);
    workers.push(w);
    return w;
  };

  async function projectWith(taskCount: number, labelled: number) {
    const projectId = uniqueProjectId();
    const { tasks, labelOf } = spamTasks(taskCount, nextTaskId);
    nextTaskId += taskCount;
    await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG });
    await h.post('/webhook', tasksCreated(projectId, tasks));
    for (const t of tasks.slice(0, labelled)) {
      await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, t, nextAnnotationId++, [labelOf.get(t.id)!]));
    }
    return projectId;
  }

  async function activityResult(projectId: number, activity: string): Promise<any> {
    const history = await h.client.workflow.getHandle(roundWorkflowId(projectId, 1)).fetchHistory();
    const scheduled = new Map<string, string>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
      const c = e.activityTaskCompletedEventAttributes;
      if (c && scheduled.get(String(c.scheduledEventId)) === activity) {
        return JSON.parse(Buffer.from(c.result!.payloads![0].data!).toString('utf8'));
      }
    }
    return undefined;
  }

  async function assertRoundCompletedOnce(projectId: number, taskCount: number) {
    const status = await h.waitForRounds(projectId, 1, 300_000);
    expect(status.lastError).toBeNull();
    expect(status.lastRound!.promoted).toBe(true);
    const promoted = await h.db.query('SELECT version FROM models WHERE project_id = $1 AND promoted', [projectId]);
    expect(promoted.rows).toHaveLength(1);
    const models = await h.db.query('SELECT count(*)::int AS n FROM models WHERE project_id = $1', [projectId]);
    expect(models.rows[0].n).toBe(1);
    expect(await predictionCounts(h.db, projectId, status.championVersion!)).toEqual({ total: taskCount, distinctTasks: taskCount });
    return status;
  }

  it('resumes training from the last checkpoint on a new worker', async () => {
    const projectId = await projectWith(300, 250);
    const first = await worker();
    // Many epochs, so training is surely running when the worker dies.
    expect((await h.post(`/api/projects/${projectId}/rounds`, { overrides: SLOW_TRAINING })).status).toBe(202);
    const epochAtKill = await waitFor(
      'a training checkpoint',
      async () => {
        const { rows } = await h.db.query('SELECT epoch FROM training_checkpoints WHERE project_id = $1', [projectId]);
        return rows[0]?.epoch >= 3 ? (rows[0].epoch as number) : undefined;
      },
      180_000,
      20,
    );
    await first.kill();
    await worker();
    await assertRoundCompletedOnce(projectId, 300);
    const trained = await activityResult(projectId, 'trainCandidate');
    expect(trained.resumedFromEpoch).toBeGreaterThanOrEqual(epochAtKill);
  });

  it('resumes bulk re-prediction from the last finished chunk on a new worker', async () => {
    const projectId = await projectWith(1_500, 120);
    const first = await worker();
    expect((await h.post(`/api/projects/${projectId}/rounds`, {})).status).toBe(202);
    const predictedAtKill = await waitFor(
      'bulk prediction to be half-way',
      async () => {
        const { rows } = await h.db.query('SELECT count(*)::int AS n FROM predictions WHERE project_id = $1', [projectId]);
        return rows[0].n >= 100 && rows[0].n < 1_000 ? (rows[0].n as number) : undefined;
      },
      180_000,
      20,
    );
    await first.kill();
    await worker();
    await assertRoundCompletedOnce(projectId, 1_500);
    const predicted = await activityResult(projectId, 'predictTasks');
    // The retried attempt predicted only what the dead one had not saved.
    expect(predicted.predicted).toBeLessThanOrEqual(1_500 - predictedAtKill);
    expect(predicted.resumedAfter).toBeGreaterThan(0);
  });
});
