/**
 * Runs a real, production-build Temporal server (v1.29.1, built from source by
 * ./temporalServerBuild.ts) with its persistence and visibility in PostgreSQL: the same kind of
 * server a self-hosted deployment runs, as opposed to the CLI dev server in ./temporal.ts.
 * Used by the `temporal-server` test tier (TEMPORAL_SERVER=real, see vitest.config.ts).
 *
 * What start does, each step idempotent so a second start on the same PostgreSQL continues:
 *  1. ensures the binaries (built once into a cache outside the repo);
 *  2. creates the login role Temporal uses and the databases `temporal` and `temporal_visibility`,
 *     then sets up and updates their versioned schemas with the SQL tool;
 *  3. writes a copy of the module's `development-postgres12.yaml` with every service's gRPC and
 *     membership port moved to a free port, pprof off, metrics on loopback, archival off and an
 *     absolute dynamic-config path;
 *  4. starts `server --root <dataDir> --config config --env label-loop --allow-no-auth start`
 *     and waits until the gRPC health check answers SERVING;
 *  5. registers the namespace when missing and the custom search attributes asked for.
 *
 * Imports the `yaml` devDependency: keep this module out of infra/index.ts so the production
 * image (npm ci --omit=dev) never loads it.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { ensureNamespace, ensureSearchAttributes, type SearchAttributeTypeName } from './temporal.js';
import { ensureTemporalServerDist, type TemporalServerDist } from './temporalServerBuild.js';
import { findFreePort, hasExited, isPortOpen, sleep, stopOnParentExit, tailFile, terminate } from './support.js';

const HOST = '127.0.0.1';
/** Name of the config file (`config/<env>.yaml`) and the server's `--env`. */
const CONFIG_ENV = 'label-loop';
/** Fixed when a cluster is created; 4 is what Temporal's development configs use. */
const NUM_HISTORY_SHARDS = 4;
const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING

export interface PostgresAdmin {
  host: string;
  port: number;
  /** A role that may create roles and databases (or the Temporal role itself, if it exists). */
  user: string;
  password: string;
}

export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  metrics: number;
}

export interface TemporalServerOptions {
  /** Holds `config/` (the generated config) and `temporal-server.log`; created when missing. */
  dataDir: string;
  /** PostgreSQL to keep Temporal's data in: admin credentials, or a postgres:// URL carrying them. */
  postgres: PostgresAdmin | { url: string } | string;
  /** Login role the server uses; created with LOGIN CREATEDB when missing. Default temporal/temporal. */
  temporalRole?: { user: string; password: string };
  /** Default `temporal` and `temporal_visibility`. */
  databases?: { main?: string; visibility?: string };
  /** Fixed ports; any not given is a free port (inside `portRange` when given). */
  ports?: Partial<TemporalServerPorts>;
  portRange?: { min: number; max: number };
  /** Registered when missing. Default `default`. */
  namespace?: string;
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Server log level. Default `warn` (the log goes to `<dataDir>/temporal-server.log`). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Progress messages. */
  log?: (msg: string) => void;
  /** Default 120 s (the first start applies all schema versions). */
  startTimeoutMs?: number;
  /** Build cache root; default see labelLoopCacheDir(). */
  cacheDir?: string;
}

export interface TemporalServer {
  /** host:port of the frontend, for Connection/NativeConnection `address`. */
  address: string;
  namespace: string;
  ports: TemporalServerPorts;
  /** Prometheus metrics on loopback. */
  metricsUrl: string;
  logFile: string;
  version: string;
  /** Timings of this start, for reports: schema set-up, spawn → SERVING, namespace + attributes. */
  timings: { binariesMs: number; schemaMs: number; servingMs: number; namespaceMs: number };
  /** SIGTERM (graceful), SIGKILL after 20 s. */
  stop(): Promise<void>;
}

