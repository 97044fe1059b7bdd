/**
 * `npx tsx infra/up.ts`: starts the embedded PostgreSQL and Temporal dev server with their
 * defaults, persisted under `.data/`, prints where they are, and stays up until Ctrl-C.
 * Handy for running the worker or the API against them by hand
 * (DATABASE_URL=… TEMPORAL_ADDRESS=… npm run worker).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, startTemporalDevServer } from './index.js';

const dataDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), '.data');
const log = (msg: string) => console.log(`[up] ${msg}`);

const [postgres, temporal] = await Promise.all([
  startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), log }),
  startTemporalDevServer({ dataDir: join(dataDir, 'temporal'), log }),
]);

// The URL's password is the fixed local-only one from infra/postgres.ts, printed on purpose so it
// can be copied into DATABASE_URL.
console.log(`
PostgreSQL   ${postgres.url}${postgres.reused ? '   (was already running)' : ''}
Temporal     ${temporal.address}  namespace ${temporal.namespace}${temporal.reused ? '   (was already running)' : ''}
Temporal UI  ${temporal.uiUrl ?? '-'}
Logs         ${join(dataDir, 'postgres', 'postgres.log')}, ${join(dataDir, 'temporal', 'temporal.log')}

Ctrl-C stops ${postgres.reused && temporal.reused ? 'nothing (both were already running)' : 'what this process started'}.`);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  await Promise.allSettled([temporal.stop(), postgres.stop()]);
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Keep the event loop alive when both servers were reused (no child processes hold it then).
setInterval(() => {}, 1 << 30);
