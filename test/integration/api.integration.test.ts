import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, uniqueProjectId, type Harness } from '../helpers/harness.js';
import { annotationEvent, annotationsDeleted, SPAM_CONFIG, tasksCreated, tasksDeleted } from '../helpers/labelStudioPayloads.js';

describe('HTTP API: bad input and auth (real PostgreSQL and Temporal behind it)', () => {
  let h: Harness;
  const projectId = uniqueProjectId();
  const task = { id: 9_000_001, data: { text: 'hello' } };

  beforeAll(async () => {
    h = await createHarness({
      env: {
        LABEL_LOOP_MIN_ANNOTATIONS: '1000000',
        LABEL_LOOP_MAX_WAIT_MS: '86400000',
        LABEL_LOOP_BASIC_AUTH_USER: 'ls',
        LABEL_LOOP_BASIC_AUTH_PASSWORD: 'pw-123',
        LABEL_LOOP_WEBHOOK_SECRET: 's3cret',
      },
    });
  });
  afterAll(async () => h?.close());

  const basic = { authorization: `Basic ${Buffer.from('ls:pw-123').toString('base64')}` };
  const secret = { 'x-label-loop-secret': 's3cret' };

  it.each([
    ['malformed JSON', '{"action": "ANNOTATION_CREATED",', /body: not valid JSON/],
    ['a JSON array', [], /body: must be a JSON object/],
    ['no action', { project: { id: 1 } }, /action: is required/],
    ['annotation without task', { action: 'ANNOTATION_CREATED', project: { id: 1 }, annotation: { id: 1, result: [] } }, /task: is required/],
    ['annotation without id', { action: 'ANNOTATION_CREATED', project: { id: 1 }, annotation: { result: [] }, task }, /annotation\.id/],
    ['non-array result', { action: 'ANNOTATION_UPDATED', project: { id: 1 }, annotation: { id: 2, result: 'spam' }, task }, /annotation\.result: must be an array/],
    ['deleted without ids', { action: 'ANNOTATIONS_DELETED', project: { id: 1 } }, /annotations: is required/],
    ['task without data', { action: 'TASKS_CREATED', project: { id: 1 }, tasks: [{ id: 3 }] }, /tasks\[0\]\.data: is required/],
    ['bad project id', { action: 'START_TRAINING', project: { id: -4 } }, /project\.id/],
  ])('/webhook rejects %s with a 400 naming the field', async (_name, body, message) => {
    const res = await h.post('/webhook', body, secret);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  it('/webhook ignores unknown actions with a 200', async () => {
    const res = await h.post('/webhook', { action: 'PROJECT_UPDATED', project: { id: projectId } }, secret);
    expect(res).toEqual({ status: 200, body: { status: 'ignored', action: 'PROJECT_UPDATED' } });
  });

  it('/webhook needs the shared secret header', async () => {
    const body = tasksCreated(projectId, [task]);
    expect((await h.post('/webhook', body)).status).toBe(401);
    expect((await h.post('/webhook', body, { 'x-label-loop-secret': 'nope' })).status).toBe(401);
    expect((await h.post('/webhook', body, secret)).body.status).toBe('recorded');
    // START_TRAINING comes from Label Studio's ML-backend connection: Basic auth, no custom header.
    expect((await h.post('/webhook', { action: 'START_TRAINING', project: { id: projectId } }, basic)).status).toBe(200);
    expect((await h.post('/webhook', { action: 'START_TRAINING', project: { id: projectId } }, { authorization: 'Basic bm86cGU=' })).status).toBe(401);
  });

  it('records every accepted action in tasks and annotations', async () => {
    const t2 = { id: 9_000_002, data: { text: 'second' } };
    await h.post('/webhook', tasksCreated(projectId, [t2]), secret);
    await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', projectId, task, 77_001, ['spam'], { updatedAt: '2026-01-01T00:00:00Z' }), secret);
    await h.post('/webhook', annotationEvent('ANNOTATION_UPDATED', projectId, task, 77_001, ['ham'], { updatedAt: '2026-01-01T00:01:00Z' }), secret);
    // A stale update delivered late never overwrites the newer one.
    await h.post('/webhook', annotationEvent('ANNOTATION_UPDATED', projectId, task, 77_001, ['spam'], { updatedAt: '2026-01-01T00:00:30Z' }), secret);
    const a = await h.db.query('SELECT result, deleted FROM annotations WHERE id = 77001');
    expect(a.rows[0].result[0].value.choices).toEqual(['ham']);
    await h.post('/webhook', annotationsDeleted(projectId, [77_001]), secret);
    expect((await h.db.query('SELECT deleted FROM annotations WHERE id = 77001')).rows[0].deleted).toBe(true);
    await h.post('/webhook', tasksDeleted(projectId, [t2.id]), secret);
    expect((await h.db.query('SELECT deleted FROM tasks WHERE id = $1', [t2.id])).rows[0].deleted).toBe(true);
    const cfg = await h.db.query('SELECT label_config FROM projects WHERE id = $1', [projectId]);
    expect(cfg.rows[0].label_config).toBe(SPAM_CONFIG);
  });

  it.each([
    ['no tasks', { project: '1.2' }, 400, /tasks: is required/],
    ['task without data', { project: '1.2', tasks: [{ id: 1 }] }, 400, /tasks\[0\]\.data: is required/],
    ['no project', { tasks: [{ id: 1, data: { text: 'x' } }] }, 400, /project/],
    ['malformed JSON', '{"tasks": [', 400, /body: not valid JSON/],
  ])('/predict rejects %s', async (_name, body, status, message) => {
    const res = await h.post('/predict', body, basic);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
  });

  it('/predict and /setup need Basic auth when it is configured', async () => {
    expect((await h.post('/predict', { tasks: [] })).status).toBe(401);
    expect((await h.post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG })).status).toBe(401);
    expect((await h.post('/predict', { tasks: [] }, basic)).body).toEqual({ results: [] });
  });

  it('/setup explains an unsupported label config', async () => {
    const two = '<View><Text name="t" value="$text"/><Choices name="a" toName="t"><Choice value="x"/><Choice value="y"/></Choices><Choices name="b" toName="t"><Choice value="p"/><Choice value="q"/></Choices></View>';
    const res = await h.post('/setup', { project: `${projectId}.1`, schema: two }, basic);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/2 <Choices> blocks/);
    const image = '<View><Image name="img" value="$image"/><Choices name="c" toName="img"><Choice value="a"/><Choice value="b"/></Choices></View>';
    expect((await h.post('/setup', { project: `${projectId}.1`, schema: image }, basic)).body.error).toMatch(/<Image>/);
  });

  it('answers a project with no model yet with an empty list per task (what Label Studio accepts silently), and keeps serving after all of the above', async () => {
    const res = await h.post('/predict', { tasks: [{ id: 1, data: { text: 'x' } }], project: `${uniqueProjectId()}.1` }, basic);
    expect(res.status).toBe(200);
    expect(res.body.results).toEqual([[]]);
    expect((await h.get('/health')).body.status).toBe('UP');
    expect((await h.get('/nope')).status).toBe(404);
  });

  it('refuses (409) a webhook that would overwrite another project\'s task or annotation, and changes nothing', async () => {
    const mine = uniqueProjectId();
    const other = uniqueProjectId();
    const t = { id: 9_100_001, data: { text: 'project 14 owns this text' } };
    expect((await h.post('/webhook', tasksCreated(mine, [t]), secret)).status).toBe(200);
    expect((await h.post('/webhook', annotationEvent('ANNOTATION_CREATED', mine, t, 91_000_001, ['spam']), secret)).status).toBe(200);

    const hijack = [
      tasksCreated(other, [{ id: t.id, data: { text: 'overwritten by 99' } }]),
      annotationEvent('ANNOTATION_UPDATED', other, { id: t.id, data: { text: 'overwritten' } }, 91_000_001, ['ham'], { updatedAt: '2099-01-01T00:00:00Z' }),
      annotationEvent('ANNOTATION_CREATED', other, { id: 9_100_999, data: { text: 'x' } }, 91_000_001, ['ham'], { updatedAt: '2099-01-01T00:00:00Z' }),
      tasksDeleted(other, [t.id]),
      annotationsDeleted(other, [91_000_001]),
    ];
    for (const body of hijack) {
      const res = await h.post('/webhook', body, secret);
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.error).toMatch(new RegExp(`belongs to project ${mine}, not ${other}`));
    }
    const task = await h.db.query('SELECT project_id, data, deleted FROM tasks WHERE id = $1', [t.id]);
    expect(task.rows[0]).toMatchObject({ project_id: mine, data: t.data, deleted: false });
    const annotation = await h.db.query('SELECT project_id, result, deleted FROM annotations WHERE id = 91000001');
    expect(annotation.rows[0]).toMatchObject({ project_id: mine, deleted: false });
    expect(annotation.rows[0].result[0].value.choices).toEqual(['spam']);
  });

  it('records events of a project that never had a valid label config, but creates no loop for it', async () => {
    const stray = uniqueProjectId();
    const body = { action: 'TASKS_CREATED', tasks: [{ id: 9_200_001, data: { text: 'x' } }], project: { id: stray } };
    expect((await h.post('/webhook', body, secret)).body.status).toBe('recorded');
    expect((await h.post('/webhook', { action: 'START_TRAINING', project: { id: stray } }, secret)).status).toBe(200);
    // A config Label Loop cannot train on does not count either.
    const image = '<View><Image name="i" value="$img"/><Choices name="c" toName="i"><Choice value="a"/><Choice value="b"/></Choices></View>';
    expect((await h.post('/webhook', { action: 'START_TRAINING', project: { id: stray, label_config: image } }, secret)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500)); // several forwarder cycles
    expect(await h.client.workflow.getHandle(`label-loop-project-${stray}`).describe().catch(() => null)).toBeNull();
    expect((await h.post(`/api/projects/${stray}/rounds`, {}, basic)).status).toBe(404);
    expect((await h.get(`/api/projects/${stray}/status`, basic)).status).toBe(404);
  });

  it('handles a delete event with 200,000 ids', async () => {
    const ids = Array.from({ length: 200_000 }, (_, i) => 50_000_000 + i);
    const res = await h.post('/webhook', tasksDeleted(projectId, ids), secret);
    expect(res.status).toBe(200);
  });
});
