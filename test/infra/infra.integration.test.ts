/**
 * The embedded servers themselves: a real PostgreSQL 18 and a real Temporal dev server, started on
 * free ports in a temp dir, stopped, and started again on the same data dirs. Independent of the
 * shared servers of the global setup. No wall-clock assertions; start times are logged.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startEmbeddedPostgres,
  startTemporalDevServer,
  type EmbeddedPostgres,
  type SearchAttributeTypeName,
  type TemporalDevServer,
} from '../../infra/index.js';
import { freePort } from '../helpers/globalSetup.js';
import { loadConfig } from '../../worker/config.js';
import { temporalTools } from '../../worker/services.js';

const tools = temporalTools(loadConfig(process.env));

const NAMESPACE = 'infra-test';
const FIRST_ATTRIBUTES: Record<string, SearchAttributeTypeName> = { InfraTestProject: 'Keyword', InfraTestRound: 'Int' };
// Added on the restart: the CLI ignores --search-attribute on a persisted SQLite file, so this
// proves ensureSearchAttributes() does the work.
const SECOND_ATTRIBUTES: Record<string, SearchAttributeTypeName> = { ...FIRST_ATTRIBUTES, InfraTestPromoted: 'Bool' };
const WORKFLOW_ID = 'infra-test-persisted-workflow';

let dir: string;
let pgDir: string;
let temporalDir: string;
let pgPort: number;
let temporalPort: number;
const running: { stop(): Promise<void> }[] = [];


async function timed<T>(label: string, start: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await start();
  console.log(`[infra test] ${label}: ${Math.round(performance.now() - t0)} ms`);
  return result;
}

async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function withTemporal<T>(address: string, fn: (client: TemporalClient, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(new TemporalClient({ connection, namespace: NAMESPACE }), connection);
  } finally {
    await connection.close();
  }
}

async function customAttributes(connection: Connection): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: NAMESPACE });
  return Object.keys(customAttributes ?? {});
}

function startBoth(searchAttributes: Record<string, SearchAttributeTypeName>): Promise<[EmbeddedPostgres, TemporalDevServer]> {
  return Promise.all([
    timed('PostgreSQL start', () => startEmbeddedPostgres({ dataDir: pgDir, port: pgPort })),
    timed('Temporal start', () =>
      startTemporalDevServer({ tools, dataDir: temporalDir, port: temporalPort, headless: true, namespace: NAMESPACE, searchAttributes }),
    ),
  ]).then((servers) => {
    running.push(...servers);
    return servers;
  });
}

async function stopBoth(servers: { stop(): Promise<void> }[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
  running.splice(0, running.length, ...running.filter((s) => !servers.includes(s)));
}

describe('embedded PostgreSQL and Temporal dev server', () => {
  beforeAll(async () => {
    // mkdtemp makes a 0700 dir: startEmbeddedPostgres must open it up for the postgres user.
    dir = await mkdtemp(path.join(os.tmpdir(), 'label-loop-infra-'));
    pgDir = path.join(dir, 'postgres');
    temporalDir = path.join(dir, 'temporal');
    [pgPort, temporalPort] = await Promise.all([freePort(), freePort()]);
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  });

  it('first start initialises both and registers the search attributes', { timeout: 600_000 }, async () => {
    const [postgres, temporal] = await startBoth(FIRST_ATTRIBUTES);
    expect(postgres.reused).toBe(false);
    expect(temporal.reused).toBe(false);

    await withPg(postgres.url, async (db) => {
      const { rows } = await db.query<{ db: string; version: string }>('SELECT current_database() AS db, version() AS version');
      expect(rows[0].db).toBe('label_loop');
      expect(rows[0].version).toMatch(/^PostgreSQL 18/);
      await db.query('CREATE TABLE persisted (id int PRIMARY KEY)');
      await db.query('INSERT INTO persisted VALUES (42)');
    });

    await withTemporal(temporal.address, async (client, connection) => {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: NAMESPACE });
      expect(namespaceInfo?.name).toBe(NAMESPACE);
      expect(await customAttributes(connection)).toEqual(expect.arrayContaining(Object.keys(FIRST_ATTRIBUTES)));
      // No worker polls this queue: the run just stays open, to be found again after the restart.
      await client.workflow.start('infraProbe', {
        taskQueue: 'infra-test-no-worker',
        workflowId: WORKFLOW_ID,
        typedSearchAttributes: [{ key: defineSearchAttributeKey('InfraTestProject', SearchAttributeType.KEYWORD), value: 'spam' }],
      });
    });

    await stopBoth([postgres, temporal]);
  });

  it('a restart on the same data dirs keeps the data and adds new search attributes', { timeout: 600_000 }, async () => {
    const [postgres, temporal] = await startBoth(SECOND_ATTRIBUTES);
    expect(postgres.reused).toBe(false);
    expect(temporal.reused).toBe(false);

    await withPg(postgres.url, async (db) => {
      const { rows } = await db.query('SELECT id FROM persisted');
      expect(rows).toEqual([{ id: 42 }]);
    });
    await withTemporal(temporal.address, async (client, connection) => {
      expect(await customAttributes(connection)).toEqual(expect.arrayContaining(Object.keys(SECOND_ATTRIBUTES)));
      const description = await client.workflow.getHandle(WORKFLOW_ID).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.typedSearchAttributes.get(defineSearchAttributeKey('InfraTestProject', SearchAttributeType.KEYWORD))).toBe('spam');
    });
    // Left running for the next test.
  });

  it('a start while the servers run reuses them, and stopping a reused handle leaves them up', { timeout: 600_000 }, async () => {
    const [postgres, temporal] = await Promise.all([
      startEmbeddedPostgres({ dataDir: pgDir, port: pgPort }),
      startTemporalDevServer({ tools, dataDir: temporalDir, port: temporalPort, namespace: NAMESPACE, searchAttributes: SECOND_ATTRIBUTES }),
    ]);
    expect(postgres.reused).toBe(true);
    expect(temporal.reused).toBe(true);
    await Promise.all([postgres.stop(), temporal.stop()]);

    await withPg(postgres.url, (db) => db.query('SELECT 1'));
    await withTemporal(temporal.address, (client) => client.workflow.getHandle(WORKFLOW_ID).terminate('infra test done'));
    await stopBoth([...running]);
  });

  it('a stale postmaster.pid whose pid now belongs to another process does not block the start', { timeout: 600_000 }, async () => {
    // As after a reboot or a container restart: the recorded pid is alive but not a postgres.
    await writeFile(path.join(pgDir, 'pgdata', 'postmaster.pid'), `${process.pid}\n${path.join(pgDir, 'pgdata')}\n0\n${pgPort}\n`);
    const postgres = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort });
    running.push(postgres);
    expect(postgres.reused).toBe(false);
    await withPg(postgres.url, async (db) => expect((await db.query('SELECT id FROM persisted')).rows).toEqual([{ id: 42 }]));
    await stopBoth([postgres]);
  });

  describe('a foreign process on the port gives a clear error', () => {
    let foreign: Server;
    let foreignPort: number;
    beforeAll(async () => {
      foreignPort = await freePort();
      // Accepts and ignores connections, like an unrelated service; destroy() so that close() can finish.
      foreign = createServer((socket) => socket.on('error', () => {}).resume().setTimeout(100, () => socket.destroy()));
      await new Promise<void>((resolve) => foreign.listen(foreignPort, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => foreign.close(() => resolve())));

    it.each([
      ['PostgreSQL', () => startEmbeddedPostgres({ dataDir: pgDir, port: foreignPort }), /already in use by another process/],
      ['Temporal', () => startTemporalDevServer({ tools, dataDir: temporalDir, port: foreignPort, headless: true }), /not a Temporal server/],
    ])('%s', { timeout: 120_000 }, async (_name, start, message) => {
      await expect(start()).rejects.toThrow(message);
    });
  });
});
