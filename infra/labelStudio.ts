/**
 * A real Label Studio for end-to-end tests and local trials: the PyPI package in a project-local
 * virtualenv (`<cache dir>/label-studio-<version>`, outside the repository), started with a known admin and API token.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, open } from 'node:fs/promises';
import path from 'node:path';
import { isPortOpen, sleep, stopOnParentExit, tailFile, terminate } from './support.js';

export const LABEL_STUDIO_VERSION = '1.23.2';

export interface LabelStudioServer {
  url: string;
  /** The admin's legacy API token (enabled for this instance). */
  token: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.stdout.on('data', () => undefined);
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/**
 * The virtualenv's python with label-studio installed, installing it once (about 1.5 minutes
 * with pip's cache cold, far less warm). Installs into a temporary directory renamed into place,
 * so concurrent callers never see half an install; scripts are run as `python -m`, which stays
 * valid after the rename (console-script shebangs would not).
 */
export async function ensureLabelStudioInstalled(cacheDir: string, log: (m: string) => void = () => undefined): Promise<string> {
  const toolsDir = cacheDir;
  const venvDir = path.join(toolsDir, `label-studio-${LABEL_STUDIO_VERSION}`);
  const python = path.join(venvDir, 'bin', 'python');
  if (existsSync(python)) return python;
  await mkdir(toolsDir, { recursive: true });
  const tmp = await mkdtemp(path.join(toolsDir, '.label-studio-install-'));
  try {
    log(`Label Studio: installing label-studio==${LABEL_STUDIO_VERSION} from PyPI into ${venvDir} (once)`);
    await run('python3', ['-m', 'venv', tmp]);
    await run(path.join(tmp, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--quiet', `label-studio==${LABEL_STUDIO_VERSION}`]);
    try {
      await rename(tmp, venvDir);
    } catch (err) {
      if (!existsSync(python)) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return python;
}

/** Starts Label Studio on 127.0.0.1:`port` with a fresh data dir; resolves once /health is UP. */
export async function startLabelStudio(opts: {
  dataDir: string;
  port: number;
  /** Where Label Studio is installed once (outside the repository). */
  cacheDir: string;
  /** PATH and HOME for the Label Studio process (its environment is otherwise clean). */
  system: { path?: string; home?: string };
  log?: (m: string) => void;
  startTimeoutMs?: number;
}): Promise<LabelStudioServer> {
  const log = opts.log ?? (() => undefined);
  const python = await ensureLabelStudioInstalled(opts.cacheDir, log);
  if (await isPortOpen('127.0.0.1', opts.port)) throw new Error(`port ${opts.port} is already in use; Label Studio would silently move to another port`);
  await mkdir(opts.dataDir, { recursive: true });
  const username = 'admin@example.com';
  const password = 'label-loop-admin-pass';
  const token = 'label-loop-e2e-token-0001';
  const logFile = path.join(opts.dataDir, 'label-studio.log');
  const out = await open(logFile, 'a');
  const child = spawn(
    python,
    ['-c', 'from label_studio.server import main; main()', 'start', '-b', '-p', String(opts.port), '--internal-host', '127.0.0.1', '--data-dir', opts.dataDir],
    {
      stdio: ['ignore', out.fd, out.fd],
      env: {
        // A clean environment: Label Studio falls back to bare names like PORT or HOST.
        PATH: opts.system.path,
        HOME: opts.system.home,
        LANG: 'C.UTF-8',
        LABEL_STUDIO_USERNAME: username,
        LABEL_STUDIO_PASSWORD: password,
        LABEL_STUDIO_USER_TOKEN: token,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN: 'true',
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK: 'true',
        LABEL_STUDIO_COLLECT_ANALYTICS: 'false',
        // 1.23 blocks ML backends and webhooks on loopback/private addresses by default.
        LABEL_STUDIO_ML_BLOCK_LOCAL_IP: 'false',
        LABEL_STUDIO_SSRF_PROTECTION_ENABLED: 'false',
        // No outbound calls: there is no internet here.
        LABEL_STUDIO_LATEST_VERSION_CHECK: 'false',
        LABEL_STUDIO_SENTRY_DSN: '',
        LABEL_STUDIO_FRONTEND_SENTRY_DSN: '',
      },
    },
  );
  await out.close();
  const unhook = stopOnParentExit(child, 'SIGTERM');
  const url = `http://127.0.0.1:${opts.port}`;
  const stop = async () => {
    unhook();
    await terminate(child, { graceMs: 10_000 });
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 300_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Label Studio exited during start (${child.exitCode ?? child.signalCode}): ${await tailFile(logFile)}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok && ((await res.json()) as { status?: string }).status === 'UP') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Label Studio did not become healthy on ${url}: ${await tailFile(logFile)}`);
    }
    await sleep(500);
  }
  log(`Label Studio ${LABEL_STUDIO_VERSION} up on ${url}`);
  return { url, token, username, password, stop };
}
