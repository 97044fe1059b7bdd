/**
 * Builds the real Temporal server (not the dev server) and its SQL tool from source as Go modules,
 * once, into a cache outside the repository:
 *
 *   ${LABEL_LOOP_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/label-loop}/temporal-server-<version>/
 *     dist/bin/temporal-server, dist/bin/temporal-sql-tool   the two binaries
 *     dist/config/…, dist/schema/postgresql/v12/…           copied from the module source
 *     go/ (GOPATH and GOMODCACHE), go-build/ (GOCACHE)        so a rebuild is incremental
 *
 * `go install go.temporal.io/server/cmd/server@v1.29.1` is what Temporal's own release builds
 * compile; v1.31+ needs a module the Go proxy refuses, so the version is pinned (see
 * /work/shared/reference/temporal.md §6). The build runs in a private staging directory that is
 * renamed to `dist/` when complete, and a lock file keeps two processes from compiling at once,
 * so a concurrent caller never sees half a build.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, cp, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { isAlive, sleep } from './support.js';

/** Newest server release that builds here (see the module comment). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';
/** Written last into dist/; its presence means the build is complete. */
const STAMP = 'BUILD-COMPLETE';
const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface TemporalServerDist {
  version: string;
  /** `server` of go.temporal.io/server/cmd/server. */
  serverBinary: string;
  /** `sql` of go.temporal.io/server/cmd/tools/sql (a.k.a. temporal-sql-tool). */
  sqlToolBinary: string;
  /** Directory holding `development-postgres12.yaml` and `dynamicconfig/development-sql.yaml`. */
  configDir: string;
  /** `schema/postgresql/v12`: `temporal/versioned` and `visibility/versioned` below it. */
  postgresSchemaDir: string;
}

/** `${LABEL_LOOP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/label-loop}`. */
export function labelLoopCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LABEL_LOOP_CACHE_DIR) return resolve(env.LABEL_LOOP_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(os.homedir(), '.cache'), 'label-loop');
}

function distLayout(distDir: string, version: string): TemporalServerDist {
  return {
    version,
    serverBinary: join(distDir, 'bin', 'temporal-server'),
    sqlToolBinary: join(distDir, 'bin', 'temporal-sql-tool'),
    configDir: join(distDir, 'config'),
    postgresSchemaDir: join(distDir, 'schema', 'postgresql', 'v12'),
  };
}

/** The cache directory of one server version's build: dist/, go/, go-build/, the lock and logs. */
export function temporalServerBuildDir(opts: { version?: string; cacheDir?: string } = {}): string {
  return join(opts.cacheDir ?? labelLoopCacheDir(), `temporal-server-${opts.version ?? TEMPORAL_SERVER_VERSION}`);
}

/** Whether the build of `version` is complete in the cache (nothing to wait for). */
export async function isTemporalServerBuilt(opts: { version?: string; cacheDir?: string } = {}): Promise<boolean> {
  return exists(join(temporalServerBuildDir(opts), 'dist', STAMP));
}

/**
 * The cached build of `version`, building it first when missing (a few minutes cold on two cores,
 * instant afterwards). Needs `go` ($GO, PATH or /usr/local/go/bin) and the Go module proxy.
 */
export async function ensureTemporalServerDist(
  opts: { version?: string; cacheDir?: string; log?: (msg: string) => void } = {},
): Promise<TemporalServerDist> {
  const version = opts.version ?? TEMPORAL_SERVER_VERSION;
  const log = opts.log ?? (() => {});
  const root = temporalServerBuildDir({ version, cacheDir: opts.cacheDir });
  const distDir = join(root, 'dist');
  const dist = distLayout(distDir, version);
  if (await exists(join(distDir, STAMP))) return dist;

  await mkdir(root, { recursive: true });
  const release = await acquireLock(join(root, 'build.lock'), () => exists(join(distDir, STAMP)), log);
  try {
    if (await exists(join(distDir, STAMP))) return dist; // built by the process we waited for
    // Staging dirs of builds that were killed (we hold the lock: nobody else is building).
    for (const name of await readdir(root)) {
      if (name.startsWith('.dist-')) await rm(join(root, name), { recursive: true, force: true });
    }
    await build(root, distDir, version, log);
    return dist;
  } finally {
    await release();
  }
}

