import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, mkdtemp, rm, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { startEmbeddedPostgres, startTemporalDevServer, type EmbeddedPostgres, type TemporalDevServer } from '../../infra/index.js';
import { SEARCH_ATTRIBUTES, loopStatusQuery, loopWorkflowId, type LoopStatus } from '../../contract/index.js';
import { createPool, type Db } from '../../store/db.js';
import { REPO_ROOT } from '../../worker/config.js';
import { CLI_ENTRY, temporalTools } from '../../worker/services.js';
import { freePort } from '../helpers/globalSetup.js';
import { testConfig, waitFor } from '../helpers/harness.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/workerProcess.js';
import { spamTasks } from '../helpers/data.js';
import { annotationEvent, SPAM_CONFIG, tasksCreated } from '../helpers/labelStudioPayloads.js';

/**
 * Outages of the real servers while webhooks and a round are running: PostgreSQL stopped and
 * restarted, PostgreSQL frozen (SIGSTOP), the Temporal dev server stopped and restarted. The API
 * and the worker run as their own processes, as in production. Asserts 503s within bounds, no
 * lost acknowledged event, the round completes after recovery, and no process died.
 */

// Short timeouts so the bounds below are tight; the defaults are a few seconds.
const CONNECT_TIMEOUT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_000;
const QUERY_TIMEOUT_MS = 1_000;
/** A refused webhook must be answered within this (the statement bound + the client's slack + scheduling). */
const ANSWER_BOUND_MS = STATEMENT_TIMEOUT_MS + 1_000 + 2_000;