export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  const log = opts.log ?? (() => {});
  const dataDir = resolve(opts.dataDir);
  const namespace = opts.namespace ?? 'default';
  const admin = postgresAdmin(opts.postgres);
  const role = opts.temporalRole ?? { user: 'temporal', password: 'temporal' };
  const databases = { main: opts.databases?.main ?? 'temporal', visibility: opts.databases?.visibility ?? 'temporal_visibility' };
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;

  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
  const dist = await ensureTemporalServerDist({ cacheDir: opts.cacheDir, log });
  const binariesMs = lap();

  await mkdir(join(dataDir, 'config', 'dynamicconfig'), { recursive: true });
  await ensureRoleAndDatabases(admin, role, databases, log);
  for (const [database, schema] of [[databases.main, 'temporal'], [databases.visibility, 'visibility']] as const) {
    await setUpSchema(dist, { ...admin, ...role }, database, join(dist.postgresSchemaDir, schema, 'versioned'));
  }
  const schemaMs = lap();

  const ports = await choosePorts(opts.ports ?? {}, opts.portRange);
  const dynamicConfigPath = join(dataDir, 'config', 'dynamicconfig', 'development-sql.yaml');
  await writeFile(dynamicConfigPath, await dynamicConfig(dist, ports));
  await writeFile(
    join(dataDir, 'config', `${CONFIG_ENV}.yaml`),
    await serverConfig(dist, { postgres: { host: admin.host, port: admin.port, ...role }, databases, ports, dynamicConfigPath, logLevel: opts.logLevel ?? 'warn' }),
  );

  const address = `${HOST}:${ports.frontend}`;
  const logFile = join(dataDir, 'temporal-server.log');
  const args = ['--root', dataDir, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'];
  const logFd = openSync(logFile, 'a');
  const logStart = fstatSync(logFd).size;
  writeSync(logFd, `\n--- ${new Date().toISOString()} ${dist.serverBinary} ${args.join(' ')}\n`);
  log(`Temporal server: starting v${dist.version} on ${address} (log: ${logFile})`);
  lap();
  const child = spawn(dist.serverBinary, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const removeExitHook = stopOnParentExit(child, 'SIGTERM');
  const stop = async () => {
    await terminate(child, { signal: 'SIGTERM', graceMs: 20_000 });
    removeExitHook();
  };

  try {
    const failure = async (what: string) =>
      new Error(`Temporal server ${what}. Last lines of ${logFile}:\n${await tailFile(logFile, logStart)}`);
    const deadline = Date.now() + startTimeoutMs;
    let connection: Connection | undefined;
    let lastError: unknown;
    while (!connection) {
      if (spawnError) throw new Error(`Could not run ${dist.serverBinary}: ${spawnError.message}`);
      if (hasExited(child)) throw await failure(`exited during start-up (code ${child.exitCode ?? child.signalCode})`);
      if (Date.now() > deadline) throw await failure(`was not SERVING on ${address} within ${startTimeoutMs} ms (last error: ${String(lastError)})`);
      if (!(await isPortOpen(HOST, ports.frontend, 500))) {
        await sleep(50);
        continue;
      }
      const candidate = Connection.lazy({ address, connectTimeout: 5_000 });
      try {
        const { status } = await candidate.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
        if (status === SERVING) {
          connection = candidate;
          break;
        }
        lastError = `health status ${status}`;
      } catch (err) {
        lastError = err;
      }
      await candidate.close();
      await sleep(100);
    }
    const servingMs = lap();
    try {
      await ensureNamespace(connection, namespace);
      await ensureSearchAttributes(connection, namespace, opts.searchAttributes ?? {});
    } finally {
      await connection.close();
    }
    const namespaceMs = lap();
    log(`Temporal server: SERVING after ${servingMs} ms; namespace ${namespace} ready after ${namespaceMs} ms more`);
    return {
      address,
      namespace,
      ports,
      metricsUrl: `http://${HOST}:${ports.metrics}/metrics`,
      logFile,
      version: dist.version,
      timings: { binariesMs, schemaMs, servingMs, namespaceMs },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function postgresAdmin(spec: TemporalServerOptions['postgres']): PostgresAdmin {
  if (typeof spec === 'string' || 'url' in spec) {
    const url = new URL(typeof spec === 'string' ? spec : spec.url);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    };
  }
  return spec;
}

/** The role (LOGIN CREATEDB) and both databases owned by it; concurrent callers are fine. */
async function ensureRoleAndDatabases(
  admin: PostgresAdmin,
  role: { user: string; password: string },
  databases: { main: string; visibility: string },
  log: (msg: string) => void,
): Promise<void> {
  const client = new pg.Client({ ...admin, database: 'postgres' });
  await client.connect();
  try {
    const ident = (name: string) => client.escapeIdentifier(name);
    if (role.user !== admin.user) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.user]);
      if (!rowCount) {
        log(`Temporal server: creating PostgreSQL role ${role.user}`);
        await ignoreCodes(client.query(`CREATE ROLE ${ident(role.user)} LOGIN CREATEDB PASSWORD ${client.escapeLiteral(role.password)}`), ['42710', '23505']);
      }
    }
    for (const database of [databases.main, databases.visibility]) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (rowCount) continue;
      log(`Temporal server: creating database ${database}`);
      // 42P04 duplicate_database, 23505: a concurrent start created it first.
      await ignoreCodes(client.query(`CREATE DATABASE ${ident(database)} OWNER ${ident(role.user)}`), ['42P04', '23505']);
    }
  } finally {
    await client.end();
  }
}

async function ignoreCodes(query: Promise<unknown>, codes: string[]): Promise<void> {
  try {
    await query;
  } catch (err) {
    if (!codes.includes((err as { code?: string }).code ?? '')) throw err;
  }
}

/**
 * `setup-schema -v 0.0` (creates the version tables, a no-op when present) and `update-schema`
 * (applies only the versions above the recorded one). Credentials go through the environment,
 * not argv, so they do not show up in `ps`.
 */