async function build(root: string, distDir: string, version: string, log: (msg: string) => void): Promise<void> {
  const go = await findGo();
  const staging = join(root, `.dist-${process.pid}-${randomBytes(4).toString('hex')}`);
  const gopath = join(root, 'go');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOPATH: gopath,
    GOMODCACHE: join(gopath, 'pkg', 'mod'),
    GOCACHE: join(root, 'go-build'),
    GOBIN: join(staging, 'bin'),
    // The server's go.mod may ask for a newer Go than the one installed; the proxy serves it.
    GOTOOLCHAIN: process.env.GOTOOLCHAIN || 'auto',
    // Static binaries, no C compiler needed (Temporal's release builds use CGO_ENABLED=0 too).
    CGO_ENABLED: '0',
    // Leave the module cache writable so `rm -rf` of the cache directory just works.
    GOFLAGS: [process.env.GOFLAGS, '-modcacherw'].filter(Boolean).join(' '),
  };
  const t0 = performance.now();
  log(`Temporal server: building v${version} with ${go} into ${root} (once; a few minutes on two cores)`);
  try {
    await mkdir(join(staging, 'bin'), { recursive: true });
    // One after the other: two parallel links of a 130 MB binary need more memory than it's worth.
    await run(go, ['install', `${MODULE}/cmd/server@v${version}`], env);
    await run(go, ['install', `${MODULE}/cmd/tools/sql@v${version}`], env);
    await rename(join(staging, 'bin', 'server'), join(staging, 'bin', 'temporal-server'));
    await rename(join(staging, 'bin', 'sql'), join(staging, 'bin', 'temporal-sql-tool'));

    // Config and schema from the very module source the binaries were built from.
    const { stdout } = await run(go, ['mod', 'download', '-json', `${MODULE}@v${version}`], env);
    const source = (JSON.parse(stdout) as { Dir?: string }).Dir;
    if (!source) throw new Error(`go mod download did not report the source directory of ${MODULE}@v${version}`);
    await cp(join(source, 'config', 'development-postgres12.yaml'), join(staging, 'config', 'development-postgres12.yaml'));
    await cp(join(source, 'config', 'dynamicconfig', 'development-sql.yaml'), join(staging, 'config', 'dynamicconfig', 'development-sql.yaml'));
    await cp(join(source, 'schema', 'postgresql', 'v12'), join(staging, 'schema', 'postgresql', 'v12'), { recursive: true });

    const { stdout: versionOut } = await run(join(staging, 'bin', 'temporal-server'), ['--version'], env);
    if (!versionOut.includes(version)) throw new Error(`built server reports an unexpected version: ${versionOut.trim()}`);
    await writeFile(join(staging, STAMP), `${MODULE}@v${version}\nbuilt ${new Date().toISOString()}\n`);

    await rm(distDir, { recursive: true, force: true }); // an incomplete dist/ from an old crash
    await rename(staging, distDir);
    log(`Temporal server: built v${version} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * A lock file holding our pid, taken with O_EXCL. A holder that died (pid gone) is replaced;
 * a live one is waited for, rechecking `done()` so waiters return as soon as the build lands.
 */
async function acquireLock(path: string, done: () => Promise<boolean>, log: (msg: string) => void): Promise<() => Promise<void>> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
      // Empty (the holder is between open and write) gets one short grace period first.
      await sleep(500);
      const again = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (again === holder || !Number.isInteger(again) || again <= 0 || !isAlive(again)) {
        await rm(path, { force: true });
        continue;
      }
    }
    if (await done()) return async () => {};
    if (!announced) {
      log(`Temporal server: process ${holder} is building it; waiting`);
      announced = true;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for process ${holder} to finish building the Temporal server (${path}).`);
    await sleep(1000);
  }
}

async function findGo(): Promise<string> {
  const candidates = [
    process.env.GO,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'go')),
    '/usr/local/go/bin/go',
  ].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  throw new Error(
    `Building the Temporal server needs Go (any version >= 1.21; GOTOOLCHAIN=auto fetches the one ${MODULE} asks for): install it, put it on PATH or set GO.`,
  );
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  const options: ExecFileOptions = { env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' };
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, options, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${String(stderr || err.message).trim().slice(-3000)}`));
      else resolvePromise({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
