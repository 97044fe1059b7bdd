/**
 * Label Loop's command line: the one place that reads configuration and wires processes.
 *
 *   stack    PostgreSQL + Temporal (embedded unless configured) + worker process + API, until Ctrl-C
 *   demo     the stack, then a simulated annotator labelling SpamAssassin e-mails; stays up after
 *   worker   a Temporal worker only (needs TEMPORAL_ADDRESS and DATABASE_URL, or a running stack)
 *   api      the HTTP API and webhook forwarder only
 *   connect  connect Label Loop to a Label Studio project (see README)
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createPool, migrate } from '../store/db.js';
import { initBackend } from '../model/backend.js';
import { startApiServer } from '../api/server.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLoopWorker } from './runWorker.js';
import { provideDatabase, provideTemporal, superviseWorker, type Service } from './services.js';
import { createProjectSync } from './projectSync.js';

const log = (m: string) => console.log(`[label-loop] ${m}`);

function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      log(`${signal}: stopping…`);
      stop().then(
        () => process.exit(0),
        (err) => {
          console.error(err);
          process.exit(1);
        },
      );
    });
  }
}

const apiSettings = (config: Config) => ({
  taskQueue: config.temporal.taskQueue,
  debounce: config.debounce,
  security: config.security,
  host: config.api.host,
  port: config.api.port,
});

async function runStack(config: Config, demo: boolean): Promise<void> {
  const services: Service[] = [];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop().catch((e) => console.error(e));
  };
  onShutdown(stopAll);
  try {
    const database = await provideDatabase(config, log);
    services.push(database);
    const db = createPool(database.url);
    services.push({ describe: '', stop: () => db.end() });
    const applied = await migrate(db);
    if (applied.length) log(`schema migrations applied: ${applied.join(', ')}`);

    const temporal = await provideTemporal(config, log);
    services.push(temporal);

    const worker = superviseWorker(
      { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.address },
      demo ? path.join(config.dataDir, 'logs', 'worker.log') : null,
      log,
    );
    services.push(worker);

    const backendName = await initBackend(log);
    const connection = await Connection.connect({ address: temporal.address });
    services.push({ describe: '', stop: () => connection.close() });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const api = await startApiServer({ db, temporal: client, ...apiSettings(config), backendName, logger: { level: demo ? 'warn' : 'info' } });
    services.push({ describe: '', stop: () => api.close() });

    log('up:');
    for (const s of [database, temporal, worker]) log(`  ${s.describe}`);
    log(`  API ${api.url} (ML backend URL for Label Studio; webhook ${api.url}/webhook)`);
    if (temporal.uiUrl) log(`  Temporal Web UI ${temporal.uiUrl}`);

    if (demo) {
      const { runDemo } = await import('../demo/run.js');
      const labels = process.env.LABEL_LOOP_DEMO_LABELS ? Number(process.env.LABEL_LOOP_DEMO_LABELS) : undefined;
      if (labels !== undefined && !(Number.isInteger(labels) && labels > 0)) throw new ConfigError('LABEL_LOOP_DEMO_LABELS: expected a positive integer');
      await runDemo({ apiUrl: api.url, db, client, config, temporalUiUrl: temporal.uiUrl, labels });
      log('demo finished; the stack stays up for the Temporal Web UI. Ctrl-C to stop.');
    } else {
      log('Ctrl-C to stop.');
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function runWorkerProcess(config: Config): Promise<void> {
  if (!config.temporal.address || !config.databaseUrl) {
    throw new ConfigError('the worker command needs TEMPORAL_ADDRESS and DATABASE_URL (the stack command sets both)');
  }
  Runtime.install({ logger: new DefaultLogger((process.env.LABEL_LOOP_LOG_LEVEL ?? 'WARN') as 'WARN') });
  const db = createPool(config.databaseUrl, 4);
  await migrate(db);
  await initBackend(log);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // A pre-built bundle (see `bundleWorkflowCode`) skips webpack at start.
  const bundle = process.env.LABEL_LOOP_WORKFLOW_BUNDLE;
  const worker = await createLoopWorker({
    connection,
    config,
    db,
    projectSync: createProjectSync(config, db),
    workflowBundle: bundle ? { codePath: bundle } : undefined,
  });
  onShutdown(async () => worker.shutdown());
  log(`worker polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
  await worker.run();
  await connection.close();
  await db.end();
}

async function runApiProcess(config: Config): Promise<void> {
  if (!config.temporal.address || !config.databaseUrl) {
    throw new ConfigError('the api command needs TEMPORAL_ADDRESS and DATABASE_URL (the stack command sets both)');
  }
  const db = createPool(config.databaseUrl);
  await migrate(db);
  const backendName = await initBackend(log);
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const api = await startApiServer({ db, temporal, ...apiSettings(config), backendName, logger: { level: 'info' } });
  onShutdown(async () => {
    await api.close();
    await connection.close();
    await db.end();
  });
  log(`API listening on ${api.url}`);
}

async function main(): Promise<void> {
  const [command = 'stack', ...rest] = process.argv.slice(2);
  if (command === 'demo') {
    // The demo's annotator labels in sessions and waits for each round: a short quiet period
    // keeps it brisk. Explicit settings still win.
    process.env.LABEL_LOOP_QUIET_PERIOD_MS ??= '1500';
    process.env.LABEL_LOOP_MIN_ANNOTATIONS ??= '20';
  }
  const config = loadConfig();
  switch (command) {
    case 'stack':
      return runStack(config, false);
    case 'demo':
      return runStack(config, true);
    case 'worker':
      return runWorkerProcess(config);
    case 'api':
      return runApiProcess(config);
    case 'connect': {
      const { runConnect } = await import('./connect.js');
      return runConnect(config, rest);
    }
    default:
      throw new ConfigError(`unknown command "${command}": use stack, demo, worker, api or connect`);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `[label-loop] configuration error: ${err.message}` : err);
  process.exit(1);
});
