import { randomInt, randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createPool, migrate, type Db } from '../../store/db.js';
import { loadConfig, type Config } from '../../worker/config.js';
import { createLoopWorkers, type LoopWorkers } from '../../worker/runWorker.js';
import { createLogger, installTemporalLogging, type Logger } from '../../worker/logging.js';
import { startApiServer, type ApiServer } from '../../api/server.js';
import { initBackend } from '../../model/backend.js';
import { loopStatusQuery, loopWorkflowId, type LoopStatus } from '../../contract/index.js';

/**
 * The tests' logger: warnings and errors only (state changes at info drown the output), in
 * the same pino format as the processes; LABEL_LOOP_LOG_LEVEL=info shows more.
 */
export const testLog: Logger = createLogger({ log: { level: process.env.LABEL_LOOP_LOG_LEVEL ?? 'warn', format: 'json' } }, 'test');
installTemporalLogging(testLog);

/** Configuration as the processes read it, over the environment the tests run in. */
export const testConfig = (env: Record<string, string> = {}): Config => loadConfig({ ...process.env, ...env });
import { freePort } from './globalSetup.js';

/** A project id no other test (in any file, on the shared Temporal server) uses. */
/**
 * Overrides for a round that trains for a while (every epoch runs: tolerance 0), so a test can
 * watch it train or stop it: about 10 s for 100 labels on this machine.
 */
export const SLOW_TRAINING = { epochs: 20_000, tolerance: 0 } as const;

export const uniqueProjectId = () => randomInt(1_000_000, 2_000_000_000);

/** A fresh database on the shared PostgreSQL server, migrated. */
export async function createTestDatabase(): Promise<{ db: Db; url: string; drop(): Promise<void> }> {
  const baseUrl = inject('databaseUrl');
  const name = `ll_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const db = createPool(url.toString());
  await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.end();
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Harness {
  db: Db;
  databaseUrl: string;
  temporalAddress: string;
  config: Config;
  client: Client;
  api: ApiServer;
  worker: LoopWorkers | null;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  patch(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  delete(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  loopStatus(projectId: number): Promise<LoopStatus>;
  /** Waits until the loop has finished `rounds` rounds and is not training. */
  waitForRounds(projectId: number, rounds: number, timeoutMs?: number): Promise<LoopStatus>;
  /** Takes the API down (webhooks sent meanwhile are lost, as with a real outage) and back up. */
  stopApi(): Promise<void>;
  startApi(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One test file's Label Loop: its own database and task queue on the shared servers, an
 * in-process worker (unless `worker: false`, for tests that run worker processes) and the API.
 */
export async function createHarness(
  opts: { env?: Record<string, string>; worker?: boolean; apiPort?: number; /** Another Temporal server than the shared one (e.g. one with its Web UI). */ temporalAddress?: string } = {},
): Promise<Harness> {
  const temporalAddress = opts.temporalAddress ?? inject('temporalAddress');
  const database = await createTestDatabase();
  const taskQueue = `test-${randomUUID()}`;
  const config = testConfig({
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    ...opts.env,
  });
  const backendName = await initBackend();
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  let nativeConnection: NativeConnection | null = null;
  let worker: LoopWorkers | null = null;
  let workerRun: Promise<void> | null = null;
  if (opts.worker !== false) {
    nativeConnection = await NativeConnection.connect({ address: temporalAddress });
    worker = await createLoopWorkers({
      connection: nativeConnection,
      client,
      config,
      db: database.db,
      log: testLog,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    workerRun = worker.run();
  }
  const startApi = async () =>
    startApiServer({
      db: database.db,
      temporal: client,
      taskQueue,
      debounce: config.debounce,
      security: config.security,
      host: '127.0.0.1',
      // Port 0 (no race) unless the ports must stay inside TEST_PORT_RANGE.
      port: opts.apiPort ?? (process.env.TEST_PORT_RANGE ? await freePort() : 0),
      backendName,
      dashboard: { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace },
      limits: {
        webhookBodyLimit: config.api.webhookBodyLimit,
        predictBodyLimit: config.api.predictBodyLimit,
        intakeQueueLimit: config.api.intakeQueueLimit,
        temporalQueryTimeoutMs: config.temporal.queryTimeoutMs,
      },
      logger: testLog,
    });
  let api = await startApi();
  let apiUp = true;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text for the assertion message */
    }
    return { status: res.status, body: parsed as any };
  };
  const loopStatus = (projectId: number): Promise<LoopStatus> => client.workflow.getHandle(loopWorkflowId(projectId)).query(loopStatusQuery);

  const harness: Harness = {
    db: database.db,
    databaseUrl: database.url,
    temporalAddress,
    config,
    client,
    api,
    worker,
    async stopApi() {
      await api.close();
      apiUp = false;
    },
    async startApi() {
      api = await startApi();
      harness.api = api;
      apiUp = true;
    },
    post: (path, body, headers) => call('POST', path, body, headers),
    get: (path, headers) => call('GET', path, undefined, headers),
    patch: (path, body, headers) => call('PATCH', path, body, headers),
    delete: (path, headers) => call('DELETE', path, undefined, headers),
    loopStatus,
    waitForRounds: async (projectId, rounds, timeoutMs = 180_000) => {
      let last: LoopStatus | undefined;
      try {
        return await waitFor(
          `${rounds} finished round(s) of project ${projectId}`,
          async () => {
            const s = (last = await loopStatus(projectId));
            return s.roundsStarted >= rounds && s.currentRound === null && (s.lastRound?.round === rounds || s.lastError !== null) ? s : undefined;
          },
          timeoutMs,
          200,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last loop status: ${JSON.stringify(last)}`);
      }
    },
    async close() {
      if (apiUp) await api.close();
      // Loops live forever by design; end this file's so the shared server stays quiet.
      const loops = client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"` });
      for await (const wf of loops) await client.workflow.getHandle(wf.workflowId).terminate('test finished').catch(() => undefined);
      worker?.shutdown();
      await workerRun;
      await nativeConnection?.close();
      await connection.close();
      await database.drop();
    },
  };
  return harness;
}
