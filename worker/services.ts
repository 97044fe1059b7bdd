import { mkdirSync, createWriteStream } from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { startEmbeddedPostgres, startTemporalDevServer, ensureSearchAttributes } from '../infra/index.js';
import { SEARCH_ATTRIBUTES } from '../contract/index.js';
import { REPO_ROOT, type Config } from './config.js';
import { describeTemporalConnection, temporalConnectionOptions } from './temporalConnection.js';

export interface Service {
  /** What to print for a person: an address with no secrets in it. */
  describe: string;
  stop(): Promise<void>;
}

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** `DATABASE_URL` when set, else a real embedded PostgreSQL under the data dir. */
export async function provideDatabase(config: Config, log: (m: string) => void): Promise<{ url: string } & Service> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, describe: `PostgreSQL ${redactUrl(config.databaseUrl)} (DATABASE_URL)`, stop: async () => undefined };
  }
  const pg = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), port: config.embeddedPostgresPort, log });
  return { url: pg.url, describe: `PostgreSQL ${redactUrl(pg.url)} (embedded${pg.reused ? ', already running' : ''})`, stop: pg.stop };
}

/** Where to find or install the Temporal CLI for the dev server. */
export const temporalTools = (config: Config) => ({ cli: config.temporal.cli, searchPath: config.environment.PATH, cacheDir: config.cacheDir });

/**
 * `TEMPORAL_ADDRESS` when set (our search attributes are then registered on it), else the
 * Temporal CLI dev server with a persisted SQLite file and its Web UI.
 */
export async function provideTemporal(config: Config, log: (m: string) => void): Promise<{ address: string; uiUrl?: string } & Service> {
  const { namespace } = config.temporal;
  if (config.temporal.address) {
    const options = temporalConnectionOptions(config.temporal);
    const connection = await Connection.connect(options);
    try {
      await ensureSearchAttributes(connection, namespace, SEARCH_ATTRIBUTES);
    } finally {
      await connection.close();
    }
    return { address: config.temporal.address, describe: `Temporal ${describeTemporalConnection(options)} (TEMPORAL_ADDRESS)`, stop: async () => undefined };
  }
  const server = await startTemporalDevServer({
    dataDir: path.join(config.dataDir, 'temporal'),
    tools: temporalTools(config),
    port: config.temporal.port,
    uiPort: config.temporal.uiPort,
    namespace,
    searchAttributes: { ...SEARCH_ATTRIBUTES },
    log,
  });
  return {
    address: server.address,
    uiUrl: server.uiUrl,
    describe: `Temporal ${server.address} (dev server${server.reused ? ', already running' : ''}), Web UI ${server.uiUrl ?? 'off'}`,
    stop: server.stop,
  };
}

/** The CLI entry point, for child processes (the supervised worker). */
export const CLI_ENTRY = path.join(REPO_ROOT, 'cli', 'main.ts');

/** A worker that ran this long before exiting counts as healthy: the next restart is quick again. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Runs the worker as its own process: training is CPU-bound and would otherwise stall the
 * API's event loop. Restarted with exponential backoff if it dies; the backoff resets once a
 * worker has run for a healthy minute, so an outage long ago does not slow today's restart.
 */
export function superviseWorker(
  config: Config,
  env: Record<string, string>,
  logFile: string | null,
  log: (m: string) => void,
): Service & { restarts(): number } {
  let child: ChildProcess | null = null;
  let stopping = false;
  let failures = 0;
  let restarts = 0;
  if (logFile) mkdirSync(path.dirname(logFile), { recursive: true });
  const out = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;

  const start = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'worker'], {
      cwd: REPO_ROOT,
      env: { ...config.environment, ...env },
      stdio: ['ignore', out ? 'pipe' : 'inherit', out ? 'pipe' : 'inherit'],
    });
    if (out) {
      child.stdout?.pipe(out, { end: false });
      child.stderr?.pipe(out, { end: false });
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      if (Date.now() - startedAt >= HEALTHY_AFTER_MS) failures = 0;
      const delay = Math.min(1000 * 2 ** failures++, 30_000);
      restarts++;
      log(`worker exited (${signal ?? code}); restarting in ${delay} ms${logFile ? `, see ${logFile}` : ''}`);
      setTimeout(() => !stopping && start(), delay);
    });
  };
  start();
  return {
    describe: `worker process${logFile ? ` (log: ${logFile.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, logFile) : logFile})` : ''}`,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      out?.end();
    },
  };
}
