import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { DebounceSettings } from '../contract/index.js';
import { buildApp, type ApiSecurity } from './app.js';
import { ChampionCache } from './championCache.js';
import { EventIntake } from './eventIntake.js';
import { EventForwarder } from './forwarder.js';
import { LoopGateway } from './loopGateway.js';
import { ApiMetrics } from './metrics.js';
import type { DashboardOptions } from './routes/dashboard.js';
import type { SamplingStrategy } from '../policies/sampling.js';

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  forwarder: EventForwarder;
  intake: EventIntake;
  metrics: ApiMetrics;
  close(): Promise<void>;
}

export interface ApiServerOptions {
  db: Db;
  temporal: Client;
  taskQueue: string;
  debounce: Partial<DebounceSettings>;
  security: ApiSecurity;
  host: string;
  port: number;
  backendName: string;
  /** Links from the dashboard into the Temporal Web UI. */
  dashboard?: DashboardOptions;
  /** The audit stream's share and the default strategy (worker/config.ts). */
  sampling?: { auditShare: number; defaultStrategy: SamplingStrategy };
  limits: { webhookBodyLimit: number; predictBodyLimit: number; intakeQueueLimit: number; temporalQueryTimeoutMs: number };
  logger: Logger;
}

/** Wires the app to PostgreSQL and Temporal and listens. The forwarder runs in this process. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const gateway = new LoopGateway(opts.temporal, opts.taskQueue, opts.debounce, opts.limits.temporalQueryTimeoutMs);
  const log = opts.logger.child({ component: 'metrics' });
  const metrics = new ApiMetrics({
    db: opts.db,
    intakeDepth: () => intake.depth,
    onCollectError: (err) => log.warn({ err: err.message }, 'reading round and champion metrics from PostgreSQL failed'),
  });
  // The forwarder's signals are counted at its door to Temporal; the forwarder knows nothing of metrics.
  const countedGateway: Pick<LoopGateway, 'signalEvents'> = {
    async signalEvents(batch) {
      try {
        await gateway.signalEvents(batch);
      } catch (err) {
        metrics.forwarderSignals.inc({ result: 'failed' });
        throw err;
      }
      metrics.forwarderSignals.inc({ result: 'ok' });
      metrics.forwarderEvents.inc(batch.events);
    },
  };
  const forwarder = new EventForwarder(opts.db, countedGateway, opts.logger.child({ component: 'forwarder' }));
  const intake = new EventIntake(opts.db, () => forwarder.kick(), { maxQueue: opts.limits.intakeQueueLimit });
  const champions = new ChampionCache(opts.db);
  const app = buildApp({
    db: opts.db,
    intake,
    champions,
    loops: gateway,
    security: opts.security,
    limits: opts.limits,
    backendName: opts.backendName,
    logger: opts.logger.child({ component: 'api' }),
    metrics,
    dashboard: opts.dashboard,
    sampling: opts.sampling,
  });
  const address = await app.listen({ host: opts.host, port: opts.port });
  forwarder.start();
  return {
    app,
    url: address.replace('[::1]', 'localhost'),
    forwarder,
    intake,
    metrics,
    async close() {
      await app.close();
      await forwarder.stop();
      champions.dispose();
    },
  };
}