async function setUpSchema(dist: TemporalServerDist, pgc: PostgresAdmin, database: string, versionedDir: string): Promise<void> {
  const env = {
    ...process.env,
    SQL_HOST: pgc.host,
    SQL_PORT: String(pgc.port),
    SQL_USER: pgc.user,
    SQL_PASSWORD: pgc.password,
    SQL_DATABASE: database,
  };
  // --plugin has no environment variable (it defaults to mysql8).
  for (const command of [['setup-schema', '-v', '0.0'], ['update-schema', '-d', versionedDir]]) {
    const args = ['--plugin', 'postgres12', ...command];
    await new Promise<void>((resolvePromise, reject) => {
      execFile(dist.sqlToolBinary, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`temporal-sql-tool ${args.join(' ')} on ${database} failed: ${String(stderr || err.message).trim().slice(-3000)}`));
        else resolvePromise();
      });
    });
  }
}

/**
 * Temporal stores membership ports in a PostgreSQL `smallint` (cluster_membership.rpc_port): a
 * port above 32767 fails the server's start ("value … is out of range for type smallint"). The
 * OS hands out ephemeral ports from 32768 up, so without a range of the caller's, pick below it.
 */
const DEFAULT_PORT_RANGE = { min: 20_000, max: 32_767 };

async function choosePorts(fixed: Partial<TemporalServerPorts>, range = DEFAULT_PORT_RANGE): Promise<TemporalServerPorts> {
  if (range.max > 32_767) throw new Error(`Temporal server ports must be at most 32767 (PostgreSQL smallint); got the range ${range.min}-${range.max}`);
  const names: (keyof TemporalServerPorts)[] = [
    'frontend', 'frontendHttp', 'frontendMembership', 'history', 'historyMembership',
    'matching', 'matchingMembership', 'worker', 'workerMembership', 'metrics',
  ];
  const taken = new Set(Object.values(fixed).filter((p): p is number => p !== undefined));
  const ports = {} as TemporalServerPorts;
  for (const name of names) {
    const port = fixed[name] ?? (await findFreePort({ range, exclude: taken }));
    taken.add(port);
    ports[name] = port;
  }
  return ports;
}

/** The module's development-postgres12.yaml with our database, ports and paths. */
async function serverConfig(
  dist: TemporalServerDist,
  p: {
    postgres: PostgresAdmin;
    databases: { main: string; visibility: string };
    ports: TemporalServerPorts;
    dynamicConfigPath: string;
    logLevel: string;
  },
): Promise<string> {
  const config = parse(await readFile(join(dist.configDir, 'development-postgres12.yaml'), 'utf8'));
  const { ports } = p;
  config.log = { stdout: true, level: p.logLevel };
  config.persistence.numHistoryShards = NUM_HISTORY_SHARDS;
  const stores = config.persistence.datastores;
  const datastore = (name: string, databaseName: string) => {
    const sql = stores[name]?.sql;
    if (!sql) throw new Error(`development-postgres12.yaml of v${dist.version} has no SQL datastore ${name}`);
    Object.assign(sql, {
      databaseName,
      connectAddr: `${p.postgres.host.includes(':') ? `[${p.postgres.host}]` : p.postgres.host}:${p.postgres.port}`,
      user: p.postgres.user,
      password: p.postgres.password,
    });
  };
  datastore(config.persistence.defaultStore, p.databases.main);
  datastore(config.persistence.visibilityStore, p.databases.visibility);

  config.global.membership.broadcastAddress = HOST;
  config.global.pprof = { port: 0 }; // 0 = not started
  config.global.metrics.prometheus.listenAddress = `${HOST}:${ports.metrics}`;
  const rpc = (service: string, grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => {
    config.services[service].rpc = { grpcPort, membershipPort, bindOnLocalHost: true, ...extra };
  };
  rpc('frontend', ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp });
  rpc('history', ports.history, ports.historyMembership);
  rpc('matching', ports.matching, ports.matchingMembership);
  rpc('worker', ports.worker, ports.workerMembership);
  for (const cluster of Object.values(config.clusterMetadata.clusterInformation) as { rpcAddress: string }[]) {
    cluster.rpcAddress = `${HOST}:${ports.frontend}`;
  }
  config.archival = { history: { state: 'disabled' }, visibility: { state: 'disabled' } };
  config.namespaceDefaults = { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } };
  config.dynamicConfigClient = { filepath: p.dynamicConfigPath, pollInterval: '10s' };
  return `# Generated by infra/temporalServer.ts from go.temporal.io/server@v${dist.version} config/development-postgres12.yaml\n${stringify(config)}`;
}

/** The module's development-sql.yaml with its one hard-coded port (the Nexus callback URL) moved. */
async function dynamicConfig(dist: TemporalServerDist, ports: TemporalServerPorts): Promise<string> {
  const text = await readFile(join(dist.configDir, 'dynamicconfig', 'development-sql.yaml'), 'utf8');
  return text.replaceAll('localhost:7243', `${HOST}:${ports.frontendHttp}`);
}
