import pg from 'pg';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export type Db = pg.Pool;
export type Queryable = pg.Pool | pg.PoolClient;

// int8 columns hold Label Studio ids and counts well inside 2^53: return them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface PoolOptions {
  /** Connections in this process's pool. */
  max?: number;
  /** Give up connecting after this long (ms): PostgreSQL down → an error, never a hang. */
  connectTimeoutMs?: number;
  /**
   * Longest a statement may run (ms), enforced twice: by the server (`statement_timeout`) and by
   * the client (`query_timeout`), which also fires when the server is frozen and cannot cancel.
   */
  statementTimeoutMs?: number;
  /** Called once per connection-level error (a restart, a network drop), for the log. */
  onError?: (err: Error) => void;
}

/**
 * A pool that survives PostgreSQL going away: errors of idle connections are reported, not
 * thrown; a connection that failed is dropped and the next query opens a fresh one. With
 * timeouts on connecting and on every statement, callers get an error within a bound whether
 * PostgreSQL is down, restarting or frozen (SIGSTOP), and the API turns it into a 503.
 */
export function createPool(databaseUrl: string, opts: PoolOptions = {}): Db {
  const statementTimeoutMs = opts.statementTimeoutMs ?? 30_000;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    statement_timeout: statementTimeoutMs,
    // The client-side bound is a little longer, so a live server gets to cancel first.
    query_timeout: statementTimeoutMs + 1_000,
    idle_in_transaction_session_timeout: statementTimeoutMs * 2,
    keepAlive: true,
    idleTimeoutMillis: 30_000,
  });
  const report = opts.onError ?? (() => undefined);
  pool.on('error', (err) => report(err));
  return pool;
}

/**
 * Runs `fn` in a transaction on one pooled connection. A connection that failed (the server went
 * away mid-transaction, a client-side timeout left a statement in flight) is destroyed on
 * release, never handed to the next caller.
 */
export async function withTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  // While checked out, a client's 'error' event has no listener of the pool's: without this one
  // a connection dropped mid-transaction would crash the process.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A connection that timed out or dropped is destroyed (the server rolls back when it closes);
    // waiting for a ROLLBACK on it could double the time the caller waits for its error.
    if (isUnavailable(err)) broken ??= err as Error;
    else {
      broken ??= await client.query('ROLLBACK').then(
        () => undefined,
        (rollbackErr: Error) => rollbackErr,
      );
    }
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** PostgreSQL could not be reached or did not answer in time: the caller may retry later (503). */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08* connection exceptions,
  // 57014 statement cancelled by statement_timeout, 53300 too many connections.
  if (code && (/^08/.test(code) || ['57P01', '57P02', '57P03', '57014', '53300', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connect ECONNREFUSED|Client has encountered a connection error|Connection terminated unexpectedly/i.test(err.message);
}

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
// Any constant works: it only has to be the same for every Label Loop process.
const MIGRATION_LOCK = 7_301_944;

/**
 * Applies versioned SQL migrations (`NNN_name.sql`) in order, each in its own transaction,
 * under an advisory lock so concurrent workers and API processes can start together.
 * Returns the versions applied by this call.
 */
export async function migrate(db: Db): Promise<number[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const client = await db.connect();
  client.on('error', () => undefined); // reported by the failing query below
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const file of files) {
      const version = Number(file.split('_')[0]);
      if (done.has(version)) continue;
      const sql = await readFile(path.join(migrationsDir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
