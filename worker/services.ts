import { mkdirSync, createWriteStream } from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { startEmbeddedPostgres, startTemporalDevServer, ensureSearchAttributes } from '../infra/index.js';
import { SEARCH_ATTRIBUTES } from '../workflows/definitions.js';
import { REPO_ROOT, type Config } from './config.js';

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

/**
 * `TEMPORAL_ADDRESS` when set (our search attributes are then registered on it), else the
 * Temporal CLI dev server with a persisted SQLite file and its Web UI.
 */
export async function provideTemporal(config: Config, log: (m: string) => void): Promise<{ address: string; uiUrl?: string } & Service> {
  const { namespace } = config.temporal;
  if (config.temporal.address) {
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      await ensureSearchAttributes(connection, namespace, SEARCH_ATTRIBUTES);
    } finally {
      await connection.close();
    }
    return { address: config.temporal.address, describe: `Temporal ${config.temporal.address} (TEMPORAL_ADDRESS)`, stop: async () => undefined };
  }
  const server = await startTemporalDevServer({
    dataDir: path.join(config.dataDir, 'temporal'),
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

/**
 * Runs the worker as its own process: training is CPU-bound and would otherwise stall the
 * API's event loop. Restarted with backoff if it dies.
 */
export function superviseWorker(env: Record<string, string>, logFile: string | null, log: (m: string) => void): Service {
  let child: ChildProcess | null = null;
  let stopping = false;
  let restarts = 0;
  if (logFile) mkdirSync(path.dirname(logFile), { recursive: true });
  const out = logFile ? createWriteStream(logFile, { flags: 'a' }) : null;

  const start = () => {
    child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'worker', 'main.ts'), 'worker'], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', out ? 'pipe' : 'inherit', out ? 'pipe' : 'inherit'],
    });
    if (out) {
      child.stdout?.pipe(out, { end: false });
      child.stderr?.pipe(out, { end: false });
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const delay = Math.min(1000 * 2 ** restarts++, 30_000);
      log(`worker exited (${signal ?? code}); restarting in ${delay} ms${logFile ? `, see ${logFile}` : ''}`);
      setTimeout(() => !stopping && start(), delay);
    });
  };
  start();
  return {
    describe: `worker process${logFile ? ` (log: ${logFile.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, logFile) : logFile})` : ''}`,
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
