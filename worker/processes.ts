/**
 * The processes Label Loop runs, wired from configuration: the whole stack on one machine, a
 * Temporal worker, or the HTTP API. The CLI (cli/main.ts) chooses one; nothing here knows about
 * the demo or the command line.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createPool, migrate, type Db } from '../store/db.js';
import { initBackend } from '../model/backend.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { ConfigError, type Config } from './config.js';
import { createLoopWorkers } from './runWorker.js';
import { provideDatabase, provideTemporal, superviseWorker, type Service } from './services.js';
import { installTemporalLogging } from './logging.js';
import { temporalConnectionOptions } from './temporalConnection.js';
import { startStory } from './story.js';

/** Stops `stop` on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info(`${signal}: stopping…`);
      stop().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, 'stopping failed');
          process.exit(1);
        },
      );
    });
  }
}

const DB_ERROR_LOG_INTERVAL_MS = 10_000;

/** A pool for this process whose connection errors (a PostgreSQL restart) are logged, not fatal. */
export function processPool(config: Config, log: Logger, role: 'api' | 'worker'): Db {
  let lastLogged = 0;
  return createPool(config.databaseUrl!, {
    max: config.database.poolMax,
    connectTimeoutMs: config.database.connectTimeoutMs,
    // Requests answer within seconds or 503; activities (exports, bulk writes) may take longer.
    statementTimeoutMs: role === 'api' ? config.database.statementTimeoutMs : Math.max(config.database.statementTimeoutMs, 15 * 60_000),
    onError: (err) => {
      if (Date.now() - lastLogged < DB_ERROR_LOG_INTERVAL_MS) return;
      lastLogged = Date.now();
      log.warn({ err: err.message }, 'PostgreSQL connection lost; reconnecting on the next query');
    },
  });
}

function apiOptions(config: Config) {
  return {
    taskQueue: config.temporal.taskQueue,
    debounce: config.debounce,
    security: config.security,
    host: config.api.host,
    port: config.api.port,
    dashboard: { temporalUiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace },
    sampling: { auditShare: config.round.auditShare, defaultStrategy: config.round.strategy },
    limits: {
      webhookBodyLimit: config.api.webhookBodyLimit,
      predictBodyLimit: config.api.predictBodyLimit,
      intakeQueueLimit: config.api.intakeQueueLimit,
      temporalQueryTimeoutMs: config.temporal.queryTimeoutMs,
    },
  };
}

export interface Stack {
  db: Db;
  client: Client;
  api: ApiServer;
  temporalUiUrl?: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL + Temporal (embedded unless configured) + a supervised worker process + the API in
 * this process, and (unless `story: false`) a line on the console per round outcome and per push.
 * Resolves once everything is up.
 */
export async function runStack(config: Config, log: Logger, opts: { workerLogFile?: string | null; story?: boolean } = {}): Promise<Stack> {
  const services: Service[] = [];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop().catch((err) => log.error({ err }, 'stopping a service failed'));
  };
  onShutdown(log, stopAll);
  const say = (m: string) => log.info(m);
  try {
    const database = await provideDatabase(config, say);
    services.push(database);
    const db = processPool({ ...config, databaseUrl: database.url }, log, 'api');
    services.push({ describe: '', stop: () => db.end() });
    const applied = await migrate(db);
    if (applied.length) log.info(`schema migrations applied: ${applied.join(', ')}`);

    const temporal = await provideTemporal(config, say);
    services.push(temporal);

    const worker = superviseWorker(config, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address }, opts.workerLogFile ?? null, say);
    services.push(worker);

    const backendName = await initBackend({ forced: config.tfBackend, log: say });
    const connection = await Connection.connect(config.temporal.address ? temporalConnectionOptions(config.temporal) : { address: temporal.address });
    services.push({ describe: '', stop: () => connection.close() });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const api = await startApiServer({ db, temporal: client, ...apiOptions(config), backendName, logger: log });
    services.push({ describe: '', stop: () => api.close() });
    if (opts.story !== false) {
      // One line per round outcome and per push, as they happen (worker/story.ts).
      const story = startStory({ client, taskQueue: config.temporal.taskQueue, log });
      services.push({ describe: '', stop: () => story.stop() });
    }

    log.info('up:');
    for (const s of [database, temporal, worker]) log.info(`  ${s.describe}`);
    log.info(`  API ${api.url} (ML backend URL for Label Studio; webhook ${api.url}/webhook)`);
    log.info(`  dashboard ${api.url}/dashboard, Prometheus metrics ${api.url}/metrics`);
    if (temporal.uiUrl) log.info(`  Temporal Web UI ${temporal.uiUrl}`);
    return { db, client, api, temporalUiUrl: temporal.uiUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A Temporal worker only: needs TEMPORAL_ADDRESS and DATABASE_URL (the stack sets both for its child). */
export async function runWorkerProcess(config: Config, log: Logger): Promise<void> {
  if (!config.temporal.address || !config.databaseUrl) {
    throw new ConfigError('the worker command needs TEMPORAL_ADDRESS and DATABASE_URL (the stack command sets both)');
  }
  installTemporalLogging(log, { metricsBindAddress: config.workerMetrics?.bindAddress });
  if (config.workerMetrics) log.info(`Temporal SDK metrics for Prometheus on http://${config.workerMetrics.bindAddress}/metrics`);
  const db = processPool(config, log, 'worker');
  await migrate(db);
  await initBackend({ forced: config.tfBackend, log: (m) => log.info(m) });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const clientConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const worker = await createLoopWorkers({ connection, client, config, db, log });
  onShutdown(log, async () => worker.shutdown());
  log.info(`worker polling task queues ${worker.queues.join(', ')} on ${config.temporal.address}`);
  await worker.run();
  await clientConnection.close();
  await connection.close();
  await db.end();
}

/** The HTTP API and the webhook forwarder only. Starts even while Temporal is down (webhooks are still recorded). */
export async function runApiProcess(config: Config, log: Logger): Promise<void> {
  if (!config.temporal.address || !config.databaseUrl) {
    throw new ConfigError('the api command needs TEMPORAL_ADDRESS and DATABASE_URL (the stack command sets both)');
  }
  const db = processPool(config, log, 'api');
  await migrate(db);
  const backendName = await initBackend({ forced: config.tfBackend, log: (m) => log.info(m) });
  // Lazy: the connection is made on first use, so a Temporal outage does not stop the API.
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const api = await startApiServer({ db, temporal, ...apiOptions(config), backendName, logger: log });
  onShutdown(log, async () => {
    await api.close();
    await connection.close();
    await db.end();
  });
  log.info(`API listening on ${api.url} (dashboard ${api.url}/dashboard, metrics ${api.url}/metrics)`);
}

export const defaultWorkerLogFile = (config: Config) => path.join(config.dataDir, 'logs', 'worker.log');
