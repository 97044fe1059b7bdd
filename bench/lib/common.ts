/** Helpers the benchmarks share: statistics, ports inside TEST_PORT_RANGE, temp dirs, child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, chmod, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePort, parsePortRange } from '../../infra/support.js';
import type { Db } from '../../store/db.js';
import { REPO_ROOT } from '../../worker/config.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The p-th percentile (nearest rank) of xs. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const usedPorts = new Set<number>();
/** A free port, inside TEST_PORT_RANGE when it is set (shared machines keep to a block). */
export async function benchPort(): Promise<number> {
  const port = await findFreePort({ range: parsePortRange(process.env.TEST_PORT_RANGE), exclude: usedPorts });
  usedPorts.add(port);
  return port;
}

/** A temp dir the embedded PostgreSQL (run as `postgres` when we are root) can use. */
export async function benchDir(prefix = 'label-loop-bench-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A TypeScript entry point of this repository in a child Node process (tsx). */
export function spawnTs(script: string, args: string[], env: Record<string, string | undefined> = {}, stdio: 'inherit' | 'pipe' = 'inherit', nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdio === 'pipe' ? 'pipe' : 'inherit', 'inherit'],
  });
}

/** Runs a child to completion and parses the last JSON line it printed. */
export async function runJsonChild<T>(script: string, args: string[], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Promise<T> {
  const child = spawnTs(script, args, env, 'pipe', nodeArgs);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (code !== 0 || !line) throw new Error(`${script} ${args.join(' ')} exited ${code}: ${out.slice(-2000)}`);
  return JSON.parse(line) as T;
}

export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export const stopChild = async (child: ChildProcess) => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
};

/** Peak resident set size of this process so far, MB. */
export const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

export const machine = () => `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(1)}`;

/**
 * PostgreSQL for a benchmark: a fresh database on the server DATABASE_URL names (the smoke test
 * passes the test suite's), else an embedded PostgreSQL in a temp dir.
 */
export async function benchDatabase(dir: string, port?: number): Promise<{ url: string; stop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const { startEmbeddedPostgres } = await import('../../infra/index.js');
  if (process.env.DATABASE_URL) {
    const base = process.env.DATABASE_URL;
    const name = `bench_${Math.random().toString(36).slice(2, 12)}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async stop() {
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: port ?? (await benchPort()) });
  return { url: server.url, stop: server.stop };
}

/**
 * Temporal for a benchmark: TEMPORAL_ADDRESS when set (search attributes registered there), else a
 * dev server (its Web UI on `port + 1000` when a port is given, so a long run can be watched).
 */
export async function benchTemporal(dir: string, port?: number): Promise<{ address: string; stop(): Promise<void> }> {
  const { startTemporalDevServer } = await import('../../infra/index.js');
  const { temporalTools } = await import('../../worker/services.js');
  const { loadConfig } = await import('../../worker/config.js');
  const { SEARCH_ATTRIBUTES } = await import('../../contract/index.js');
  if (process.env.TEMPORAL_ADDRESS) return { address: process.env.TEMPORAL_ADDRESS, stop: async () => undefined };
  const server = await startTemporalDevServer({
    tools: temporalTools(loadConfig({ HOME: process.env.HOME, PATH: process.env.PATH, LABEL_LOOP_CACHE_DIR: process.env.LABEL_LOOP_CACHE_DIR, TEMPORAL_CLI: process.env.TEMPORAL_CLI })),
    dataDir: path.join(dir, 'temporal'),
    port: port ?? (await benchPort()),
    uiPort: port !== undefined ? port + 1000 : undefined,
    headless: true,
    searchAttributes: { ...SEARCH_ATTRIBUTES },
  });
  return { address: server.address, stop: server.stop };
}

/** The environment of a Label Loop process a benchmark starts: only what it is given (no DATABASE_URL of the caller's). */
export function processEnv(extra: Record<string, string>): Record<string, string | undefined> {
  return { LABEL_LOOP_LOG_LEVEL: 'warn', LABEL_LOOP_LOG_FORMAT: 'json', ...extra };
}

export interface BenchStack {
  dir: string;
  pg: { url: string };
  temporal: { address: string };
  db: Db;
  /** Closes the pool, stops Temporal and PostgreSQL (those it started) and removes the temp dir it made. */
  stop(): Promise<void>;
}

/**
 * What every loop benchmark stands on: a temp dir (or `dataDir`, kept), PostgreSQL with Label
 * Loop's schema, and Temporal; see benchDatabase and benchTemporal for what is reused from the
 * environment. The API and worker processes are each benchmark's own.
 */
export async function benchStack(options: { prefix?: string; dataDir?: string; pgPort?: number; temporalPort?: number } = {}): Promise<BenchStack> {
  const { createPool, migrate } = await import('../../store/index.js');
  const temp = options.dataDir ? { dir: options.dataDir, remove: async () => undefined } : await benchDir(options.prefix);
  await mkdir(temp.dir, { recursive: true });
  const pg = await benchDatabase(temp.dir, options.pgPort);
  const temporal = await benchTemporal(temp.dir, options.temporalPort);
  const db = createPool(pg.url);
  await migrate(db);
  return {
    dir: temp.dir,
    pg,
    temporal,
    db,
    async stop() {
      await db.end();
      await temporal.stop();
      await pg.stop();
      await temp.remove();
    },
  };
}