describe('outages of PostgreSQL and Temporal', () => {
  let dir: string;
  let pgPort: number;
  let pg: EmbeddedPostgres;
  let temporalPort: number;
  let temporal: TemporalDevServer;
  let api: ChildProcess;
  let apiOut = '';
  let apiUrl: string;
  let worker: WorkerProcess;
  let db: Db;
  let client: Client;
  let connection: Connection;
  const projectId = 616_161;
  const taskQueue = `outage-${Date.now()}`;
  const { tasks, labelOf } = spamTasks(400, 61_000_000);
  let nextAnnotation = 71_000_000;
  const acknowledged = new Set<number>();

  const startPostgres = async () => (pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: pgPort }));
  const startTemporal = async () =>
    (temporal = await startTemporalDevServer({
      tools: temporalTools(testConfig()),
      dataDir: path.join(dir, 'temporal'),
      port: temporalPort,
      headless: true,
      searchAttributes: { ...SEARCH_ATTRIBUTES },
    }));
  const env = () => ({
    DATABASE_URL: pg.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LABEL_LOOP_DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    LABEL_LOOP_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    LABEL_LOOP_TEMPORAL_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
    LABEL_LOOP_MIN_ANNOTATIONS: '1000000',
    LABEL_LOOP_MAX_WAIT_MS: '86400000',
    LABEL_LOOP_LOG_FORMAT: 'json',
  });

  /** Sends one new, valid annotation; remembers it when Label Loop acknowledged it. */
  const annotate = async (): Promise<{ status: number; ms: number; body: any }> => {
    const id = nextAnnotation++;
    const t = tasks[id % tasks.length];
    const started = performance.now();
    const res = await fetch(`${apiUrl}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(annotationEvent('ANNOTATION_CREATED', projectId, t, id, [labelOf.get(t.id)!])),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.json();
    if (res.status === 200) acknowledged.add(id);
    return { status: res.status, ms: performance.now() - started, body };
  };
  const status = (): Promise<LoopStatus> => client.workflow.getHandle(loopWorkflowId(projectId)).query(loopStatusQuery);
  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
  /** All PostgreSQL processes of the cluster: the postmaster and its backends. */
  const postgresPids = async (): Promise<number[]> => {
    const postmaster = Number((await readFile(path.join(dir, 'pg', 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const children = (await readFile(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean).map(Number);
    return [postmaster, ...children];
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-outage-'));
    await chmod(dir, 0o755);
    pgPort = await freePort();
    temporalPort = await freePort();
    await Promise.all([startPostgres(), startTemporal()]);
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    api = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'api'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env(), LABEL_LOOP_PORT: String(apiPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout!.on('data', (d) => (apiOut += d));
    api.stderr!.on('data', (d) => (apiOut += d));
    worker = startWorkerProcess(env());
    await waitFor('the API', async () => (await fetch(`${apiUrl}/health`).catch(() => null))?.ok, 60_000, 200);
    db = createPool(pg.url);
    connection = await Connection.connect({ address: temporal.address });
    client = new Client({ connection });

    const post = (p: string, body: unknown) => fetch(`${apiUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post('/setup', { project: `${projectId}.1`, schema: SPAM_CONFIG })).status).toBe(200);
    expect((await post('/webhook', tasksCreated(projectId, tasks))).status).toBe(200);
    for (let i = 0; i < 80; i++) expect((await annotate()).status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    api?.kill('SIGTERM');
    await worker?.stop();
    await connection?.close();
    await db?.end().catch(() => undefined);
    await temporal?.stop();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('PostgreSQL stopped during a round: 503s within the bound, then the round completes and nothing acknowledged is lost', async () => {
    // Many epochs: the round is still training when PostgreSQL goes away.
    expect((await fetch(`${apiUrl}/api/projects/${projectId}/rounds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"overrides":{"epochs":10000,"tolerance":0}}' })).status).toBe(202);
    await waitFor('round 1 to start', async () => (await status()).currentRound === 1, 60_000, 50);
    await pg.stop();
    const during: { status: number; ms: number }[] = [];
    for (let i = 0; i < 10; i++) during.push(await annotate());
    expect(during.every((r) => r.status === 503), JSON.stringify(during)).toBe(true);
    expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(ANSWER_BOUND_MS);
    await startPostgres();
    await waitFor('webhooks accepted again', async () => (await annotate()).status === 200, 60_000, 200);
    const done = await waitFor('round 1 to finish', async () => {
      const s = await status();
      return s.currentRound === null && s.roundsStarted >= 1 ? s : undefined;
    }, 300_000, 500);
    expect(done.lastError, 'the round survived the outage (its activities retried)').toBeNull();
    expect(done.championVersion).not.toBeNull();
    expect(alive(api), apiOut.slice(-2000)).toBe(true);
    expect(alive(worker.child), worker.output().slice(-2000)).toBe(true);
  });

  it('PostgreSQL frozen (SIGSTOP): 503 within the bound, then service resumes', async () => {
    const pids = await postgresPids();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      const frozen = await annotate();
      expect(frozen.status).toBe(503);
      expect(frozen.body.error).toMatch(/PostgreSQL/);
      expect(frozen.ms).toBeLessThan(ANSWER_BOUND_MS);
      const models = await fetch(`${apiUrl}/api/projects/${projectId}/models`, { signal: AbortSignal.timeout(30_000) });
      expect(models.status).toBe(503);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await waitFor('webhooks accepted again', async () => (await annotate()).status === 200, 60_000, 200);
    expect(alive(api) && alive(worker.child)).toBe(true);
  });

  it('Temporal stopped: status answers 503 within the bound, webhooks are still recorded, and the loop catches up after', async () => {
    const before = (await status()).roundsStarted;
    await temporal.stop();
    const started = performance.now();
    const res = await fetch(`${apiUrl}/api/projects/${projectId}/status`, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + 2_000);
    for (let i = 0; i < 20; i++) expect((await annotate()).status).toBe(200);
    // A round requested through the API needs Temporal: 503, not a hang.
    const round = await fetch(`${apiUrl}/api/projects/${projectId}/rounds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(30_000) });
    expect(round.status).toBe(503);

    await startTemporal();
    // START_TRAINING recorded during the outage reaches the loop once Temporal is back.
    const train = await fetch(`${apiUrl}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'START_TRAINING', project: { id: projectId } }) });
    expect(train.status).toBe(200);
    const after = await waitFor('a round after the outage', async () => {
      const s = await status().catch(() => null);
      return s && s.roundsStarted > before && s.currentRound === null ? s : undefined;
    }, 300_000, 500);
    expect(after.lastError).toBeNull();
    expect(alive(api), apiOut.slice(-2000)).toBe(true);
    expect(alive(worker.child), worker.output().slice(-2000)).toBe(true);
  });

  it('lost no acknowledged event', async () => {
    const { rows } = await db.query('SELECT id FROM annotations WHERE project_id = $1', [projectId]);
    const stored = new Set(rows.map((r) => Number(r.id)));
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);
    // And the logs carried no task text.
    expect(apiOut + worker.output()).not.toContain(String(tasks[0].data.text).slice(0, 40));
  });
});
