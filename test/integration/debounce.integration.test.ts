import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, uniqueProjectId, waitFor, type Harness } from '../helpers/harness.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';
import { loopStatusQuery, loopWorkflowId } from '../../contract/index.js';
import type { projectLoop } from '../../workflows/projectLoop.js';
import { eventsRecordedSignal, updateSettingsSignal } from '../../contract/index.js';

const QUIET_MS = 1_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('project loop debounce (real Temporal, real PostgreSQL)', () => {
  let h: Harness;
  let taskIds = 1;
  let annotationIds = 1;

  beforeAll(async () => {
    h = await createHarness({
      env: {
        LABEL_LOOP_MIN_ANNOTATIONS: '10',
        LABEL_LOOP_QUIET_PERIOD_MS: String(QUIET_MS),
        LABEL_LOOP_MAX_WAIT_MS: '4000',
        // Slow re-prediction down so a test can land events while a round is running.
        LABEL_LOOP_PREDICT_CHUNK_SIZE: '20',
        LABEL_LOOP_PREDICT_CHUNK_PAUSE_MS: '150',
      },
    });
  });
  afterAll(async () => h?.close());

  async function newProject(taskCount: number) {
    const projectId = uniqueProjectId();
    const { tasks, labelOf } = spamTasks(taskCount, taskIds);
    taskIds += taskCount;
    expect((await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await h.post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    const annotate = (t: (typeof tasks)[number]) => annotationEvent('ANNOTATION_CREATED', projectId, t, annotationIds++, [labelOf.get(t.id)!]);
    return { projectId, tasks, annotate };
  }

  it('turns a burst of 50 annotations, with redeliveries, into exactly one round', async () => {
    const { projectId, tasks, annotate } = await newProject(120);
    const bodies = tasks.slice(0, 50).map(annotate);
    // Label Studio may deliver an event twice (e.g. a proxy retry): ten of them arrive again.
    const deliveries = [...bodies, ...bodies.slice(0, 10)];
    const responses = await Promise.all(deliveries.map((b) => h.post('/webhook', b)));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(responses.filter((r) => r.body.status === 'duplicate')).toHaveLength(10);

    const status = await h.waitForRounds(projectId, 1);
    expect(status.lastError).toBeNull();
    expect(status.lastRound!.trainCount).toBe(50);
    const { rows } = await h.db.query("SELECT count(*)::int AS n FROM webhook_events WHERE project_id = $1 AND action = 'ANNOTATION_CREATED'", [projectId]);
    expect(rows[0].n).toBe(50);

    await sleep(QUIET_MS * 3);
    const after = await h.loopStatus(projectId);
    expect(after.roundsStarted).toBe(1);
    expect(after.pendingAnnotations).toBe(0);
  });

  it('runs exactly one follow-up round for annotations that arrive during a round', async () => {
    const { projectId, tasks, annotate } = await newProject(200);
    await Promise.all(tasks.slice(0, 30).map((t) => h.post('/webhook', annotate(t))));
    await waitFor('round 1 to be running', async () => (await h.loopStatus(projectId)).currentRound === 1, 60_000, 50);
    for (const t of tasks.slice(30, 36)) expect((await h.post('/webhook', annotate(t))).status).toBe(200);
    expect((await h.loopStatus(projectId)).currentRound).toBe(1);

    const status = await h.waitForRounds(projectId, 2);
    expect(status.lastRound!.trainCount).toBe(36);
    await sleep(QUIET_MS * 3);
    expect((await h.loopStatus(projectId)).roundsStarted).toBe(2);
  });

  it('starts a round at max-wait below the threshold, and survives a round that fails for lack of labels', async () => {
    const { projectId, tasks, annotate } = await newProject(20);
    for (const t of tasks.slice(0, 3)) await h.post('/webhook', annotate(t));
    const status = await h.waitForRounds(projectId, 1, 60_000);
    expect(status.lastError).toMatch(/has 3 labelled tasks; a round needs at least 8 \(label more tasks\)/);
    expect(status.phase).toBe('idle');
    // The loop is alive and accepts an on-demand round.
    expect((await h.post(`/api/projects/${projectId}/rounds`, {})).status).toBe(202);
    await h.waitForRounds(projectId, 2, 60_000);
  });

  it('skips cancelled annotations', async () => {
    const { projectId, tasks } = await newProject(5);
    const skipped = annotationEvent('ANNOTATION_CREATED', projectId, tasks[0], annotationIds++, [], { wasCancelled: true });
    expect((await h.post('/webhook', skipped)).body.status).toBe('recorded');
    await sleep(500);
    const s = await h.loopStatus(projectId).catch(() => null);
    expect(s?.pendingAnnotations ?? 0).toBe(0);
  });

  it('takes new debounce settings from the updateSettings signal', async () => {
    const { projectId, tasks, annotate } = await newProject(3);
    await h.post('/webhook', annotate(tasks[0]));
    const handle = h.client.workflow.getHandle(loopWorkflowId(projectId));
    await waitFor('the loop to start', async () => (await h.loopStatus(projectId).catch(() => null))?.pendingAnnotations === 1);
    await handle.signal(updateSettingsSignal, { minAnnotations: 1, maxWaitMs: 600_000 });
    const status = await waitFor('the new settings', async () => {
      const s = await h.loopStatus(projectId);
      return s.settings.minAnnotations === 1 ? s : undefined;
    });
    expect(status.settings).toEqual({ minAnnotations: 1, quietPeriodMs: QUIET_MS, maxWaitMs: 600_000, mode: 'continuous' });
  });

  it('keeps pending state across continue-as-new', async () => {
    const projectId = uniqueProjectId();
    const handle = await h.client.workflow.start<typeof projectLoop>('projectLoop', {
      workflowId: loopWorkflowId(projectId),
      taskQueue: h.config.temporal.taskQueue,
      args: [{ projectId, settings: { minAnnotations: 1_000, quietPeriodMs: 60_000, maxWaitMs: 3_600_000 }, historyLimit: 40 }],
    });
    for (let i = 0; i < 30; i++) {
      await handle.signal(eventsRecordedSignal, { batchId: `b${i}`, annotationChanges: 2, taskChanges: 0, trainingRequested: false });
    }
    // A re-sent batch (forwarder crashed after signalling) is counted once, across runs too.
    await handle.signal(eventsRecordedSignal, { batchId: 'b3', annotationChanges: 2, taskChanges: 0, trainingRequested: false });
    const status = await waitFor(
      'the loop to continue as new',
      async () => {
        const desc = await h.client.workflow.getHandle(loopWorkflowId(projectId)).describe();
        if (desc.runId === handle.firstExecutionRunId) return undefined;
        const s = await h.client.workflow.getHandle(loopWorkflowId(projectId)).query(loopStatusQuery);
        // Signals still buffered are applied by the next workflow task; wait for all of them.
        return s.pendingAnnotations >= 60 ? s : undefined;
      },
      60_000,
    );
    expect(status.pendingAnnotations).toBe(60);
    expect(status.roundsStarted).toBe(0);
  });
});
