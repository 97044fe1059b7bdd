import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Db } from '../store/db.js';
import { buildApp, type ApiSecurity } from './app.js';
import { ChampionCache } from './championCache.js';
import { EventIntake } from './eventIntake.js';
import { EventForwarder, LoopGateway } from './loopGateway.js';
import type { DebounceSettings } from '../workflows/definitions.js';

export interface ApiServer {
  app: FastifyInstance;
  url: string;
  forwarder: EventForwarder;
  close(): Promise<void>;
}

/** Wires the app to PostgreSQL and Temporal and listens. The forwarder runs in this process. */
export async function startApiServer(args: {
  db: Db;
  temporal: Client;
  taskQueue: string;
  debounce: Partial<DebounceSettings>;
  security: ApiSecurity;
  host: string;
  port: number;
  backendName: string;
  logger?: FastifyServerOptions['logger'];
}): Promise<ApiServer> {
  const gateway = new LoopGateway(args.temporal, args.taskQueue, args.debounce);
  const log = {
    info: (o: object, m?: string) => app.log.info(o, m),
    warn: (o: object, m?: string) => app.log.warn(o, m),
    error: (o: object, m?: string) => app.log.error(o, m),
  };
  const forwarder = new EventForwarder(args.db, gateway, log);
  const intake = new EventIntake(args.db, () => forwarder.kick());
  const champions = new ChampionCache(args.db);
  const app = buildApp({
    db: args.db,
    intake,
    champions,
    loops: gateway,
    security: args.security,
    backendName: args.backendName,
    logger: args.logger,
  });
  const address = await app.listen({ host: args.host, port: args.port });
  forwarder.start();
  return {
    app,
    url: address.replace('[::1]', 'localhost'),
    forwarder,
    async close() {
      await app.close();
      await forwarder.stop();
      champions.dispose();
    },
  };
}
