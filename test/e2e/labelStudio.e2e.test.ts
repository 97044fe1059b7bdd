import { mkdtemp, rm, chmod, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabelStudio, type LabelStudioServer } from '../../infra/labelStudio.js';
import { LabelStudioClient } from '../../labelstudio/client.js';
import { LEAST_CONFIDENT_VIEW } from '../../labelstudio/dataManager.js';
import { connectProject, type ConnectResult } from '../../labelstudio/connect.js';
import { createHarness, testConfig, waitFor, type Harness } from '../helpers/harness.js';
import { freePort } from '../helpers/globalSetup.js';
import { spamTasks } from '../helpers/data.js';

const CONFIG = `<View>
  <Text name="message" value="$message"/>
  <Choices name="verdict" toName="message" choice="single">
    <Choice value="spam"/>
    <Choice value="ham"/>
  </Choices>
</View>`;

/**
 * Label Loop against a real Label Studio 1.23 (PyPI, project-local virtualenv), connected the
 * way a user would, with Label Studio itself sending the webhooks.
 */
describe('end to end with a real Label Studio', () => {
  let dir: string;
  let ls: LabelStudioServer;
  let h: Harness;
  let api: LabelStudioClient;
  let projectId: number;
  let connection: ConnectResult;
  const { tasks: emails, labelOf } = spamTasks(320, 1, 3000);
  const lsTaskIds: number[] = [];
  const truthByLsId = new Map<number, 'spam' | 'ham'>();
  const annotationByTask = new Map<number, number>();

  const annotate = async (taskId: number) => {
    const created = await api.request('POST', `/api/tasks/${taskId}/annotations/`, {
      result: [{ from_name: 'verdict', to_name: 'message', type: 'choices', value: { choices: [truthByLsId.get(taskId)] } }],
      lead_time: 2.5,
    });
    annotationByTask.set(taskId, created.id);
  };
  const champion = async () => (await h.loopStatus(projectId)).championVersion;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-e2e-'));
    await chmod(dir, 0o755);
    const config = testConfig();
    ls = await startLabelStudio({
      dataDir: path.join(dir, 'label-studio'),
      port: await freePort(),
      cacheDir: config.cacheDir,
      system: { path: config.environment.PATH, home: config.environment.HOME },
      log: (m) => console.log(`[e2e] ${m}`),
    });
    h = await createHarness({
      apiPort: await freePort(),
      env: {
        LABEL_STUDIO_URL: ls.url,
        LABEL_STUDIO_API_KEY: ls.token,
        LABEL_LOOP_BASIC_AUTH_USER: 'label-studio',
        LABEL_LOOP_BASIC_AUTH_PASSWORD: 'e2e-backend-pass',
        LABEL_LOOP_WEBHOOK_SECRET: 'e2e-webhook-secret',
        LABEL_LOOP_MIN_ANNOTATIONS: '40',
        LABEL_LOOP_QUIET_PERIOD_MS: '2000',
        LABEL_LOOP_MAX_WAIT_MS: '600000',
      },
    });
    api = new LabelStudioClient({ url: ls.url, apiKey: ls.token });
    projectId = (await api.request('POST', '/api/projects/', { title: 'Label Loop e2e', label_config: CONFIG })).id;
    connection = await connectProject(h.config.security, { projectId, backendUrl: h.api.url, labelStudioUrl: ls.url, apiKey: ls.token });
    console.log(connection.lines.map((l) => `[e2e connect] ${l}`).join('\n'));

    // Imported after connecting, so Label Studio announces them with TASKS_CREATED.
    await api.request('POST', `/api/projects/${projectId}/import`, emails.map((t) => ({ message: t.data.text })));
    for await (const page of api.tasks(projectId)) {
      for (const t of page) {
        lsTaskIds.push(t.id);
        const email = emails.find((e) => e.data.text === t.data.message)!;
        truthByLsId.set(t.id, labelOf.get(email.id)!);
      }
    }
  }, 900_000);

  afterAll(async () => {
    await h?.close();
    await ls?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is connected as Label Studio documents it: backend with auth, secret on the auto-created webhook, no second webhook', async () => {
    const hooks = await api.listWebhooks(projectId);
    const ours = hooks.filter((w) => w.url === `${h.api.url}/webhook`);
    expect(ours).toHaveLength(1);
    expect(ours[0].id).toBe(connection.webhookId);
    expect(Object.keys(ours[0].headers)).toContain('X-Label-Loop-Secret');
    const backends = await api.listMlBackends(projectId);
    expect(backends.map((b) => b.url)).toEqual([h.api.url]);
    // TASKS_CREATED reached us through the webhook.
    await waitFor('imported tasks to arrive by webhook', async () => {
      const { rows } = await h.db.query('SELECT count(*)::int AS n FROM tasks WHERE project_id = $1', [projectId]);
      return rows[0].n === emails.length;
    });
  });

  it('before the first model, gives Label Studio nothing it logs as an error and nothing it stores', async () => {
    // Opening a task makes Label Studio ask /predict for it; "Retrieve Predictions" asks for all.
    for (const id of lsTaskIds.slice(0, 5)) await api.request('GET', `/api/tasks/${id}`);
    await api.request('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${projectId}`, { selectedItems: { all: true, excluded: [] } });
    const log = await readFile(path.join(dir, 'label-studio', 'label-studio.log'), 'utf8');
    expect(log).not.toMatch(/ML backend returns an incorrect|incorrect prediction|doesn't support batch processing/);
    let predictions = 0;
    for await (const page of api.tasks(projectId)) for (const t of page) predictions += (t.predictions ?? []).length;
    expect(predictions).toBe(0);
  });

  it('runs a round from annotations submitted in Label Studio and pushes every prediction back', async () => {
    for (const id of lsTaskIds.slice(0, 80)) await annotate(id);
    const status = await h.waitForRounds(projectId, 1, 300_000);
    expect(status.lastError).toBeNull();
    expect(status.lastRound!.promoted).toBe(true);
    const version = status.championVersion!;
    expect(status.lastRound!.pushed).toBe(emails.length);

    const all = [];
    for await (const page of api.tasks(projectId)) all.push(...page);
    expect(all).toHaveLength(emails.length);
    for (const t of all) {
      const mine = (t.predictions ?? []).filter((p) => p.model_version === version);
      expect(mine, `task ${t.id}`).toHaveLength(1);
      expect(typeof mine[0].score).toBe('number');
    }
    expect((await api.getProject(projectId)).model_version).toBe(version);
  });

  it('keeps a Data Manager tab with unlabelled tasks by ascending score', async () => {
    const view = (await api.listViews(projectId)).find((v) => v.data.title === LEAST_CONFIDENT_VIEW)!;
    expect(view).toBeDefined();
    const page = await api.request('GET', `/api/tasks/?project=${projectId}&view=${view.id}&page_size=50&fields=all`);
    const listed = page.tasks as { id: number; annotations: unknown[] }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((t) => (t.annotations ?? []).length === 0)).toBe(true);
    const version = await champion();
    const { rows } = await h.db.query('SELECT task_id, coalesce(queue_score, score) AS score FROM predictions WHERE model_version = $1', [version]);
    const score = new Map(rows.map((r) => [Number(r.task_id), r.score as number]));
    const scores = listed.map((t) => score.get(t.id)!);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    const lowest = Math.min(...[...score].filter(([id]) => !annotationByTask.has(id)).map(([, s]) => s));
    expect(scores[0]).toBeCloseTo(lowest, 5);
  });

  it('fills in new tasks on "Retrieve Predictions" with the champion', async () => {
    const before = new Set(lsTaskIds);
    const extra = spamTasks(5, 1, 3500).tasks;
    await api.request('POST', `/api/projects/${projectId}/import`, extra.map((t) => ({ message: t.data.text })));
    await api.request('POST', `/api/dm/actions?id=retrieve_tasks_predictions&project=${projectId}`, {
      selectedItems: { all: true, excluded: [] },
    });
    const version = await champion();
    const fresh = [];
    for await (const page of api.tasks(projectId)) fresh.push(...page.filter((t) => !before.has(t.id)));
    expect(fresh).toHaveLength(5);
    for (const t of fresh) expect(t.predictions?.map((p) => p.model_version)).toContain(version);
  });

  it('serves the first task of Label Loop\'s queue next when Label Studio honours uncertainty sampling', async () => {
    expect(connection.uncertaintySampling).toBe(true);
    const version = await champion();
    const { rows } = await h.db.query(
      `SELECT p.task_id FROM predictions p WHERE p.model_version = $1 AND NOT (p.task_id = ANY($2::bigint[])) ORDER BY coalesce(p.queue_score, p.score) ASC LIMIT 1`,
      [version, [...annotationByTask.keys()]],
    );
    const next = await api.request('GET', `/api/projects/${projectId}/next/`);
    // Label Studio serves a task with the lowest score it holds: Label Loop's first in its queue
    // (or one tied with it, or a task "Retrieve Predictions" scored lower on the same scale).
    const served = (await api.request('GET', `/api/tasks/${next.id}/`)) as { predictions?: { model_version: string; score: number | null }[] };
    const servedScore = served.predictions?.find((p) => p.model_version === version)?.score;
    const { rows: first } = await h.db.query('SELECT coalesce(queue_score, score) AS s FROM predictions WHERE task_id = $1 AND model_version = $2', [rows[0].task_id, version]);
    expect(servedScore).toBeLessThanOrEqual(first[0].s + 1e-9);
  });

  it('works with a personal access token, refreshed when the short-lived bearer token is refused', async () => {
    const { token } = await api.request('POST', '/api/token/', {});
    const pat = new LabelStudioClient({ url: ls.url, apiKey: token });
    expect(pat.authKind).toBe('personal access token');
    expect((await pat.getProject(projectId)).id).toBe(projectId);
    // As if the 5-minute access token had expired.
    (pat as unknown as { access: string }).access = 'expired-access-token';
    expect((await pat.getProject(projectId)).id).toBe(projectId);
  });

  it('tells a Label Studio user why a label config cannot be trained', async () => {
    const config = '<View><Image name="img" value="$image"/><Choices name="c" toName="img"><Choice value="cat"/><Choice value="dog"/></Choices></View>';
    const other = (await api.request('POST', '/api/projects/', { title: 'images', label_config: config })).id;
    const err = await api
      .createMlBackend({ project: other, url: h.api.url, title: 'Label Loop', auth_method: 'BASIC_AUTH', basic_auth_user: 'label-studio', basic_auth_pass: 'e2e-backend-pass' })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/classifies <Text> only/);
  });

  it('drops a deleted annotation from the next snapshot and recovers webhooks lost while Label Loop was down', async () => {
    const deletedTask = lsTaskIds[0];
    await api.request('DELETE', `/api/annotations/${annotationByTask.get(deletedTask)}/`);
    await waitFor('the deletion to arrive', async () => {
      const { rows } = await h.db.query('SELECT deleted FROM annotations WHERE id = $1', [annotationByTask.get(deletedTask)]);
      return rows[0]?.deleted === true;
    });

    // Label Loop goes down; Label Studio sends these webhooks once and never retries them.
    await h.stopApi();
    const whileDown = lsTaskIds.slice(100, 110);
    for (const id of whileDown) await annotate(id);
    await h.startApi();
    const { rows: before } = await h.db.query('SELECT count(*)::int AS n FROM annotations WHERE task_id = ANY($1::bigint[])', [whileDown]);
    expect(before[0].n).toBe(0);

    const rounds = (await h.loopStatus(projectId)).roundsStarted;
    const backend = (await api.listMlBackends(projectId))[0];
    await api.request('POST', `/api/ml/${backend.id}/train`, {});
    const status = await h.waitForRounds(projectId, rounds + 1, 300_000);
    expect(status.lastError).toBeNull();
    const { rows } = await h.db.query('SELECT task_id FROM snapshot_examples WHERE snapshot_id = $1', [status.lastRound!.snapshotId]);
    const inSnapshot = new Set(rows.map((r) => Number(r.task_id)));
    expect(inSnapshot.has(deletedTask)).toBe(false);
    for (const id of whileDown) expect(inSnapshot.has(id), `task ${id} annotated while Label Loop was down`).toBe(true);
    expect(inSnapshot.size).toBe(80 - 1 + whileDown.length);
  });
});
